"""Parse, build, check and publish without an orchestrator: the flow's stages, in order."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kremlin import runs
from kremlin.build import BuildStats, build_database
from kremlin.inventory import scan_inputs
from kremlin.runs import RunPlan, plan_run
from kremlin.shards import write_shard


@dataclass(frozen=True)
class Built:
    plan: RunPlan
    db: Path
    stats: BuildStats


def _parse(plan: RunPlan, workers: int) -> None:
    plan.cache_dir.mkdir(parents=True, exist_ok=True)
    jobs = plan.shard_jobs()
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(write_shard, jobs, [plan.cache_dir] * len(jobs)))
    else:
        for job in jobs:
            write_shard(job, plan.cache_dir)


def parse_and_build(raw_dir: Path, work_dir: Path, *, workers: int = 1) -> Built:
    """Only the DuckDB tables (no row checks, no publication): for parser and build tests."""
    inputs = scan_inputs(raw_dir)
    plan = plan_run(raw_dir, work_dir, inputs)
    _parse(plan, workers)
    db = work_dir / "kremlin.duckdb"
    return Built(plan, db, build_database(db, inputs, plan.cache_dir).stats)


def publish_run(
    raw_dir: Path,
    curated_dir: Path,
    *,
    workers: int = 1,
    today: dt.date | None = None,
    editions: tuple[str, ...] | None = (),
) -> dict:
    """One whole pipeline run as the flow does it (scan, plan, parse, build with row checks,
    gate, publish); returns the run summary. Raises runs.QualityGateFailed when blocked."""
    with runs.locked(curated_dir, timeout=60):
        plan = runs.plan_run(raw_dir, curated_dir, runs.scan(raw_dir, curated_dir))
        if plan.unchanged:
            return runs.unchanged_summary(plan, 0.0)
        _parse(plan, workers)
        with runs.staging(plan) as build_dir:
            outcome = runs.build(plan, build_dir, today=today)
            gate = runs.check(plan, build_dir, outcome, today=today)
            if not gate.passed:
                raise runs.QualityGateFailed(gate.summary_text())
            manifest = runs.publish(plan, build_dir, outcome, gate, {}, editions)
        return runs.published_summary(plan, outcome, gate, manifest, {}, 0.0)
