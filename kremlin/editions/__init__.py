"""Editions of a release: the same version folder in the formats other tools read.

``write_editions`` is called by publish once ``kremlin.duckdb`` is complete and closed
and ``parquet/`` is written, before ``manifest.json``. Each edition is derived from the
contract in ``schemas.tables`` and the files already in the folder:

- ``sqlite``: ``kremlin.sqlite`` (tables, views, FTS5) and ``metadata.json`` for Datasette;
- ``croissant``: ``croissant.json`` (MLCommons Croissant 1.0);
- ``datapackage``: ``datapackage.json`` (Frictionless Data Package v2);
- ``card``: ``README.md`` with Hugging Face front matter;
- ``page``: ``index.html``, the release page (written last: it links every file).

Pure domain code: no Prefect, no global state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from kremlin.diff import DocumentChange
from kremlin.editions.release import Release, release_from_manifest
from kremlin.versions import MANIFEST_FILENAME

# In build order: the card lists and the page links the files the others wrote.
ALL_EDITIONS: tuple[str, ...] = ("sqlite", "croissant", "datapackage", "card", "page")
# An edition that reads another's files: datapackage.json describes kremlin.sqlite.
NEEDS: dict[str, tuple[str, ...]] = {"datapackage": ("sqlite",)}


@dataclass(frozen=True)
class EditionResult:
    files: list[Path]
    seconds: float
    detail: str = ""  # e.g. 'cold' / 'incremental (57 documents)' for sqlite


@dataclass(frozen=True)
class _Inputs:
    release: Release
    parent_dir: Path | None
    changes: list[DocumentChange] | None
    editions: tuple[str, ...]


def _sqlite(inp: _Inputs) -> tuple[list[Path], str]:
    from kremlin.editions.sqlite import write_sqlite

    build, files = write_sqlite(inp.release, parent_dir=inp.parent_dir, changes=inp.changes)
    detail = (
        build.mode
        if build.documents_touched is None
        else f"{build.mode} ({build.documents_touched} documents)"
    )
    return files, detail


def _croissant(inp: _Inputs) -> tuple[list[Path], str]:
    from kremlin.editions.croissant import write_croissant

    return write_croissant(inp.release), ""


def _datapackage(inp: _Inputs) -> tuple[list[Path], str]:
    from kremlin.editions.datapackage import write_datapackage

    return write_datapackage(inp.release), ""


def _card(inp: _Inputs) -> tuple[list[Path], str]:
    from kremlin.editions.card import write_card
    from kremlin.editions.page import PAGE_FILENAME

    # Written after the card: the page (when chosen) and, by publish, the manifest.
    upcoming = [MANIFEST_FILENAME] + ([PAGE_FILENAME] if "page" in inp.editions else [])
    return write_card(inp.release, upcoming), ""


def _page(inp: _Inputs) -> tuple[list[Path], str]:
    from kremlin.editions.page import write_page

    return write_page(inp.release, inp.changes), ""


_WRITERS: dict[str, Callable[[_Inputs], tuple[list[Path], str]]] = {
    "sqlite": _sqlite,
    "croissant": _croissant,
    "datapackage": _datapackage,
    "card": _card,
    "page": _page,
}
assert tuple(_WRITERS) == ALL_EDITIONS


def parse_editions(text: str) -> tuple[str, ...]:
    """'card,sqlite' -> ('sqlite', 'card') in build order; 'all' or '' -> every edition; 'none' -> ()."""
    text = text.strip().lower()
    if text in ("", "all"):
        return ALL_EDITIONS
    if text == "none":
        return ()
    wanted = {p.strip() for p in text.split(",") if p.strip()}
    unknown = wanted - set(ALL_EDITIONS)
    if unknown:
        raise ValueError(f"unknown edition(s) {sorted(unknown)}; choose from {', '.join(ALL_EDITIONS)}")
    return tuple(e for e in ALL_EDITIONS if e in wanted)


def write_editions(
    version_dir: Path,
    manifest: dict,
    *,
    parent_dir: Path | None,
    changes: list[DocumentChange] | None,
    editions: Collection[str] = ALL_EDITIONS,
) -> dict[str, EditionResult]:
    """Write the chosen editions into ``version_dir``; return each one's files and time.

    ``parent_dir`` is the parent version's folder (its kremlin.sqlite is updated
    incrementally when ``changes``, the document diff from parent to this version, is
    given); either may be None for a cold build. An edition's prerequisites (``NEEDS``)
    are written with it.
    """
    unknown = set(editions) - set(ALL_EDITIONS)
    if unknown:
        raise ValueError(f"unknown edition(s) {sorted(unknown)}")
    wanted = set(editions) | {need for e in editions for need in NEEDS.get(e, ())}
    chosen = tuple(e for e in ALL_EDITIONS if e in wanted)
    inp = _Inputs(release_from_manifest(Path(version_dir), manifest), parent_dir, changes, chosen)
    results: dict[str, EditionResult] = {}
    for name in chosen:
        start = time.perf_counter()
        files, detail = _WRITERS[name](inp)
        results[name] = EditionResult(files, round(time.perf_counter() - start, 3), detail)
    return results


__all__ = ["ALL_EDITIONS", "EditionResult", "parse_editions", "write_editions"]
