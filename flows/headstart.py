"""The head start: work the command begins before the flow, while Prefect's temporary
server comes up (seconds of CPU the run would otherwise spend waiting).

No Prefect here, so the command can begin it before importing Prefect. Once the precheck
has planned a run with work to do (local runner), :meth:`HeadStart.begin` starts

- the parse of the planned batches, in worker processes;
- the stage worker (one fresh process for build, check and publish), and in it, once every
  batch is parsed, the build (``runs.build``) and the quality gate (``runs.check``) of the
  planned version, in a staging directory of its own.

Everything here is speculative and safe to throw away: shards are content-addressed and
written atomically; the build and the gate write only inside
``.staging/<version_id>.head-<pid>/`` (named for this process: the head start runs before
this run holds CURATED_DIR's lock, and a concurrent run may plan the same version id in the
same second), which the head start holds (flock) so no retention removes it, and which
nothing but the flow's publish task ever turns into a version. The flow
(:mod:`flows.pipeline_flow`) takes the head start over only when its own plan, made under
CURATED_DIR's lock, is the precheck's (no version was published in between); otherwise
it drops it and does the work itself. Publication, the one step with an effect outside
the staging directory, is never started here.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kremlin import runs
from kremlin.shards import ShardJob, write_shard

if TYPE_CHECKING:  # kremlin.quality imports the build and DuckDB: only for the annotation
    from kremlin.quality import GateResult


class StageWorker:
    """One fresh child process for the heavy stages (build, check, publish), started with
    the run so its imports (DuckDB, pandas, Great Expectations) overlap the parse, and
    ended with it, so its memory goes back to the OS instead of piling up in the flow
    process. ``enabled=False`` runs the stages in this process (tests).

    It is started before the precheck and imports only what the build needs until
    :meth:`expect_work` says there is a run to do: a run with nothing to do never imports
    Great Expectations anywhere."""

    def __init__(self, enabled: bool) -> None:
        self._pool = (
            ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            if enabled
            else None
        )
        self._checks_warm = False
        if self._pool is not None:
            self._pool.submit(runs.warm_up)

    @property
    def isolated(self) -> bool:
        return self._pool is not None

    def expect_work(self) -> None:
        """There is a run to do: begin importing what the checks need."""
        if self._pool is not None and not self._checks_warm:
            self._pool.submit(runs.warm_up_checks)
        self._checks_warm = True

    def run(self, fn, *args, **kwargs):
        if self._pool is None:
            return fn(*args, **kwargs)
        self.expect_work()
        return self._pool.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        """End the worker once its current job is done, by ``runs.end_worker`` (no heap
        teardown, its semaphores unlinked): every stage's output is on disk by then."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # Waited for: a shutdown that found it still queued would cancel it, and the worker
        # would exit the slow way. Its future fails (BrokenProcessPool) once the worker is gone.
        with contextlib.suppress(Exception):
            pool.submit(runs.end_worker).result(timeout=60)
        pool.shutdown(cancel_futures=True)

    def discard(self) -> None:
        """End a worker that has no job to do at once, even while it is still importing."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # ProcessPoolExecutor has no public way to stop its processes before Python 3.14
        # (terminate_workers); its process table has kept this name since 3.2.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=2)
        pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class EarlyStages:
    """What the head start built and checked for its plan (``None`` for a stage it did not run)."""

    outcome: runs.BuildOutcome | None
    gate: GateResult | None
    """The quality gate ``runs.check`` gave on ``outcome``."""


@dataclass
class HeadStart:
    plan: runs.RunPlan
    jobs: list[ShardJob] = field(default_factory=list)
    parsing: dict[str, Future] = field(default_factory=dict)
    """Early parse of each planned batch, by shard id; the flow's parse tasks take them."""
    parse_pool: ProcessPoolExecutor | None = None
    stages: StageWorker | None = None
    build_dir: Path | None = None
    """The planned version's staging directory (``<version_id>.head-<pid>``), held while the
    head start lives; publication moves it to ``versions/<version_id>``."""
    early: Future | None = None
    """Future of the :class:`EarlyStages` (build, then gate) run in ``stages``."""
    _staging: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _chain: ThreadPoolExecutor | None = None
    _taken: bool = False

    @classmethod
    def begin(cls, plan: runs.RunPlan, workers: int, stages: StageWorker | None) -> HeadStart:
        """Start the parse of ``plan``'s batches and, with a stage worker (isolated), the build
        and the gate of the planned version in it after them."""
        head = cls(plan, stages=stages)
        head._start_parse(workers)
        if stages is not None and stages.isolated:
            head._start_stages(stages)
        return head

    def _start_parse(self, workers: int) -> None:
        self.jobs = self.plan.shard_jobs()
        if not self.jobs:
            return
        self.plan.cache_dir.mkdir(parents=True, exist_ok=True)
        self.parse_pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)
        for job in self.jobs:
            self.parsing[job.shard_id] = self.parse_pool.submit(write_shard, job, self.plan.cache_dir)

    def _start_stages(self, stages: StageWorker) -> None:
        stages.expect_work()
        try:
            # Staged under a name of this process: the head start runs before this run holds
            # CURATED_DIR's lock, and must not take the directory of the run that holds it.
            self.build_dir = self._staging.enter_context(
                runs.staging(self.plan, suffix=f".head-{os.getpid()}")
            )
        except runs.LockBusyError:
            return  # a process of another pid namespace sharing CURATED_DIR has it: build in the flow
        parses = list(self.parsing.values())
        self._chain = ThreadPoolExecutor(max_workers=1, thread_name_prefix="head-start")
        self.early = self._chain.submit(
            _build_and_check, self.stages, self.plan, self.build_dir, parses, self._release_parse_pool
        )

    def _release_parse_pool(self) -> None:
        # Every batch is parsed: its idle workers (hundreds of MB) would otherwise live on
        # beside the build until the flow's parse stage ends. The flow's parse tasks take
        # the finished futures and never need the pool again.
        # (A flow whose plan differs from this one reads the pool only after drop_early has
        # waited for this thread, and a flow that follows it submits only failed batches.)
        pool, self.parse_pool = self.parse_pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def stands_for(self, plan: runs.RunPlan) -> bool:
        """Whether the flow's plan is the one this head start works for."""
        return plan is self.plan

    def parsing_shas(self) -> frozenset[str]:
        return frozenset(sha for job in self.jobs for sha, _ in job.items)

    def take_parse(self, shard_id: str) -> Future | None:
        return self.parsing.pop(shard_id, None)

    def take_stages(self) -> StageWorker | None:
        stages, self.stages = self.stages, None
        return stages

    def take_build_dir(self, plan: runs.RunPlan) -> Path | None:
        """The staging directory of the planned version, for the flow that builds it."""
        if not self.stands_for(plan) or self.build_dir is None:
            return None
        self._taken = True
        return self.build_dir

    def take_early(self, plan: runs.RunPlan, build_dir: Path) -> EarlyStages:
        """What was built and checked ahead in ``build_dir`` (waits for it); an error of the
        early build or gate is raised here, as the flow's own would be."""
        if self.early is None or not self.stands_for(plan) or build_dir != self.build_dir:
            return EarlyStages(None, None)
        return self.early.result()

    def stop_parse(self) -> None:
        for fut in self.parsing.values():
            fut.cancel()
        self.parsing.clear()
        pool, self.parse_pool = self.parse_pool, None  # the build thread may release it too
        if pool is not None:
            pool.shutdown()

    def drop_early(self) -> None:
        """Give up the early build and gate (the flow planned another version): wait for a
        build that is running (a build is never cut midway), then remove its directory."""
        if self._chain is not None:
            self._chain.shutdown(wait=True, cancel_futures=True)
            self._chain = None
        self.early = None
        if self.build_dir is not None and not self._taken:
            shutil.rmtree(self.build_dir, ignore_errors=True)
        self.build_dir = None
        self._staging.close()

    def close(self) -> None:
        """Stop and drop whatever the flow did not take."""
        self.stop_parse()
        self.drop_early()
        if self.stages is not None:
            self.stages.close()
            self.stages = None


def _build_and_check(
    stages: StageWorker,
    plan: runs.RunPlan,
    build_dir: Path,
    parses: list[Future],
    parsed: Callable[[], None] = lambda: None,
) -> EarlyStages:
    """Once every early batch is parsed (then ``parsed()`` is called), build the planned
    version and run its gate. A batch that failed is parsed again by the flow, so then
    nothing is built ahead."""
    for fut in parses:
        try:
            fut.result()
        except Exception:
            return EarlyStages(None, None)
    parsed()
    outcome = stages.run(runs.build, plan, build_dir)
    gate = stages.run(runs.check, plan, build_dir, outcome)
    return EarlyStages(outcome, gate)
