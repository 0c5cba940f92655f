"""One pipeline run, stage by stage, without any orchestrator.

``flows/pipeline.py`` wraps these functions in Prefect tasks; tests and benchmarks
can call them directly. A run: lock CURATED_DIR → scan RAW_DIR → plan (is anything
new? which files does the parse cache lack?) → parse shards → build the DuckDB file
in a staging folder → quality gate → publish (enrich, Parquet, manifest, card,
atomic switch of ``latest``) → retention.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from kremlin.duck import sql_str
from kremlin.inventory import InputFile, code_fingerprint, parser_fingerprint, scan_inputs
from kremlin.versions import (
    DB_FILENAME,
    VERSIONS,
    CuratedLock,
    LockBusyError,
    apply_retention,
    build_manifest,
    code_version,
    dataset_fingerprint,
    input_fingerprint,
    latest_version,
    make_version_id,
    publish_version,
    read_manifest,
    staging_dir,
    write_manifest,
)
from schemas.page import READ_STAGE
from schemas.tables import SCHEMA_VERSION

if TYPE_CHECKING:
    from kremlin.build import BuildStats, Delta, Quarantine
    from kremlin.shards import ShardJob

# The precheck (scan and plan) imports this module before it knows whether the run has
# anything to do: what only the stages use (the build, the parser, the exports) is
# imported inside them, so that an unchanged run does not pay for it.
DEFAULT_BATCH_SIZE = 400
CACHE = ".cache"
HASH_CACHE = "hashes.parquet"
_MAX_LISTED_REJECTS = 1000

__all__ = ["LockBusyError", "QualityGateFailed", "RunPlan", "plan_run"]


class QualityGateFailed(RuntimeError):
    """A critical expectation failed: nothing was published."""


@contextlib.contextmanager
def locked(curated_dir: Path, *, timeout: float) -> Iterator[None]:
    """Hold CURATED_DIR's lock for the whole run; a second run waits (or fails if timeout is 0)."""
    curated_dir.mkdir(parents=True, exist_ok=True)
    lock = CuratedLock(curated_dir, wait=timeout != 0, timeout=timeout or None)
    with lock:
        yield


def scan(raw_dir: Path, curated_dir: Path | None = None) -> list[InputFile]:
    """The landing folder's entries; with ``curated_dir``, hashes of unchanged files are
    taken from the previous scan (kept in CURATED_DIR/.cache/)."""
    cache = curated_dir / CACHE / HASH_CACHE if curated_dir is not None else None
    return scan_inputs(raw_dir, hash_cache=cache)


@dataclass
class RunPlan:
    raw_dir: Path
    curated_dir: Path
    inputs: list[InputFile]
    input_fingerprint: str
    code_fingerprint: str
    parser_fingerprint: str
    cache_dir: Path
    parent_version: str | None
    parent_manifest: dict | None
    to_parse: list[tuple[str, str]]
    keep: int
    batch_size: int
    created_at: dt.datetime
    version_id: str
    unchanged: bool
    parent_reusable: bool = False
    """The parent was built by this very code: the build starts from a copy of its database."""

    @property
    def parent_dir(self) -> Path | None:
        return self.curated_dir / VERSIONS / self.parent_version if self.parent_version else None

    @property
    def files_to_parse(self) -> int:
        return len(self.to_parse)

    def shard_jobs(self) -> list[ShardJob]:
        from kremlin.shards import ShardJob

        items = self.to_parse
        return [
            ShardJob(tuple(items[i : i + self.batch_size])) for i in range(0, len(items), self.batch_size)
        ]


def cached_shas(cache_dir: Path) -> set[str]:
    """The sha256s the parse cache has an outcome for. A file that could not be read (it
    changed or vanished between scan and parse) says nothing about its bytes: it is parsed
    again by the next run that sees them."""
    if not any(cache_dir.glob("*/outcomes.parquet")):
        return set()
    glob = sql_str(cache_dir / "*" / "outcomes.parquet")
    con = duckdb.connect()
    try:
        return {
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT sha256 FROM read_parquet({glob}) "
                f"WHERE reject_stage IS DISTINCT FROM '{READ_STAGE}'"
            ).fetchall()
        }
    finally:
        con.close()


