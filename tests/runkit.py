"""Parse and build without an orchestrator: for tests that only need the DuckDB file."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kremlin.build import BuildStats, build_database
from kremlin.runs import RunPlan, plan_run
from kremlin.shards import write_shard


@dataclass(frozen=True)
class Built:
    plan: RunPlan
    db: Path
    stats: BuildStats


def parse_and_build(raw_dir: Path, work_dir: Path, *, workers: int = 1) -> Built:
    from kremlin.inventory import scan_inputs

    inputs = scan_inputs(raw_dir)
    plan = plan_run(raw_dir, work_dir, inputs)
    plan.cache_dir.mkdir(parents=True, exist_ok=True)
    jobs = plan.shard_jobs()
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(write_shard, jobs, [plan.cache_dir] * len(jobs)))
    else:
        for job in jobs:
            write_shard(job, plan.cache_dir)
    db = work_dir / "kremlin.duckdb"
    return Built(plan, db, build_database(db, inputs, plan.cache_dir))
