"""Names inside RAW_DIR that belong to the project itself, not to the landing folder's pages.

The fetcher keeps its crawl state and the HTML it rendered from beside the page texts, in
two directories it makes; the scanner leaves exactly these directories out of the
accounting (one home for both). An entry of either name that is not a directory (a file,
a link) is scanned like any other.
"""

from __future__ import annotations

FETCH_STATE_DIR = ".fetch"
"""RAW_DIR/.fetch/: the crawler's state (ids seen, their status, conditional-request validators)."""
FETCH_HTML_DIR = ".html"
"""RAW_DIR/.html/<kremlin_id>.html.gz: the HTML each page text was rendered from (provenance)."""
RAW_STATE_DIRS = frozenset({FETCH_STATE_DIR, FETCH_HTML_DIR})