def plan_run(
    raw_dir: Path,
    curated_dir: Path,
    inputs: list[InputFile],
    *,
    keep: int = 10,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: dt.datetime | None = None,
    parsing: frozenset[str] = frozenset(),
) -> RunPlan:
    """What a run has to do. ``parsing``: sha256s whose parse was already started for this
    run (they count as to be parsed, so the run's batches and figures include them)."""
    fp = input_fingerprint(f.fingerprint_entry for f in inputs)
    code_fp = code_fingerprint()
    parser_fp = parser_fingerprint()
    parent = latest_version(curated_dir)
    manifest = read_manifest(curated_dir) if parent else None
    same_code = bool(manifest and (manifest.get("code_version") or {}).get("code_fingerprint") == code_fp)
    unchanged = same_code and manifest.get("input_fingerprint") == fp
    reusable = same_code and manifest.get("schema_version") == SCHEMA_VERSION
    cache_dir = curated_dir / CACHE / f"parse-{parser_fp[:16]}"
    cached = set() if unchanged else cached_shas(cache_dir)
    to_parse: dict[str, str] = {}
    for f in inputs:
        if f.readable and (f.sha256 not in cached or f.sha256 in parsing):
            to_parse.setdefault(f.sha256, f.path)
    created = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    return RunPlan(
        raw_dir=raw_dir,
        curated_dir=curated_dir,
        inputs=inputs,
        input_fingerprint=fp,
        code_fingerprint=code_fp,
        parser_fingerprint=parser_fp,
        cache_dir=cache_dir,
        parent_version=parent,
        parent_manifest=manifest,
        to_parse=sorted(to_parse.items()),
        keep=keep,
        batch_size=batch_size,
        created_at=created,
        version_id=make_version_id(created, fp),
        unchanged=unchanged,
        parent_reusable=reusable and not unchanged,
    )


def warm_up() -> None:
    """Import what the build and publish use, in the stage worker before its first job."""
    import kremlin.analyst  # noqa: F401
    import kremlin.build  # noqa: F401
    import kremlin.diff  # noqa: F401
    import kremlin.editions  # noqa: F401
    import kremlin.quality  # noqa: F401


def warm_up_checks() -> None:
    """Begin importing Great Expectations (3 s of CPU) in a background thread of the stage
    worker and return: the build's first steps (DuckDB, which releases the GIL) run
    meanwhile, and its row checks wait on Python's import lock until the import is done."""
    import importlib
    import threading

    threading.Thread(
        target=importlib.import_module, args=("great_expectations",), name="import-gx", daemon=True
    ).start()


def end_worker() -> None:
    """End the stage worker process at once, without Python's own shutdown (a second or
    more of freeing a large heap), but with multiprocessing's exit finalizers: a named
    semaphore made in the worker (tqdm makes one for Great Expectations' progress bars) is
    unlinked there, not left to the resource tracker, which warns about every one it finds."""
    import multiprocessing.util
    import os

    # The finalizers of priority >= 0 are those a normal exit runs before the interpreter
    # shuts down (semaphore unlinks, queue flushes); the module has kept the name since 2.6.
    run_finalizers = getattr(multiprocessing.util, "_run_finalizers", None)
    if run_finalizers is not None:
        run_finalizers(0)
    os._exit(0)


@contextlib.contextmanager
def staging(plan: RunPlan, suffix: str = "") -> Iterator[Path]:
    """The staging directory ``.staging/<version_id><suffix>`` of the planned version.

    Two runs on the same inputs in the same second plan the same version id; a run that
    builds ahead of CURATED_DIR's lock (the head start) passes a suffix of its own, so it
    never holds the directory the lock holder needs.
    """
    plan.cache_dir.mkdir(parents=True, exist_ok=True)
    with staging_dir(plan.curated_dir, plan.version_id + suffix) as build_dir:
        yield build_dir


