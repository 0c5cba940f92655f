"""The Kremlin transcripts pipeline as one Prefect flow: ingest → parse → normalise → check → publish.

Thin orchestration over the domain package ``kremlin``: every stage is a task so the
Prefect UI shows where a run is, parsing is one task per batch of files (never per
file), and all data moves through files (shards, the DuckDB build), not task results.

Run ``python -m flows.pipeline --help`` (or ``make pipeline``).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.futures import as_completed  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402

from flows.runners import dask_task_runner, shared_prefect_api, start_temporary_api  # noqa: E402
from kremlin import runs  # noqa: E402
from kremlin.inventory import InputFile  # noqa: E402
from kremlin.progress import ProgressReporter  # noqa: E402
from kremlin.shards import ShardJob, ShardSummary, write_shard  # noqa: E402

# Set by the flow for the local runner: parse batches run in these worker processes
# (the Prefect tasks themselves are threads that wait on them). Dask workers leave it
# unset and parse in their own process.
_PROCESS_POOL: Executor | None = None
# Batches ``main`` started before the flow (while Prefect's temporary server starts up),
# by shard id; the flow's parse tasks wait for them instead of parsing again.
_EARLY_POOL: ProcessPoolExecutor | None = None
_EARLY_PARSE: dict[str, Future] = {}
_EARLY_JOBS: list[ShardJob] = []
# The stage worker ``main`` started right after its precheck (local runner), so that its
# imports (Great Expectations: seconds) overlap the Prefect server start, not the run.
_EARLY_STAGES: StageWorker | None = None


def _take_stage_worker(enabled: bool) -> StageWorker:
    """The worker ``main`` started early if there is one (and stages are isolated), else a new one."""
    global _EARLY_STAGES
    early, _EARLY_STAGES = _EARLY_STAGES, None
    if early is not None and enabled:
        return early
    if early is not None:
        early.close()
    return StageWorker(enabled)


# The precheck's scan of (raw_dir, curated_dir), taken over by the flow's ingest: the
# same process listed and hashed the folder moments ago (any scan is a snapshot anyway).
_PRESCANNED: dict[tuple[str, str], list[InputFile]] = {}


def _shutdown_parse_pool() -> None:
    global _PROCESS_POOL, _EARLY_POOL
    for fut in _EARLY_PARSE.values():
        fut.cancel()
    _EARLY_PARSE.clear()
    _EARLY_JOBS.clear()
    for pool in {id(p): p for p in (_PROCESS_POOL, _EARLY_POOL) if p is not None}.values():
        pool.shutdown()
    _PROCESS_POOL = _EARLY_POOL = None


def start_parsing_early(plan: runs.RunPlan, workers: int) -> None:
    """Start the parse of a planned run at once, in worker processes, before the flow:
    Prefect's temporary server takes seconds to start, the parse needs no Prefect, and
    shards are content-addressed and written atomically, so the work is never wrong
    even when the flow's own plan differs (its tasks then parse what is missing)."""
    global _EARLY_POOL
    jobs = plan.shard_jobs()
    if not jobs:
        return
    plan.cache_dir.mkdir(parents=True, exist_ok=True)
    _EARLY_POOL = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    for job in jobs:
        _EARLY_PARSE[job.shard_id] = _EARLY_POOL.submit(write_shard, job, plan.cache_dir)
    _EARLY_JOBS.extend(jobs)


@dataclass
class StageTimer:
    seconds: dict[str, float] = field(default_factory=dict)

    def run(self, name, fn, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t0, 3)


