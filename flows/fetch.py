"""Fetch new event pages from en.kremlin.ru into RAW_DIR, as the Prefect flow ``kremlin-fetch``.

Thin orchestration over :mod:`kremlin.fetch`: one task reads robots.txt, the feed and
the list (``discover``), then one task per batch of event pages (``fetch-pages``), never
one per page. The pages of a run are fetched one at a time whatever the task runner:
the batches run in sequence on one polite client.

Run ``python -m flows.fetch --help`` (or ``make fetch RAW_DIR=...``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from kremlin.fetch.crawl import Crawler, Discovery, FetchSummary, PageTally  # noqa: E402
from kremlin.fetch.http import MIN_DELAY  # noqa: E402
from kremlin.fetch.options import add_fetch_arguments, make_options, parse_ids  # noqa: E402
from kremlin.fetch.site import DEFAULT_SITE  # noqa: E402
from kremlin.fetch.store import FetchLocked  # noqa: E402

BATCH_SIZE = 500
"""Event pages per task: ~10 minutes at the default delay, so the UI shows progress."""


@task(name="discover", cache_policy=NO_CACHE)
def discover(crawler: Crawler) -> Discovery:
    found = crawler.discover()
    get_run_logger().info(
        "discover: robots.txt %s; list pages: %d read, %d not modified, %d missing, %d failed; "
        "%d ids to fetch",
        found.robots,
        found.lists.read,
        found.lists.not_modified,
        found.lists.missing,
        found.lists.failed,
        len(found.targets),
    )
    return found


@task(name="fetch-pages", cache_policy=NO_CACHE)
def fetch_pages(crawler: Crawler, ids: tuple[int, ...]) -> PageTally:
    tally = crawler.fetch(ids)
    get_run_logger().info(
        "fetch-pages: %s", ", ".join(f"{k} {v}" for k, v in tally.counts.items() if v) or "nothing"
    )
    return tally


def report(summary: FetchSummary) -> None:
    print(summary.format())
    try:
        create_markdown_artifact(
            key="fetch-summary", markdown=summary.markdown(), description="Fetch summary"
        )
    except Exception as exc:  # an artifact is a nicety; never fail a finished fetch over it
        get_run_logger().warning("could not create the fetch summary artifact: %s", exc)


@flow(name="kremlin-fetch", log_prints=True)
def fetch(
    raw_dir: str = "raw",
    site: str = DEFAULT_SITE,
    pages: int | None = None,
    delay: float = MIN_DELAY,
    ids: list[int] | None = None,
    since: str | None = None,
    timeout: float = 30.0,
    attempts: int = 4,
    max_wait: float = 600.0,
    batch_size: int = BATCH_SIZE,
) -> dict:
    """Fetch the event pages RAW_DIR does not have yet; return the fetch summary."""
    options = make_options(
        raw_dir,
        site,
        pages=pages,
        delay=delay,
        timeout=timeout,
        attempts=attempts,
        max_wait=max_wait,
        ids=tuple(ids or ()),
        since=since,
    )
    with Crawler(options) as crawler:
        found = discover(crawler)
        targets = found.targets
        for start in range(0, len(targets), max(1, batch_size)):
            fetch_pages(crawler, targets[start : start + batch_size])
        summary = crawler.summary(found)
    report(summary)
    return summary.as_dict()


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m flows.fetch",
        description=(
            "Fetch new event pages of en.kremlin.ru into RAW_DIR as page texts (RAW_DIR/<id>.txt, "
            "the corpus layout) with their HTML (RAW_DIR/.html/) and the crawl state (RAW_DIR/.fetch/). "
            "Reads robots.txt first, then the Atom feed and the news list; one request at a time, "
            "at least --delay seconds apart."
        ),
        epilog="Exit status: 0 the run finished (missing and failed pages are recorded in the summary); "
        "1 robots.txt could not be read, so nothing was fetched; 2 bad arguments or another fetch "
        "running on RAW_DIR.",
    )
    add_fetch_arguments(ap)
    ap.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help=f"event pages per task (default: {BATCH_SIZE})"
    )
    return ap


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        ids = list(parse_ids(args.ids))
        make_options(args.raw_dir, args.site, pages=args.pages, delay=args.delay, timeout=args.timeout,
                     attempts=args.attempts, max_wait=args.max_wait, ids=ids, since=args.since)  # fmt: skip
    except (ValueError, argparse.ArgumentTypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        result = fetch(
            raw_dir=str(args.raw_dir),
            site=args.site,
            pages=args.pages,
            delay=args.delay,
            ids=ids or None,
            since=args.since.isoformat() if args.since else None,
            timeout=args.timeout,
            attempts=args.attempts,
            max_wait=args.max_wait,
            batch_size=args.batch_size,
        )
    except FetchLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    return 1 if str(result["robots"]).startswith("unreachable") else 0


if __name__ == "__main__":
    sys.exit(main())
