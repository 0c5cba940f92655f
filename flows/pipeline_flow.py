"""The Prefect flow of the pipeline: ingest → parse → normalise → check → publish.

Thin orchestration over the domain package ``kremlin``: every stage is a task so the
Prefect UI shows where a run is, parsing is one task per batch of files (never per
file), and all data moves through files (shards, the DuckDB build), not task results.

Importing this module imports Prefect (seconds): the command, ``python -m flows.pipeline``
(:mod:`flows.pipeline`), imports it only once its precheck has found work.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.utilities.annotations import quote

from flows.headstart import EarlyStages, HeadStart, StageWorker
from kremlin import runs
from kremlin.progress import ProgressReporter
from kremlin.shards import ShardJob, ShardSummary, write_shard
from kremlin.versions import latest_version

# Set by the flow for the local runner: parse batches run in these worker processes
# (the Prefect tasks themselves are threads that wait on them). Dask workers leave it
# unset and parse in their own process.
_PROCESS_POOL: Executor | None = None
# What the command began before the flow (flows.headstart): the early parse of the planned
# batches, the stage worker, and the build and gate of the planned version.
_HEAD: HeadStart | None = None
# The precheck's plan for (raw_dir, curated_dir), taken over by the flow's ingest: the
# same process listed and hashed the folder moments ago (any scan is a snapshot anyway).
_PRECHECKED: dict[tuple[str, str], runs.RunPlan] = {}


def _take_stage_worker(enabled: bool) -> StageWorker:
    """The worker the command started early if there is one (and stages are isolated), else a new one."""
    early = _HEAD.take_stages() if _HEAD is not None else None
    if early is not None and enabled:
        return early
    if early is not None:
        early.close()
    return StageWorker(enabled)


def _shutdown_parse_pool() -> None:
    global _PROCESS_POOL
    if _HEAD is not None:
        _HEAD.stop_parse()
    if _PROCESS_POOL is not None:
        _PROCESS_POOL.shutdown()
    _PROCESS_POOL = None


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
        parsing = frozenset()
        if _HEAD is not None:
            _HEAD.drop_early()  # built for the precheck's version, not this one
            parsing = _HEAD.parsing_shas()
        plan = runs.plan_run(raw, curated, inputs, keep=keep, batch_size=batch_size, parsing=parsing)
        source = "the precheck's scan" if pre is not None else "a new scan"
    get_run_logger().info("ingest: %d entries in %s (%s)", len(plan.inputs), raw_dir, source)
    return plan


@task(name="parse-batch", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
def parse_batch(job: ShardJob, cache_dir: str) -> ShardSummary:
    early = _HEAD.take_parse(job.shard_id) if _HEAD is not None else None
    if early is not None:
        with contextlib.suppress(Exception):  # a failed early batch is simply parsed again
            return early.result()
    if _PROCESS_POOL is not None:
        return _PROCESS_POOL.submit(write_shard, job, Path(cache_dir)).result()
    return write_shard(job, Path(cache_dir))


_STAGES: StageWorker | None = None


def _stage(fn, *args, **kwargs):
    return (_STAGES or StageWorker(False)).run(fn, *args, **kwargs)


def _early(plan: runs.RunPlan, build_dir: str) -> EarlyStages:
    """The build and gate the head start ran for this plan in this directory (waits for them)."""
    if _HEAD is None:
        return EarlyStages(None, None)
    return _HEAD.take_early(plan, Path(build_dir))


@task(name="normalise", cache_policy=NO_CACHE)
def normalise(plan: runs.RunPlan, build_dir: str) -> runs.BuildOutcome:
    outcome = _early(plan, build_dir).outcome
    ahead = outcome is not None
    if outcome is None:
        outcome = _stage(runs.build, plan, Path(build_dir))
    get_run_logger().info("normalise%s: %s", " (begun with the head start)" if ahead else "", outcome.stats)
    return outcome


@task(name="check", cache_policy=NO_CACHE)
def check(plan: runs.RunPlan, build_dir: str, outcome: runs.BuildOutcome):
    early = _early(plan, build_dir)
    gate = early.gate if early.outcome is outcome else None
    ahead = gate is not None
    if gate is None:
        gate = _stage(runs.check, plan, Path(build_dir), outcome)
    logger = get_run_logger()
    logger.info("check%s: %s", " (begun with the head start)" if ahead else "", gate.summary_text())
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
            if _HEAD is not None:
                _HEAD.close()  # nothing to do after all: drop the stage worker now
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
                _PROCESS_POOL = (_HEAD and _HEAD.parse_pool) or ProcessPoolExecutor(
                    max_workers=workers or os.cpu_count() or 1
                )
            try:
                timer.run("parse", _parse_stage, plan, reporter)
            finally:
                _shutdown_parse_pool()
            _STAGES = _STAGES or _take_stage_worker(isolate_stages)
            with _staging(plan) as build_dir:
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


@contextlib.contextmanager
def _staging(plan: runs.RunPlan) -> Iterator[Path]:
    """The planned version's staging directory: the head start's when it works for this plan
    (it holds the directory until ``release_head_start``), else a new one."""
    taken = _HEAD.take_build_dir(plan) if _HEAD is not None else None
    if taken is not None:
        yield taken
        return
    with runs.staging(plan) as build_dir:
        yield build_dir


def _report(summary: dict) -> None:
    text = runs.format_summary(summary)
    print(text)
    try:
        create_markdown_artifact(
            key="run-summary", markdown=runs.summary_markdown(summary), description="Run summary"
        )
    except Exception as exc:  # an artifact is a nicety; never fail a finished run over it
        get_run_logger().warning("could not create the summary artifact: %s", exc)


def take_over(plan: runs.RunPlan, *, raw_dir: str, curated_dir: str, head: HeadStart | None) -> None:
    """Give the flow that follows in this process the command's head start: ingest takes the
    precheck's plan (or, if a version was published meanwhile, its scan), the parse tasks the
    early batches, normalise and check the early build and gate (flows.headstart)."""
    global _HEAD
    _PRECHECKED.clear()
    _PRECHECKED[(raw_dir, curated_dir)] = plan  # as the flow's parameters will spell them
    _HEAD = head


def release_head_start() -> None:
    """Drop whatever the head start began that the flow did not use."""
    global _HEAD
    _shutdown_parse_pool()
    if _HEAD is not None:
        _HEAD.close()
    _HEAD = None
    _PRECHECKED.clear()
