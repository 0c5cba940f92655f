"""Run the expectation suites and judge the release.

Great Expectations does not work on DuckDB through SQLAlchemy, so every suite's frame is
computed in DuckDB, fetched into pandas and validated with GX's pandas datasource in an
ephemeral context. ``check_staged`` runs the row-level suite inside a build (on the
documents new in it) and names the documents to quarantine; ``run_quality_gate`` runs the
schema and dataset-level suites on the assembled release and writes the report of both.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb

from kremlin import duck
from kremlin.build import Quarantine
from kremlin.quality.suites import (
    Check,
    FrameSuite,
    GateConfig,
    dataset_checks,
    row_checks,
    schema_checks,
    to_gx_suite,
)
from schemas.tables import TABLES

#: failed column checks with at most this many unexpected rows are re-run to name the rows
#: (GX builds that list row by row, too slow for a wholesale failure).
_MAX_INDEXED_FAILURES = 2000


@dataclass
class CheckResult:
    table: str
    expectation: str
    """GX expectation type ('expect_column_values_to_be_unique')."""
    column: str | None
    severity: Literal["critical", "warning"]
    success: bool
    observed: str
    details: dict
    name: str = ""
    """Unique check id ('documents.doc_id.unique')."""
    description: str = ""
    scope: str = "dataset"
    """'row' (quarantines the failing documents) or 'dataset' (blocks the release)."""


@dataclass
class RowCheckOutcome:
    """The row-level suite's verdict on a build's new documents."""

    checks: list[CheckResult]
    quarantine: list[Quarantine]
    gx_results: dict[str, Any]
    documents: int
    seconds: float


@dataclass(frozen=True)
class QuarantinedFile:
    source_file: str
    reason: str
    message: str


@dataclass
class GateResult:
    checks: list[CheckResult]
    row_counts: dict[str, int] = field(default_factory=dict)
    """Rows per curated table: pass them as previous_row_counts to the next run."""
    gx_results: dict[str, Any] = field(default_factory=dict)
    """GX validation result JSON per suite."""
    meta: dict[str, Any] = field(default_factory=dict)
    quarantined: list[QuarantinedFile] = field(default_factory=list)
    """Files rejected because their document failed a row-level check (not in the release)."""

    @property
    def passed(self) -> bool:
        return not self.critical_failures

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "warning"]

    @property
    def critical_failures(self) -> list[CheckResult]:
        """Failed critical dataset-level checks: these block the release."""
        return [c for c in self.checks if not c.success and c.severity == "critical" and c.scope != "row"]

    @property
    def quarantine_checks(self) -> list[CheckResult]:
        """Failed critical row-level checks: their documents were quarantined."""
        return [c for c in self.checks if not c.success and c.severity == "critical" and c.scope == "row"]

    @property
    def verdict(self) -> str:
        if not self.passed:
            return "FAILED"
        if self.warnings or self.quarantined:
            return "PASSED WITH WARNINGS"
        return "PASSED"

    def _counts(self) -> str:
        n_ok = sum(c.success for c in self.checks)
        return (
            f"{len(self.checks)} checks: {n_ok} passed, {len(self.critical_failures)} critical failures, "
            f"{len(self.warnings)} warnings, {len(self.quarantined)} file(s) quarantined"
        )

    def summary_text(self) -> str:
        lines = [f"Quality gate {self.verdict}: {self._counts()}"]
        for c in self.critical_failures + self.quarantine_checks + self.warnings:
            kind = "QUARANTINE" if c.scope == "row" and c.severity == "critical" else c.severity.upper()
            lines.append(f"  [{kind}] {c.name} ({c.expectation}): {c.observed}")
        return "\n".join(lines)

    def summary_markdown(self) -> str:
        lines = [f"## Quality gate: **{self.verdict}**", "", self._counts(), ""]
        failed = self.critical_failures + self.quarantine_checks + self.warnings
        if failed:
            lines += [
                "| severity | check | table | column | expectation | observed |",
                "|---|---|---|---|---|---|",
            ]
            for c in failed:
                cells = [c.severity, c.name, c.table, c.column or "", c.expectation, c.observed]
                lines.append("| " + " | ".join(_md_cell(x) for x in cells) + " |")
            lines.append("")
        if self.row_counts:
            lines.append("Rows: " + ", ".join(f"{t} {n:,}" for t, n in self.row_counts.items()))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return _jsonable(
            {
                "passed": self.passed,
                "verdict": self.verdict,
                "n_checks": len(self.checks),
                "n_critical_failures": len(self.critical_failures),
                "n_warnings": len(self.warnings),
                "meta": self.meta,
                "row_counts": self.row_counts,
                "checks": [asdict(c) for c in self.checks],
                "quarantined": [asdict(q) for q in self.quarantined],
                "gx_results": self.gx_results,
            }
        )


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# --------------------------------------------------------------------------- observed text


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "NULL" if value is None or value != value else str(value)  # NaN/NA → NULL
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sample_text(result: dict, index_columns: tuple[str, ...], n: int) -> str:
    rows = result.get("partial_unexpected_index_list") or []
    if rows and isinstance(rows[0], dict):
        parts = []
        for row in rows[:n]:
            key = ", ".join(f"{c}={_short(row.get(c))}" for c in index_columns if c in row)
            vals = ", ".join(f"{c}={_short(v)}" for c, v in row.items() if c not in index_columns)
            parts.append(f"{key}: {vals}" if vals else key)
        return "; ".join(parts)
    values = [_short(v) for v in result.get("partial_unexpected_list") or []]
    return ", ".join(list(dict.fromkeys(values))[:n])  # distinct, in order


def _observed(check: Check, result: dict, index_columns: tuple[str, ...], n: int, frame=None) -> str:
    if check.measure and frame is not None and len(frame):
        col = check.kwargs["column"]
        value = frame[col].iloc[0]
        bounds = [f"≥ {check.kwargs['min_value']}"] if check.kwargs.get("min_value") is not None else []
        bounds += [f"≤ {check.kwargs['max_value']}"] if check.kwargs.get("max_value") is not None else []
        text = f"{_short(value)}" + (f" (expected {' and '.join(bounds)})" if bounds else "")
        if check.example and not result.get("success", True):
            example = frame[check.example].iloc[0]
            if example is not None and example == example:
                text += f"; e.g. {_short(example)}"
        return text
    if "unexpected_count" in result:
        bad, total = result.get("unexpected_count") or 0, result.get("element_count") or 0
        text = f"{bad} unexpected of {total}"
        if "mostly" in check.kwargs and total:
            text += f" ({100 - (result.get('unexpected_percent') or 0):.2f}% conform, need {check.kwargs['mostly']:.0%})"
        if bad:
            text += "; e.g. " + _sample_text(result, index_columns, n)
        return text
    if "observed_value" in result:
        return _short(result["observed_value"], 200)
    return _short(result, 200)


# --------------------------------------------------------------------------- running


def _fetch(con, sql: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duckdb's pandas conversion trips pandas deprecations
        return con.execute(sql).df()


def _validate(batch, gx_suite, *, index_columns: tuple[str, ...], n: int, complete: bool = False) -> dict:
    result_format: dict[str, Any] = {"result_format": "COMPLETE" if complete else "SUMMARY"}
    if not complete:
        result_format["partial_unexpected_count"] = n
    if index_columns:
        result_format["unexpected_index_column_names"] = list(index_columns)
    return batch.validate(gx_suite, result_format=result_format).to_json_dict()


def _run_suite(
    context, suite: FrameSuite, frame, config: GateConfig, *, complete: bool = False
) -> tuple[list[CheckResult], dict]:
    """Validate one frame. ``complete``: every unexpected row is listed with its index
    columns (the row-level suite needs them all to quarantine; its frame is one row per
    new document). Otherwise failed checks are re-run to name a few offending rows."""
    by_name = {c.name: c for c in suite.checks}
    source = context.data_sources.add_pandas(f"frame_{suite.name}")
    batch = (
        source.add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    n = config.sample_size
    index = suite.index_columns if complete else ()
    gx_json = _validate(batch, to_gx_suite(suite), index_columns=index, n=n, complete=complete)
    results = {r["expectation_config"]["meta"]["check"]: r for r in gx_json["results"]}

    rerun = [
        by_name[name]
        for name, r in results.items()
        if not r["success"] and 0 < (r["result"].get("unexpected_count") or 0) <= _MAX_INDEXED_FAILURES
    ]
    if rerun and suite.index_columns and not complete:
        again = _validate(batch, to_gx_suite(suite, rerun), index_columns=suite.index_columns, n=n)
        for r in again["results"]:
            if not (r.get("exception_info") or {}).get("raised_exception"):
                results[r["expectation_config"]["meta"]["check"]] = r
        gx_json["results"] = [results[c.name] for c in suite.checks if c.name in results]

    out = []
    for check in suite.checks:
        r = results.get(check.name)
        if r is None:
            out.append(_error_result(check, suite, "GX returned no result"))
            continue
        exc = r.get("exception_info") or {}
        if exc.get("raised_exception"):
            out.append(_error_result(check, suite, f"GX error: {exc.get('exception_message')}"))
            continue
        result = r.get("result") or {}
        out.append(
            CheckResult(
                table=check.table,
                expectation=check.expectation_type,
                column=check.column,
                severity=check.severity,
                success=bool(r["success"]),
                observed=_observed(check, {**result, "success": r["success"]}, suite.index_columns, n, frame),
                details=_jsonable(
                    {
                        "suite": suite.name,
                        "kwargs": r["expectation_config"]["kwargs"],
                        # The complete lists are for quarantine, not for the report file.
                        "result": {k: v for k, v in result.items() if k not in ("unexpected_list",)},
                    }
                ),
                name=check.name,
                description=check.description,
                scope=check.scope,
            )
        )
    return out, _jsonable(gx_json) if not complete else {"success": gx_json.get("success")}


def _error_result(check: Check, suite: FrameSuite, message: str) -> CheckResult:
    return CheckResult(
        table=check.table,
        expectation=check.expectation_type,
        column=check.column,
        severity=check.severity,
        success=False,
        observed=_short(message.splitlines()[0] if message else "", 300),
        details={"suite": suite.name, "kwargs": _jsonable(check.kwargs), "error": message},
        name=check.name,
        description=check.description,
        scope=check.scope,
    )


def _gx_context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _offenders(check: Check, result: CheckResult) -> list[tuple[str, str]]:
    """(doc_id, observed value) of every row a failed row-level check rejects."""
    rows = (result.details.get("result") or {}).get("unexpected_index_list") or []
    cols = [v for k, v in check.kwargs.items() if k in ("column", "column_A", "column_B")]
    out = []
    for row in rows:
        if not isinstance(row, dict) or row.get("doc_id") is None:
            continue
        value = ", ".join(f"{c} = {_short(row.get(c))}" for c in cols if c in row)
        out.append((str(row["doc_id"]), value))
    return out


def check_staged(
    con: duckdb.DuckDBPyConnection, *, today: dt.date | None = None, config: GateConfig | None = None
) -> RowCheckOutcome:
    """Row-level checks on the documents a build staged (``staged_*`` temp tables of ``con``).

    Every document failing a critical check is named for quarantine, with the check and
    the offending value; passing and failing checks are kept for the release's report.
    """
    started = time.perf_counter()
    config = config or GateConfig()
    suite = row_checks(config, today or dt.date.today())
    frame = _fetch(con, suite.sql)
    if not len(frame):
        return RowCheckOutcome([], [], {}, 0, round(time.perf_counter() - started, 3))
    results, gx_json = _run_suite(_gx_context(), suite, frame, config, complete=True)
    quarantine = []
    for check, result in zip(suite.checks, results, strict=True):
        if result.success or check.severity != "critical":
            continue
        for doc_id, value in _offenders(check, result):
            quarantine.append(Quarantine(doc_id, check.name, f"{check.name}: {value} ({check.description})"))
        # The complete index list has served; keep the report small.
        res = result.details.get("result") or {}
        res["unexpected_index_list"] = (res.get("unexpected_index_list") or [])[: config.sample_size]
    for result in results:
        (result.details.get("result") or {}).pop("unexpected_index_query", None)
    return RowCheckOutcome(
        results, quarantine, {suite.name: gx_json}, len(frame), round(time.perf_counter() - started, 3)
    )


def _quarantined_files(con) -> list[QuarantinedFile]:
    rows = con.execute(
        "SELECT source_file, reject_reason, reject_message FROM source_files "
        "WHERE reject_stage = 'quality' ORDER BY source_file"
    ).fetchall()
    return [QuarantinedFile(f, r, m) for f, r, m in rows]


def run_quality_gate(
    db_path: Path,
    *,
    out_dir: Path,
    previous_row_counts: dict[str, int] | None = None,
    today: dt.date | None = None,
    config: GateConfig | None = None,
    row_outcome: RowCheckOutcome | None = None,
) -> GateResult:
    """Validate the assembled release ``db_path`` (opened read-only) with the schema and
    dataset-level suites, merge the build's row-level outcome, and write validation.json
    and report.html to ``out_dir``."""
    from kremlin.quality.report import write_report

    started = time.perf_counter()
    config = config or GateConfig()
    today = today or dt.date.today()
    suites = [schema_checks(), dataset_checks(config, previous_row_counts)]
    context = _gx_context()

    checks: list[CheckResult] = list(row_outcome.checks) if row_outcome else []
    gx_results: dict[str, Any] = dict(row_outcome.gx_results) if row_outcome else {}
    timings: dict[str, float] = {"rows": row_outcome.seconds} if row_outcome else {}
    con = duck.connect(db_path, read_only=True)
    try:
        for suite in suites:
            t0 = time.perf_counter()
            try:
                frame = _fetch(con, suite.sql)
            except duckdb.Error as exc:
                message = f"frame query failed: {exc}"
                checks += [_error_result(c, suite, message) for c in suite.checks]
                gx_results[suite.name] = {"success": False, "error": message}
                timings[suite.name] = round(time.perf_counter() - t0, 3)
                continue
            suite_checks, gx_results[suite.name] = _run_suite(context, suite, frame, config)
            checks += suite_checks
            timings[suite.name] = round(time.perf_counter() - t0, 3)
        row_counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        quarantined = _quarantined_files(con)
    finally:
        con.close()

    result = GateResult(
        checks=checks,
        row_counts=row_counts,
        gx_results=gx_results,
        quarantined=quarantined,
        meta={
            "db_path": str(db_path),
            "today": today.isoformat(),
            "previous_row_counts": previous_row_counts,
            "config": asdict(config),
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 3),
            "suite_seconds": timings,
            "row_checked_documents": row_outcome.documents if row_outcome else 0,
        },
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "validation.json").write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    write_report(result, out_dir / "report.html")
    return result
