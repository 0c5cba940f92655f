"""index.html: the release page, one self-contained file (inline CSS and SVG, no script).

It shows the version and its parent, what changed since the parent, row counts, the
quality verdict and the quarantined files, four charts from the DuckDB file (opened
read-only) and a link to every file of the release.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from kremlin import duck
from kremlin.diff import DocumentChange
from kremlin.editions import charts
from kremlin.editions.release import LICENSE_NAME, LICENSE_URL, SOURCE_NAME, SOURCE_URL, TITLE, Release
from kremlin.versions import MANIFEST_FILENAME

PAGE_FILENAME = "index.html"
TOP_N = 15
MAX_LISTED_CHANGES = 200

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}
.sub{color:#555;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}.card span{color:#555;font-size:12px}
.verdict{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
.ok{background:#2e7d32}.warn{background:#b26a00}.bad{background:#c62828}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:14px}
.panel{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:10px}
svg.chart{max-width:100%;height:auto}
table{border-collapse:collapse;background:#fff;font-size:13px}
td,th{border:1px solid #dde2e8;padding:4px 8px;text-align:left;vertical-align:top}
td.n{text-align:right}
code{font-size:12px}
details{margin:4px 0}
"""


@dataclass(frozen=True)
class ChartData:
    documents_per_year: list[tuple[str, int]]
    turns_per_year: list[tuple[str, int]]
    top_speakers: list[tuple[str, int]]
    pages_per_section: list[tuple[str, int]]


def _fill_years(rows: Iterable[tuple[int, int]]) -> list[tuple[str, int]]:
    """Every year from the first to the last, 0 where there is none (a gap is data too)."""
    values = dict(rows)
    if not values:
        return []
    return [(str(y), int(values.get(y, 0))) for y in range(min(values), max(values) + 1)]


def chart_data(release: Release) -> ChartData:
    con = duck.connect(release.db_path, read_only=True)
    try:
        yearly = con.execute("SELECT year, documents, turns FROM yearly_counts ORDER BY year").fetchall()
        speakers = con.execute(
            "SELECT coalesce(person_name, person_id), turns FROM speaker_totals "
            f"ORDER BY turns DESC, person_id LIMIT {TOP_N}"
        ).fetchall()
        sections = con.execute(
            "SELECT section, count(*) AS n FROM (SELECT unnest(sections) AS section FROM documents) "
            f"GROUP BY section ORDER BY n DESC, section LIMIT {TOP_N}"
        ).fetchall()
    finally:
        con.close()
    return ChartData(
        documents_per_year=_fill_years((y, d) for y, d, _ in yearly),
        turns_per_year=_fill_years((y, int(t or 0)) for y, _, t in yearly),
        top_speakers=[(str(n), int(v)) for n, v in speakers],
        pages_per_section=[(str(s), int(n)) for s, n in sections],
    )


def _card(value: object, label: str) -> str:
    shown = f"{value:,}" if isinstance(value, int) else escape(str(value))
    return f"<div class='card'><b>{shown}</b><span>{escape(label)}</span></div>"


def _changes_html(release: Release, changes: list[DocumentChange] | None) -> str:
    if release.parent is None:
        return "<p>First version: no parent to compare with.</p>"
    if changes is None:
        return (
            f"<p>Changes since <code>{escape(release.parent)}</code> were not computed for this release.</p>"
        )
    counts = Counter(c.change for c in changes)
    head = (
        f"<p>Since <code>{escape(release.parent)}</code>: <b>{counts['added']:,}</b> added, "
        f"<b>{counts['removed']:,}</b> removed, <b>{counts['changed']:,}</b> changed documents.</p>"
    )
    if not changes:
        return head
    rows = "".join(
        f"<tr><td>{escape(c.change)}</td><td><code>{escape(c.doc_id)}</code></td><td>{escape(c.title)}</td>"
        f"<td>{escape(', '.join(c.fields))}</td></tr>"
        for c in changes[:MAX_LISTED_CHANGES]
    )
    more = (
        f"<p>… and {len(changes) - MAX_LISTED_CHANGES:,} more.</p>"
        if len(changes) > MAX_LISTED_CHANGES
        else ""
    )
    return (
        head + "<details><summary>List of changed documents</summary><table>"
        "<tr><th>change</th><th>doc_id</th><th>title</th><th>changed fields</th></tr>"
        f"{rows}</table>{more}</details>"
    )


