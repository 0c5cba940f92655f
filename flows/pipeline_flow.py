"""The Prefect flow of the pipeline: ingest → parse → normalise → check → publish.

Thin orchestration over the domain package ``kremlin``: every stage is a task so the
Prefect UI shows where a run is, parsing is one task per batch of files (never per
file), and all data moves through files (shards, the DuckDB build), not task results.

Importing this module imports Prefect (seconds): the command, ``python -m flows.pipeline``
(:mod:`flows.pipeline`), imports it only once its precheck has found work.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.utilities.annotations import quote

from kremlin import runs
from kremlin.progress import ProgressReporter
from kremlin.shards import ShardJob, ShardSummary, write_shard
from kremlin.versions import latest_version

# Set by the flow for the local runner: parse batches run in these worker processes
# (the Prefect tasks themselves are threads that wait on them). Dask workers leave it
# unset and parse in their own process.
_PROCESS_POOL: Executor | None = None
# Batches the command started before the flow (while Prefect's temporary server starts up),
# by shard id; the flow's parse tasks wait for them instead of parsing again.
_EARLY_POOL: ProcessPoolExecutor | None = None
_EARLY_PARSE: dict[str, Future] = {}
_EARLY_JOBS: list[ShardJob] = []
# The stage worker the command started before the flow (``start_stage_worker``), so that
# its imports (Great Expectations: seconds) overlap the flow's first steps.
_EARLY_STAGES: StageWorker | None = None


def _take_stage_worker(enabled: bool) -> StageWorker:
    """The worker the command started early if there is one (and stages are isolated), else a new one."""
    global _EARLY_STAGES
    early, _EARLY_STAGES = _EARLY_STAGES, None
    if early is not None and enabled:
        return early
    if early is not None:
        early.close()
    return StageWorker(enabled)


# The precheck's plan for (raw_dir, curated_dir), taken over by the flow's ingest: the
# same process listed and hashed the folder moments ago (any scan is a snapshot anyway).
_PRECHECKED: dict[tuple[str, str], runs.RunPlan] = {}


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
def ingest(raw_dir: str, curated_dir: str, keep: int, batch_size: int) -> runs.RunPlan:
    """What RAW_DIR holds and what the run has to do, decided under CURATED_DIR's lock.

    Returns the plan, not the list of files: Prefect links every element of a returned
    list to the task's state (0.5-1.7 s for 60,000 files), and only the first level of a
    dataclass."""
    raw, curated = Path(raw_dir), Path(curated_dir)
    pre = _PRECHECKED.pop((raw_dir, curated_dir), None)
    if (
        pre is not None
        and (pre.keep, pre.batch_size) == (keep, batch_size)
        and latest_version(curated) == pre.parent_version
    ):
        # Nothing was published since the precheck planned (this run holds the lock now):
        # its plan stands, and its batches are the ones already being parsed.
        plan, source = pre, "the precheck's plan"
    else:
        inputs = pre.inputs if pre is not None else runs.scan(raw, curated)
        parsing = frozenset(sha for job in _EARLY_JOBS for sha, _ in job.items)
        plan = runs.plan_run(raw, curated, inputs, keep=keep, batch_size=batch_size, parsing=parsing)
        source = "the precheck's scan" if pre is not None else "a new scan"
    get_run_logger().info("ingest: %d entries in %s (%s)", len(plan.inputs), raw_dir, source)
    return plan


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
        plan = timer.run("ingest", ingest, raw_dir, curated_dir, keep, batch_size)
        if plan.unchanged:
            _close_early_stages()
            summary = runs.unchanged_summary(plan, time.perf_counter() - started)
            logger.info("nothing new: inputs and code are those of version %s", plan.parent_version)
            _report(summary)
            return summary
        logger.info("parse: %d of %d files are new to the parse cache", plan.files_to_parse, len(plan.inputs))
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


def take_over(plan: runs.RunPlan, *, raw_dir: str, curated_dir: str, runner: str, workers: int) -> None:
    """Give the flow that follows in this process a head start from the command's precheck:
    ingest takes its plan (or, if a version was published meanwhile, its scan) and, with the local runner, the planned batches start parsing
    now, while the Prefect server comes up."""
    _PRECHECKED.clear()
    _PRECHECKED[(raw_dir, curated_dir)] = plan  # as the flow's parameters will spell them
    if runner == "local":
        start_parsing_early(plan, workers)


def start_stage_worker() -> None:
    """Start the stage worker now (local runner), before the flow: its imports (Great
    Expectations, seconds of CPU) overlap the wait for the Prefect server and the flow's
    first steps. The command calls it once its own start-up work is done (precheck,
    Prefect's client imports), so that they do not compete with it."""
    global _EARLY_STAGES
    if _EARLY_STAGES is None:
        _EARLY_STAGES = StageWorker(True)


def release_head_start() -> None:
    """Drop whatever ``take_over`` started that the flow did not use."""
    _shutdown_parse_pool()
    _close_early_stages()
    _PRECHECKED.clear()
