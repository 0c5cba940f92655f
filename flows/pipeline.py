"""The pipeline command, ``python -m flows.pipeline`` (``make pipeline``).

A run: the Prefect temporary server is launched at once (it takes longer to come up than
anything else the run does first) → precheck, without Prefect: scan RAW_DIR and plan →
nothing to do: say so, stop the server (still importing: it dies at once) and exit 0 →
otherwise begin the head start (:mod:`flows.headstart`: the parse of the planned batches,
then the build and quality gate of the planned version in the stage worker), import the
flow (:mod:`flows.pipeline_flow`, where Prefect comes in), wait for the server and run the
flow, which takes the head start over if its plan under the lock is still the precheck's.

The flow and its tasks live in :mod:`flows.pipeline_flow`; ``from flows.pipeline import
pipeline`` still works, importing it on first use.

Run ``python -m flows.pipeline --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from flows.runners import TemporaryApi, launch_temporary_api

if TYPE_CHECKING:
    from flows.headstart import HeadStart, StageWorker
    from kremlin import runs

# Names of the flow module served from here, so that ``from flows.pipeline import pipeline``
# (the daily flow, tests) keeps working without the command importing Prefect up front.
_FLOW_NAMES = frozenset({"pipeline", "ingest", "parse_batch", "normalise", "check", "publish"})
# Exit status of a run that ended on an error the command has no status of its own for (a
# bug, a full disk, a failed task): not 1, so that a scheduler can tell a crash from a
# release the quality gate blocked.
EXIT_ERROR = 3


def __getattr__(name: str):
    if name in _FLOW_NAMES:
        from flows import pipeline_flow

        return getattr(pipeline_flow, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_parser() -> argparse.ArgumentParser:
    from kremlin.runs import DEFAULT_BATCH_SIZE

    ap = argparse.ArgumentParser(
        prog="python -m flows.pipeline",
        description=(
            "Parse every raw en.kremlin.ru page text in RAW_DIR, normalise, check with Great Expectations "
            "and publish a new immutable version (DuckDB + Parquet + manifest) in CURATED_DIR/versions/, "
            "switching CURATED_DIR/latest. Unchanged inputs and code publish nothing."
        ),
        epilog=(
            "Exit status: 0 a version was published or nothing changed; 1 the quality gate blocked "
            "publication (latest is unchanged); 2 bad arguments or CURATED_DIR locked by another run; "
            f"{EXIT_ERROR} the run failed on an unexpected error (printed with its traceback)."
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
        default=DEFAULT_BATCH_SIZE,
        help=f"files per parse task (default: {DEFAULT_BATCH_SIZE})",
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
    from kremlin import runs

    inputs = runs.scan(raw_dir, curated_dir)
    return runs.plan_run(raw_dir, curated_dir, inputs, keep=keep, batch_size=batch_size)


def _exit_on_sigterm(signum, frame) -> None:
    # A plain SIGTERM would skip Prefect's shutdown and orphan its temporary server;
    # SystemExit unwinds normally (the lock is released, the staging build is left
    # for retention, latest is untouched).
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    # Before the server is launched: a SIGTERM from now on unwinds and stops it.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # Prefect's temporary server needs seconds to import and start, more than the precheck
    # needs to find out whether there is anything to do: it starts first, in parallel.
    server = launch_temporary_api()
    try:
        return _command(argv, server)
    except Exception as exc:  # SystemExit (bad arguments, SIGTERM) and Ctrl-C keep their own status
        # By now every finally below has run: the head start is released, the stage worker closed.
        traceback.print_exc()
        print(f"error: the run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if server is not None and not server.adopted:
            server.discard()


def _command(argv: list[str] | None, server: TemporaryApi | None) -> int:
    args = build_parser().parse_args(argv)
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
    from kremlin import runs

    stages = _prestart_stage_worker(args.runner)
    try:
        started = time.perf_counter()
        plan = precheck(Path(args.raw_dir), Path(args.curated_dir), args.keep, args.batch_size)
        precheck_seconds = time.perf_counter() - started
        if plan.unchanged:
            for idle in (server, stages):
                if idle is not None:
                    idle.discard()  # before printing: the summary need not wait on them
            print(f"nothing new: inputs and code are those of version {plan.parent_version}")
            print(runs.format_summary(runs.unchanged_summary(plan, time.perf_counter() - started)))
            return 0
        return _run_flow(args, editions, plan, precheck_seconds, server, stages)
    finally:
        if stages is not None:
            stages.close()  # a no-op once the flow has closed it


def _prestart_stage_worker(runner: str) -> StageWorker | None:
    """The stage worker, started with the precheck so that its interpreter and the build's
    imports (not Great Expectations: see StageWorker) are ready when the precheck finds
    work; the local runner only (Dask workers run the stages themselves)."""
    if runner != "local":
        return None
    from flows.headstart import StageWorker

    return StageWorker(True)


def _run_flow(
    args, editions: list[str], plan: runs.RunPlan, precheck_seconds: float, server, stages: StageWorker | None
) -> int:
    # Local runner: the parse of the planned batches, the stage worker, and after them the
    # build and gate of the planned version begin now, before Prefect is even imported
    # (seconds), overlapping the server start instead of following it (flows.headstart).
    head = None
    if args.runner == "local":
        from flows.headstart import HeadStart

        head = HeadStart.begin(plan, args.workers, stages)
    try:
        return _take_over_and_run(args, editions, plan, precheck_seconds, server, head)
    finally:
        if head is not None:
            # A no-op once the flow's end released it; else an error came before the flow
            # took it over (a Prefect import or setting), and its parse pool would hold the
            # process at exit until every batch was parsed.
            head.close()


def _take_over_and_run(
    args, editions: list[str], plan: runs.RunPlan, precheck_seconds: float, server, head: HeadStart | None
) -> int:
    from flows import pipeline_flow  # Prefect's client side: seconds of imports, while the server starts
    from kremlin import runs

    if server is not None and server.superseded():
        server.discard()  # a Prefect profile names an API server: it is used instead
        server = None
    pipeline_flow.take_over(plan, raw_dir=args.raw_dir, curated_dir=args.curated_dir, head=head)
    from prefect.logging import get_logger

    get_logger().info(
        "precheck: %d entries, %d files to parse (%.1f s)",
        len(plan.inputs),
        plan.files_to_parse,
        precheck_seconds,
    )
    if server is not None:
        server.adopt()
    flow_fn = pipeline_flow.pipeline
    api: contextlib.AbstractContextManager = contextlib.nullcontext()
    if args.runner == "dask":
        from flows.runners import dask_task_runner, shared_prefect_api

        flow_fn = flow_fn.with_options(task_runner=dask_task_runner(args.dask_address, args.workers))
        # One Prefect API for this process and every worker (not one temporary server each).
        api = shared_prefect_api(remote_workers=bool(args.dask_address))
    else:
        from prefect.task_runners import ThreadPoolTaskRunner

        flow_fn = flow_fn.with_options(
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
        pipeline_flow.release_head_start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