@task(name="ingest", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def ingest(raw_dir: str, curated_dir: str) -> list[InputFile]:
    files = _PRESCANNED.pop((raw_dir, curated_dir), None)
    reused = files is not None
    if files is None:
        files = runs.scan(Path(raw_dir), Path(curated_dir))
    get_run_logger().info(
        "ingest: %d entries in %s%s", len(files), raw_dir, " (the precheck's scan)" if reused else ""
    )
    return files


@task(name="parse-batch", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
def parse_batch(job: ShardJob, cache_dir: str) -> ShardSummary:
    early = _EARLY_PARSE.pop(job.shard_id, None)
    if early is not None:
        with contextlib.suppress(Exception):  # a failed early batch is simply parsed again
            return early.result()
    if _PROCESS_POOL is not None:
        return _PROCESS_POOL.submit(write_shard, job, Path(cache_dir)).result()
    return write_shard(job, Path(cache_dir))


class StageWorker:
    """One fresh child process for the heavy stages (build, check, publish), started with
    the run so its imports (DuckDB, pandas, Great Expectations) overlap the parse, and
    ended with it, so its memory goes back to the OS instead of piling up in the flow
    process. ``enabled=False`` runs the stages in this process (tests)."""

    def __init__(self, enabled: bool) -> None:
        self._pool = (
            ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            if enabled
            else None
        )
        if self._pool is not None:
            self._pool.submit(runs.warm_up)

    def run(self, fn, *args, **kwargs):
        if self._pool is None:
            return fn(*args, **kwargs)
        return self._pool.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


_STAGES: StageWorker | None = None


def _stage(fn, *args, **kwargs):
    return (_STAGES or StageWorker(False)).run(fn, *args, **kwargs)


@task(name="normalise", cache_policy=NO_CACHE)
def normalise(plan: runs.RunPlan, build_dir: str) -> runs.BuildOutcome:
    outcome = _stage(runs.build, plan, Path(build_dir))
    get_run_logger().info("normalise: %s", outcome.stats)
    return outcome


@task(name="check", cache_policy=NO_CACHE)
def check(plan: runs.RunPlan, build_dir: str, outcome: runs.BuildOutcome):
    gate = _stage(runs.check, plan, Path(build_dir), outcome)
    logger = get_run_logger()
    logger.info("check: %s", gate.summary_text())
    create_markdown_artifact(
        key="quality-gate", markdown=gate.summary_markdown(), description="Great Expectations quality gate"
    )
    return gate


@task(name="publish", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def publish(
    plan: runs.RunPlan,
    build_dir: str,
    outcome: runs.BuildOutcome,
    gate,
    timings: dict,
    editions: tuple[str, ...] | None = None,
) -> dict:
    manifest = _stage(runs.publish, plan, Path(build_dir), outcome, gate, timings, editions)
    get_run_logger().info("publish: version %s", manifest["version_id"])
    return manifest


def _parse_stage(plan: runs.RunPlan, reporter: ProgressReporter) -> list[ShardSummary]:
    jobs = plan.shard_jobs()
    reporter.start("parse", total=sum(len(j.items) for j in jobs))
    futures = [parse_batch.submit(job, str(plan.cache_dir)) for job in jobs]
    summaries = []
    for fut in as_completed(futures):
        summary = fut.result()
        summaries.append(summary)
        reporter.advance(summary.files)
    reporter.stop()
    return summaries


@flow(name="kremlin-pipeline", log_prints=True)
def pipeline(
    raw_dir: str = "raw",
    curated_dir: str = "curated",
    keep: int = 10,
    batch_size: int = runs.DEFAULT_BATCH_SIZE,
    workers: int = 0,
    lock_timeout: float = 3600.0,
    progress: bool = False,
    runner: str = "local",
    isolate_stages: bool = True,
    editions: list[str] | None = None,
) -> dict:
    """Publish a new version of the dataset from RAW_DIR into CURATED_DIR (or nothing if unchanged)."""
    global _PROCESS_POOL, _STAGES
    logger = get_run_logger()
    started = time.perf_counter()
    timer = StageTimer()
    reporter = ProgressReporter(enabled=progress)
    curated = Path(curated_dir)
    with runs.locked(curated, timeout=lock_timeout):
        inputs = timer.run("ingest", ingest, raw_dir, curated_dir)
        plan = runs.plan_run(
            Path(raw_dir),
            curated,
            inputs,
            keep=keep,
            batch_size=batch_size,
            parsing=frozenset(sha for job in _EARLY_JOBS for sha, _ in job.items),
        )
        if plan.unchanged:
            _close_early_stages()
            summary = runs.unchanged_summary(plan, time.perf_counter() - started)
            logger.info("nothing new: inputs and code are those of version %s", plan.parent_version)
            _report(summary)
            return summary
        logger.info("parse: %d of %d files are new to the parse cache", plan.files_to_parse, len(inputs))
        # Local runner: the stage worker starts now, so its imports overlap the parse. Dask
        # pickles the parse tasks, which must not meet the worker's pool in this module.
        _STAGES = _take_stage_worker(isolate_stages) if runner == "local" else None
        try:
            if runner == "local" and plan.files_to_parse:
                _PROCESS_POOL = _EARLY_POOL or ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)
            try:
                timer.run("parse", _parse_stage, plan, reporter)
            finally:
                _shutdown_parse_pool()
            _STAGES = _STAGES or _take_stage_worker(isolate_stages)
            with runs.staging(plan) as build_dir:
                # quote(): Prefect would otherwise walk every object of a task's arguments
                # looking for futures (the plan holds one InputFile per raw file: seconds
                # per task at 60,000 files); these arguments are plain values.
                outcome = timer.run("normalise", normalise, quote(plan), str(build_dir))
                gate = timer.run("check", check, quote(plan), str(build_dir), quote(outcome))
                if not gate.passed:
                    summary = runs.blocked_summary(
                        plan, outcome, gate, build_dir, time.perf_counter() - started
                    )
                    _report(summary)
                    raise runs.QualityGateFailed(gate.summary_text())
                chosen = tuple(editions) if editions is not None else None
                manifest = timer.run(
                    "publish",
                    publish,
                    quote(plan),
                    str(build_dir),
                    quote(outcome),
                    quote(gate),
                    timer.seconds,
                    chosen,
                )
        finally:
            if _STAGES is not None:
                _STAGES.close()
            _STAGES = None
        summary = runs.published_summary(
            plan, outcome, gate, manifest, timer.seconds, time.perf_counter() - started
        )
    _report(summary)
    return summary


def _close_early_stages() -> None:
    global _EARLY_STAGES
    if _EARLY_STAGES is not None:
        _EARLY_STAGES.close()
    _EARLY_STAGES = None


def _report(summary: dict) -> None:
    text = runs.format_summary(summary)
    print(text)
    try:
        create_markdown_artifact(
            key="run-summary", markdown=runs.summary_markdown(summary), description="Run summary"
        )
    except Exception as exc:  # an artifact is a nicety; never fail a finished run over it
        get_run_logger().warning("could not create the summary artifact: %s", exc)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m flows.pipeline",
        description=(
            "Parse every raw en.kremlin.ru page text in RAW_DIR, normalise, check with Great Expectations "
            "and publish a new immutable version (DuckDB + Parquet + manifest) in CURATED_DIR/versions/, "
            "switching CURATED_DIR/latest. Unchanged inputs and code publish nothing."
        ),
        epilog=(
            "Exit status: 0 a version was published or nothing changed; 1 the quality gate blocked "
            "publication (latest is unchanged); 2 bad arguments or CURATED_DIR locked by another run."
        ),
    )
    ap.add_argument("--raw-dir", default="raw", help="landing folder of raw page texts (default: raw)")
    ap.add_argument("--curated-dir", default="curated", help="output folder (default: curated)")
    ap.add_argument(
        "--runner",
        choices=("local", "dask"),
        default="local",
        help="local: worker processes on this machine; dask: a Dask cluster via prefect-dask",
    )
    ap.add_argument(
        "--dask-address",
        default=None,
        help="scheduler address (tcp://host:8786) for --runner dask; default: a local cluster",
    )
    ap.add_argument(
        "--workers", type=int, default=0, help="parse processes / local Dask workers (default: all cores)"
    )
    ap.add_argument("--keep", type=int, default=10, help="published versions to keep (default: 10)")
    ap.add_argument(
        "--batch-size",
        type=int,
        default=runs.DEFAULT_BATCH_SIZE,
        help=f"files per parse task (default: {runs.DEFAULT_BATCH_SIZE})",
    )
    ap.add_argument(
        "--lock-timeout",
        type=float,
        default=3600.0,
        help="seconds to wait for another run on CURATED_DIR to finish (default: 3600; 0 = fail at once)",
    )
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument(
        "--editions",
        default="all",
        help="editions to write besides DuckDB and Parquet, comma separated, or 'all' / 'none' "
        "(default: all = sqlite,croissant,datapackage,card,page; datapackage needs sqlite; the dataset "
        "card README.md, which carries the licence and credit, is always written)",
    )
    return ap


def precheck(raw_dir: Path, curated_dir: Path, keep: int, batch_size: int) -> runs.RunPlan:
    """Plan the run without Prefect (and without Great Expectations): a run with nothing
    to do ends here, in about the time it takes to list RAW_DIR."""
    inputs = runs.scan(raw_dir, curated_dir)
    return runs.plan_run(raw_dir, curated_dir, inputs, keep=keep, batch_size=batch_size)


def _hand_over_scan(raw_dir: str, curated_dir: str, plan: runs.RunPlan) -> None:
    _PRESCANNED.clear()
    _PRESCANNED[(raw_dir, curated_dir)] = plan.inputs


def _exit_on_sigterm(signum, frame) -> None:
    # A plain SIGTERM would skip Prefect's shutdown and orphan its temporary server;
    # SystemExit unwinds normally (the lock is released, the staging build is left
    # for retention, latest is untouched).
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    global _EARLY_STAGES
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if args.keep < 1 or args.batch_size < 1:
        print("error: --keep and --batch-size must be at least 1", file=sys.stderr)
        return 2
    if not Path(args.raw_dir).is_dir():
        print(f"error: RAW_DIR {args.raw_dir} is not a directory", file=sys.stderr)
        return 2
    try:
        from kremlin.editions import parse_editions

        editions = list(parse_editions(args.editions))
    except ValueError as exc:
        print(f"error: --editions: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    plan = precheck(Path(args.raw_dir), Path(args.curated_dir), args.keep, args.batch_size)
    if plan.unchanged:
        print(f"nothing new: inputs and code are those of version {plan.parent_version}")
        print(runs.format_summary(runs.unchanged_summary(plan, time.perf_counter() - started)))
        return 0
    _hand_over_scan(args.raw_dir, args.curated_dir, plan)
    # The run has work: its Prefect server starts now and comes up while the parse and
    # the stage worker start (and Prefect's server code stays out of this process).
    server = start_temporary_api()
    if args.runner == "local":
        # The parse pool forks first (a fork must not copy the stage worker's pool); the
        # worker's imports then overlap the Prefect server start instead of the run.
        start_parsing_early(plan, args.workers)
        _EARLY_STAGES = StageWorker(True)
    flow_fn = pipeline
    api: contextlib.AbstractContextManager = contextlib.nullcontext()
    if args.runner == "dask":
        flow_fn = pipeline.with_options(task_runner=dask_task_runner(args.dask_address, args.workers))
        # One Prefect API for this process and every worker (not one temporary server each).
        api = shared_prefect_api(remote_workers=bool(args.dask_address))
    else:
        flow_fn = pipeline.with_options(
            task_runner=ThreadPoolTaskRunner(max_workers=max(2, args.workers or os.cpu_count() or 2))
        )
    try:
        with server.serving() if server else contextlib.nullcontext(), api:
            flow_fn(
                raw_dir=args.raw_dir,
                curated_dir=args.curated_dir,
                keep=args.keep,
                batch_size=args.batch_size,
                workers=args.workers,
                lock_timeout=args.lock_timeout,
                progress=not args.no_progress and sys.stderr.isatty(),
                runner=args.runner,
                editions=editions,
            )
    except runs.QualityGateFailed as exc:
        print(f"quality gate: publication blocked, latest unchanged\n{exc}", file=sys.stderr)
        return 1
    except runs.LockBusyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        _shutdown_parse_pool()
        _close_early_stages()
        _PRESCANNED.clear()
    return 0


if __name__ == "__main__":
    # Run the importable module, not this __main__ copy: Dask pickles the tasks, and
    # functions of an importable module travel by reference instead of by value (with
    # every global they touch, such as the early-parse futures).
    from flows.pipeline import main as _main

    sys.exit(_main())
