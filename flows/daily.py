"""The daily run: fetch new pages from the site into RAW_DIR, then publish from RAW_DIR.

``kremlin-daily`` calls two subflows, ``kremlin-fetch`` (:mod:`flows.fetch`) then
``kremlin-pipeline`` (:mod:`flows.pipeline`), and records one artifact,
``daily-summary``, holding both summaries (new / updated / unchanged / not found /
failed pages, then the published version). It is what ``make serve`` schedules.

A fetch that fails outright (the site unreachable, a bug) does not keep the pipeline
from publishing what RAW_DIR already holds; the daily run still ends failed so the
failure shows. Pages that are missing or fail one by one are part of a normal fetch.
"""

from __future__ import annotations

from prefect import flow, get_run_logger  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402

from flows.fetch import fetch  # noqa: E402
from flows.pipeline import pipeline  # noqa: E402
from kremlin.fetch.http import MIN_DELAY  # noqa: E402
from kremlin.fetch.site import DEFAULT_SITE  # noqa: E402

FLOW_NAME = "kremlin-daily"


class FetchFailed(RuntimeError):
    """The fetch subflow failed; the pipeline still ran on what RAW_DIR held."""


def _fetch_markdown(summary: dict | None, error: str | None) -> str:
    if summary is None:
        return f"Fetch failed: {error}"
    keys = ("robots", "new", "updated", "unchanged", "not_found", "failed", "disallowed",
            "list_pages_read", "list_pages_not_modified", "list_pages_missing", "list_pages_failed", "requests", "seconds")  # fmt: skip
    return "\n".join(["| what | value |", "|---|---|", *(f"| {k} | {summary[k]} |" for k in keys)])


def _pipeline_markdown(summary: dict) -> str:
    try:
        from kremlin.runs import summary_markdown

        return summary_markdown(summary)
    except Exception:  # the pipeline's own artifact has the details anyway
        return f"status: {summary.get('status')}, version: {summary.get('version_id')}"


@flow(name=FLOW_NAME, log_prints=True)
def daily(
    raw_dir: str = "raw",
    curated_dir: str = "curated",
    keep: int = 10,
    site: str = DEFAULT_SITE,
    fetch_pages: int | None = None,
    fetch_delay: float = MIN_DELAY,
) -> dict:
    """Fetch new pages into RAW_DIR, then publish a new version from it into CURATED_DIR."""
    logger = get_run_logger()
    fetch_state = fetch(raw_dir=raw_dir, site=site, pages=fetch_pages, delay=fetch_delay, return_state=True)
    fetch_summary: dict | None = None
    fetch_error: str | None = None
    if fetch_state.is_completed():
        fetch_summary = fetch_state.result()
        if str(fetch_summary["robots"]).startswith("unreachable"):
            logger.warning("fetch: robots.txt of %s %s", site, fetch_summary["robots"])
    else:
        fetch_error = str(fetch_state.message or fetch_state.name)
        logger.error("fetch failed (%s); publishing what %s already holds", fetch_error, raw_dir)
    pipeline_summary = pipeline(raw_dir=raw_dir, curated_dir=curated_dir, keep=keep)
    try:
        create_markdown_artifact(
            key="daily-summary",
            markdown="\n\n".join(
                [
                    "## Fetch",
                    _fetch_markdown(fetch_summary, fetch_error),
                    "## Pipeline",
                    _pipeline_markdown(pipeline_summary),
                ]  # fmt: skip
            ),
            description="Daily run: fetch, then publish",
        )
    except Exception as exc:  # an artifact is a nicety; never fail a finished run over it
        logger.warning("could not create the daily summary artifact: %s", exc)
    if fetch_error is not None:
        raise FetchFailed(fetch_error)
    return {"fetch": fetch_summary, "pipeline": pipeline_summary}