@dataclass(frozen=True)
class BuildOutcome:
    stats: BuildStats
    delta: Delta
    quarantine: list[Quarantine]
    row_outcome: Any = None
    """kremlin.quality.RowCheckOutcome of the row-level checks (None when nothing was new)."""
    lineage: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of the build's steps (``BuildResult.seconds``)."""


def build(plan: RunPlan, build_dir: Path, *, today: dt.date | None = None) -> BuildOutcome:
    """Assemble the release database, running the row-level checks on the new documents."""
    from kremlin.build import build_database, known_persons_from
    from kremlin.quality import check_staged

    started = time.perf_counter()
    db = build_dir / DB_FILENAME
    previous_db = plan.parent_dir / DB_FILENAME if plan.parent_dir else None
    known = known_persons_from(previous_db)
    result = build_database(
        db,
        plan.inputs,
        plan.cache_dir,
        parent_db=previous_db if plan.parent_reusable else None,
        known_persons=known,
        row_checker=lambda con: check_staged(con, today=today),
    )
    t0 = time.perf_counter()
    lineage = _lineage(db, plan)
    seconds = {**result.seconds, "lineage": round(time.perf_counter() - t0, 3)}
    seconds["in_worker"] = round(time.perf_counter() - started, 3)
    return BuildOutcome(
        stats=result.stats,
        delta=result.delta,
        quarantine=result.quarantine,
        row_outcome=result.row_verdict,
        lineage=lineage,
        seconds=seconds,
    )


def _lineage(db: Path, plan: RunPlan) -> dict[str, Any]:
    parsed_now = {sha for sha, _ in plan.to_parse}
    con = duckdb.connect(str(db), read_only=True)
    try:
        by_status = dict(
            con.execute("SELECT status, count(*) FROM source_files GROUP BY 1 ORDER BY 1").fetchall()
        )
        by_reason = dict(
            con.execute(
                "SELECT reject_reason, count(*) FROM source_files WHERE status = 'rejected' GROUP BY 1 ORDER BY 1"
            ).fetchall()
        )
        rejects = con.execute(
            "SELECT source_file, reject_reason, reject_stage, reject_message FROM source_files "
            f"WHERE status = 'rejected' ORDER BY source_file LIMIT {_MAX_LISTED_REJECTS}"
        ).fetchall()
    finally:
        con.close()
    return {
        "files": len(plan.inputs),
        "files_parsed_this_run": plan.files_to_parse,
        "files_from_cache": sum(1 for f in plan.inputs if f.sha256 not in parsed_now),
        "by_status": by_status,
        "rejected_by_reason": by_reason,
        "rejected_files": [
            {"source_file": f, "reason": r, "stage": s, "message": m} for f, r, s, m in rejects
        ],
    }


def check(plan: RunPlan, build_dir: Path, outcome: BuildOutcome, *, today: dt.date | None = None):
    from kremlin.quality import run_quality_gate

    previous = (plan.parent_manifest or {}).get("row_counts")
    return run_quality_gate(
        build_dir / DB_FILENAME,
        out_dir=build_dir / "quality",
        previous_row_counts=previous,
        today=today,
        row_outcome=outcome.row_outcome,
    )


