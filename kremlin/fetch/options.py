"""The fetch command-line options, shared by ``kremlin fetch`` and ``python -m flows.fetch``."""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from kremlin.fetch.crawl import FetchOptions
from kremlin.fetch.http import MIN_DELAY, Politeness
from kremlin.fetch.site import DEFAULT_SITE, Site


def parse_ids(values: list[str] | None) -> tuple[int, ...]:
    """``--ids 63621,63623 63624``: ids separated by commas and/or spaces."""
    ids: list[int] = []
    for value in values or []:
        for part in value.replace(",", " ").split():
            if not part.isdigit():
                raise argparse.ArgumentTypeError(f"not a page id: {part!r}")
            ids.append(int(part))
    return tuple(ids)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def is_loopback(site: str) -> bool:
    host = urlsplit(site).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def add_fetch_arguments(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    ap.add_argument("--raw-dir", type=Path, default=Path("raw"), help="landing folder (default: raw)")
    ap.add_argument("--site", default=DEFAULT_SITE, help=f"base URL of the site (default: {DEFAULT_SITE})")
    ap.add_argument(
        "--pages",
        type=int,
        default=None,
        metavar="N",
        help="read at most N list pages (default: walk the list until it reaches ids already fetched; "
        "a first crawl walks to the end, resuming where a capped or killed one stopped)",
    )
    ap.add_argument(
        "--delay",
        type=float,
        default=MIN_DELAY,
        help=f"seconds between requests (default and minimum: {MIN_DELAY:g}; "
        "smaller only for a site on 127.0.0.1/localhost)",
    )
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    ap.add_argument("--attempts", type=int, default=4, help="requests per URL at most (default: 4)")
    ap.add_argument(
        "--max-wait",
        type=float,
        default=600.0,
        help="longest Retry-After sat out, in seconds; longer ones give the page up for this run "
        "(default: 600)",
    )
    group = ap.add_mutually_exclusive_group()
    group.add_argument(
        "--ids",
        nargs="+",
        metavar="ID",
        help="fetch (again) exactly these page ids, e.g. --ids 63621,63623; no feed or list pages",
    )
    group.add_argument(
        "--since",
        type=_date,
        metavar="DATE",
        help="walk the list back to DATE (YYYY-MM-DD) and fetch (again) every page listed from that date",
    )
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    return ap


def make_options(
    raw_dir: str | Path,
    site: str = DEFAULT_SITE,
    *,
    pages: int | None = None,
    delay: float = MIN_DELAY,
    timeout: float = 30.0,
    attempts: int = 4,
    max_wait: float = 600.0,
    ids: tuple[int, ...] | list[int] = (),
    since: dt.date | str | None = None,
) -> FetchOptions:
    """Checked fetch options, or ValueError with a message for the user."""
    if delay < MIN_DELAY and not is_loopback(site):
        raise ValueError(f"the delay must be at least {MIN_DELAY:g} s for {site}")
    if delay < 0 or timeout <= 0 or attempts < 1:
        raise ValueError("the delay must be >= 0, the timeout > 0 and attempts >= 1")
    if pages is not None and pages < 0:
        raise ValueError("pages must be >= 0")
    if isinstance(since, str):
        since = dt.date.fromisoformat(since)
    return FetchOptions(
        raw_dir=Path(raw_dir),
        site=Site(site),
        max_pages=pages,
        ids=tuple(ids),
        since=since,
        politeness=Politeness(delay=delay, timeout=timeout, max_attempts=attempts, max_wait=max_wait),
    )


def options_from_args(args: argparse.Namespace) -> FetchOptions:
    """The options of a parsed command line, or ValueError with a message for the user."""
    try:
        ids = parse_ids(args.ids)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(str(exc)) from exc
    return make_options(
        args.raw_dir,
        args.site,
        pages=args.pages,
        delay=args.delay,
        timeout=args.timeout,
        attempts=args.attempts,
        max_wait=args.max_wait,
        ids=ids,
        since=args.since,
    )