def _quality_html(release: Release) -> str:
    q = release.quality
    # Colour from the facts, not the wording of the verdict.
    tone = "bad" if not q.passed else "warn" if q.failed_warning or release.quarantined() else "ok"
    parts = [f"<p>Quality gate: <span class='verdict {tone}'>{escape(q.verdict)}</span>"]
    if q.failed_critical:
        parts.append(f" — failed critical: {escape(', '.join(q.failed_critical))}")
    if q.failed_warning:
        parts.append(f" — warnings: {escape(', '.join(q.failed_warning))}")
    parts.append(" (<a href='quality/report.html'>report</a>)</p>")
    quarantined = release.quarantined()
    if quarantined:
        rows = "".join(
            f"<tr><td><code>{escape(r.source_file)}</code></td><td>{escape(r.reason)}</td>"
            f"<td>{escape(r.stage or '')}</td></tr>"
            for r in quarantined
        )
        parts.append(
            f"<p>{len(quarantined):,} file(s) quarantined by the quality gate:</p>"
            f"<table><tr><th>source file</th><th>reason</th><th>stage</th></tr>{rows}</table>"
        )
    else:
        parts.append("<p>No file was quarantined by the quality gate.</p>")
    return "".join(parts)


def release_files(version_dir: Path, extra: Iterable[str] = ()) -> list[tuple[str, int | None]]:
    """(relative path, size) of every file of the release; ``extra`` names files still to come."""
    found: dict[str, int | None] = {}
    for dirpath, dirnames, filenames in os.walk(version_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            found[str(path.relative_to(version_dir))] = path.stat().st_size
    for name in extra:
        found.setdefault(name, None)
    return sorted(found.items())


def _size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return ""


def _files_html(files: list[tuple[str, int | None]]) -> str:
    top = [(p, s) for p, s in files if "/" not in p]
    nested: dict[str, list[tuple[str, int | None]]] = {}
    for p, s in files:
        if "/" in p:
            parts = p.split("/")
            group = "/".join(parts[:2]) if parts[0] == "parquet" and len(parts) > 2 else parts[0]
            nested.setdefault(group, []).append((p, s))

    def links(items: list[tuple[str, int | None]]) -> str:
        return "".join(
            f"<li><a href='{escape(p, quote=True)}'>{escape(p)}</a> <small>{_size(s)}</small></li>"
            for p, s in items
        )

    out = [f"<ul>{links(top)}</ul>"]
    for group, items in nested.items():
        out.append(
            f"<details><summary>{escape(group)}/ ({len(items)} files)</summary><ul>{links(items)}</ul></details>"
        )
    return "".join(out)


def render_page(release: Release, changes: list[DocumentChange] | None, data: ChartData) -> str:
    r = release
    cards = "".join(_card(n, t) for t, n in r.row_counts.items())
    status = "".join(_card(n, f"files {s}") for s, n in r.by_status.items())
    chart_panels = [
        charts.column_chart("Documents per year (event date)", data.documents_per_year),
        charts.column_chart("Speech turns per year", data.turns_per_year),
        charts.bar_chart(f"Top {TOP_N} speakers by speech turns", data.top_speakers),
        charts.bar_chart(f"Pages per site section (top {TOP_N})", data.pages_per_section),
    ]
    panels = "".join(f"<div class='panel'>{svg}</div>" for svg in chart_panels)
    files = release_files(r.version_dir, extra=[MANIFEST_FILENAME, PAGE_FILENAME])
    # Versions are siblings under versions/: the parent's page is one folder up (while kept).
    parent = (
        f"<a href='../{escape(r.parent, quote=True)}/{PAGE_FILENAME}'><code>{escape(r.parent)}</code></a>"
        if r.parent
        else "none"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(TITLE)} — {escape(r.version_id)}</title>
<style>{_CSS}</style></head>
<body><main>
<h1>{escape(TITLE)} — <code>{escape(r.version_id)}</code></h1>
<p class="sub">Created {r.created_at:%Y-%m-%d %H:%M:%S} UTC · parent {parent} · contract schema
{escape(r.schema_version)} · text from <a href="{SOURCE_URL}">{escape(SOURCE_NAME)}</a>,
<a href="{LICENSE_URL}">{escape(LICENSE_NAME)}</a></p>
<h2>Quality</h2>
{_quality_html(r)}
<h2>Counts</h2>
<div class="cards">{cards}</div>
<div class="cards" style="margin-top:8px">{status}</div>
<h2>What changed</h2>
{_changes_html(r, changes)}
<h2>Charts</h2>
<div class="grid">{panels}</div>
<h2>Files</h2>
{_files_html(files)}
</main></body></html>
"""


def write_page(release: Release, changes: list[DocumentChange] | None) -> list[Path]:
    path = release.version_dir / PAGE_FILENAME
    path.write_text(render_page(release, changes, chart_data(release)), encoding="utf-8")
    return [path]