def publish(
    plan: RunPlan,
    build_dir: Path,
    outcome: BuildOutcome,
    gate,
    timings: dict[str, float],
    editions: tuple[str, ...] | None = None,
) -> dict:
    """Enrich, export and describe the checked build, then make it the new ``latest``.

    With a reusable parent, the full-text index, the Parquet files and the SQLite edition
    are updated from the parent's by the delta; the diff against the parent is SQL."""
    from kremlin.analyst import SearchDelta, enrich_database, export_parquet
    from kremlin.diff import diff_databases
    from kremlin.editions import ALL_EDITIONS, write_editions

    db = build_dir / DB_FILENAME
    spent: dict[str, float] = {}

    def step(name: str, fn, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = round(time.perf_counter() - t0, 3)

    parent = plan.parent_dir if plan.parent_reusable else None
    delta = outcome.delta if parent else None
    fingerprint = step("fingerprint", dataset_fingerprint, db)  # contract tables only, before indexes
    search_delta = SearchDelta(delta.removed, delta.added) if delta else None
    step("search_index", enrich_database, db, search_delta)
    # Parquet also holds the people columns, which a new mention can change in kept documents.
    rows_delta = SearchDelta(delta.removed, (*delta.added, *delta.people_changed)) if delta else None
    parent_parquet = parent / "parquet" if parent else None
    parquet = step(
        "parquet", export_parquet, db, build_dir / "parquet", parent_dir=parent_parquet, delta=rows_delta
    )
    parent_db = plan.parent_dir / DB_FILENAME if plan.parent_dir else None
    # An incremental build knows which documents it touched; the others are the parent's rows.
    touched = {*delta.removed, *delta.added, *delta.people_changed} if delta else None
    changes = (
        step("diff", diff_databases, parent_db, db, only=touched)
        if parent_db and parent_db.is_file()
        else None
    )
    cv = code_version(parser_version=plan.parser_fingerprint[:16])
    cv["code_fingerprint"] = plan.code_fingerprint
    manifest = build_manifest(
        version_id=plan.version_id,
        created_at=plan.created_at,
        parent=plan.parent_version,
        code_version=cv,
        input_fingerprint=plan.input_fingerprint,
        schema_version=SCHEMA_VERSION,
        row_counts=outcome.stats.row_counts,
        quality={
            "verdict": gate.verdict,
            "passed": gate.passed,
            "checks": len(gate.checks),
            "failed_critical": [c.name for c in gate.critical_failures],
            "failed_warning": [c.name for c in gate.warnings],
            "quarantined": [
                {"source_file": q.source_file, "reason": q.reason, "message": q.message}
                for q in gate.quarantined
            ],
            "report": "quality/report.html",
            "results": "quality/validation.json",
        },
        lineage=outcome.lineage,
        dataset_fingerprint=fingerprint,
    )
    manifest["parquet"] = parquet
    manifest["build"] = {
        "incremental": outcome.stats.incremental,
        "documents_reused": outcome.stats.documents_reused,
        "documents_added": outcome.stats.documents_added,
        "documents_removed": outcome.stats.documents_removed,
    }
    if changes is not None:
        manifest["changes"] = {
            kind: sum(1 for c in changes if c.change == kind) for kind in ("added", "removed", "changed")
        }
    # The dataset card carries the licence and the credit to en.kremlin.ru: always written.
    chosen = tuple(dict.fromkeys((*(ALL_EDITIONS if editions is None else editions), "card")))
    # The SQLite edition follows the content diff, which holds across code changes too.
    results = write_editions(
        build_dir,
        manifest,
        parent_dir=plan.parent_dir if changes is not None else None,
        changes=changes,
        editions=chosen,
    )
    spent.update({f"edition:{name}": r.seconds for name, r in results.items()})
    manifest["editions"] = {
        name: {"files": [p.name for p in r.files], "build": r.detail} for name, r in results.items()
    }
    manifest["timings_seconds"] = {
        **timings,
        **{f"normalise:{k}": v for k, v in outcome.seconds.items()},
        **{f"check:{k}": v for k, v in (gate.meta.get("suite_seconds") or {}).items()},
        **{f"publish:{k}": v for k, v in spent.items()},
    }
    write_manifest(build_dir, manifest)
    publish_version(plan.curated_dir, build_dir, plan.version_id)
    manifest["removed_versions"] = apply_retention(
        plan.curated_dir, keep=plan.keep, run_started_at=plan.created_at, running=build_dir
    )
    return manifest


# ---------------------------------------------------------------- summaries


def _base_summary(plan: RunPlan, seconds: float) -> dict[str, Any]:
    return {
        "raw_dir": str(plan.raw_dir),
        "curated_dir": str(plan.curated_dir),
        "files_seen": len(plan.inputs),
        "files_parsed": plan.files_to_parse,
        "parent_version": plan.parent_version,
        "seconds": round(seconds, 2),
    }


def unchanged_summary(plan: RunPlan, seconds: float) -> dict[str, Any]:
    m = plan.parent_manifest or {}
    by_status = (m.get("lineage") or {}).get("by_status", {})
    return {
        **_base_summary(plan, seconds),
        "status": "unchanged",
        "version_id": plan.parent_version,
        "files_parsed": 0,
        "published": by_status.get("published", 0),
        "duplicates": by_status.get("duplicate", 0),
        "rejected": by_status.get("rejected", 0),
        "row_counts": m.get("row_counts", {}),
        "quality": (m.get("quality") or {}).get("verdict"),
    }


def _stats_summary(outcome: BuildOutcome) -> dict[str, Any]:
    s = outcome.stats
    return {
        "published": s.published,
        "duplicates": s.duplicates,
        "rejected": s.rejected,
        "row_counts": s.row_counts,
    }


def blocked_summary(
    plan: RunPlan, outcome: BuildOutcome, gate, build_dir: Path, seconds: float
) -> dict[str, Any]:
    return {
        **_base_summary(plan, seconds),
        **_stats_summary(outcome),
        "status": "blocked",
        "version_id": None,
        "quality": gate.verdict,
        "failed_critical": [c.name for c in gate.critical_failures],
        "report": str(build_dir / "quality" / "report.html"),
    }


def published_summary(
    plan: RunPlan, outcome: BuildOutcome, gate, manifest: dict, timings: dict[str, float], seconds: float
) -> dict[str, Any]:
    return {
        **_base_summary(plan, seconds),
        **_stats_summary(outcome),
        "status": "published",
        "version_id": manifest["version_id"],
        "quality": gate.verdict,
        "warnings": [c.name for c in gate.warnings],
        "stage_seconds": dict(timings),
        "report": str(plan.curated_dir / "versions" / manifest["version_id"] / "quality" / "report.html"),
    }


def _summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("status", summary["status"]),
        ("version", str(summary.get("version_id"))),
        ("parent version", str(summary.get("parent_version"))),
        ("files seen", str(summary["files_seen"])),
        ("files parsed (not in cache)", str(summary["files_parsed"])),
        ("published", str(summary.get("published", 0))),
        ("duplicates", str(summary.get("duplicates", 0))),
        ("rejected", str(summary.get("rejected", 0))),
    ]
    rows += [(f"rows: {t}", str(n)) for t, n in sorted((summary.get("row_counts") or {}).items())]
    rows.append(("quality", str(summary.get("quality"))))
    if summary.get("warnings"):
        rows.append(("warnings", ", ".join(summary["warnings"])))
    if summary.get("failed_critical"):
        rows.append(("failed critical checks", ", ".join(summary["failed_critical"])))
    if summary.get("report"):
        rows.append(("quality report", summary["report"]))
    rows += [(f"time: {k}", f"{v:.2f} s") for k, v in (summary.get("stage_seconds") or {}).items()]
    rows.append(("time: total", f"{summary['seconds']:.2f} s"))
    return rows


def format_summary(summary: dict[str, Any]) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="kremlin pipeline run", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    for k, v in _summary_rows(summary):
        table.add_row(k, v)
    buf = io.StringIO()
    Console(file=buf, width=110, color_system=None).print(table)
    return buf.getvalue()


def summary_markdown(summary: dict[str, Any]) -> str:
    lines = ["| what | value |", "|---|---|"]
    lines += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in _summary_rows(summary)]
    return "\n".join(lines)
