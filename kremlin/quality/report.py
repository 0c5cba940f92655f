"""Static, self-contained HTML report of a quality-gate run (inline CSS, no scripts, no links)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kremlin.quality.gate import GateResult

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .3em}
.verdict{display:inline-block;padding:.3em .8em;border-radius:4px;font-weight:bold;color:#fff}
.v-pass{background:#2e7d32}.v-warn{background:#b26a00}.v-fail{background:#c62828}
.meta{color:#555;margin:.6em 0 1em}
table{border-collapse:collapse;width:100%;margin-top:.8em}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3;position:sticky;top:0}
td.obs{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-word}
tr.fail-critical td{background:#fde0e0}
tr.fail-warning td{background:#fff3d6}
.ok{color:#2e7d32;font-weight:bold}.bad{color:#c62828;font-weight:bold}
.desc{color:#666;font-size:12px}
table.counts{width:auto}
h2{font-size:1.1em;margin:1.2em 0 .2em}
"""


def _verdict_class(result: GateResult) -> str:
    if not result.passed:
        return "v-fail"
    return "v-warn" if result.warnings else "v-pass"


def render_html(result: GateResult) -> str:
    meta = result.meta
    rows = []
    order = sorted(
        enumerate(result.checks),
        key=lambda ic: (ic[1].success, ic[1].severity != "critical", ic[0]),
    )
    for i, (_, c) in enumerate(order, 1):
        cls = "" if c.success else f' class="fail-{c.severity}"'
        status = '<span class="ok">pass</span>' if c.success else '<span class="bad">FAIL</span>'
        rows.append(
            f"<tr{cls}><td>{i}</td><td>{escape(c.table)}</td><td>{escape(c.column or '')}</td>"
            f"<td>{escape(c.expectation)}<div class=desc>{escape(c.name)}: {escape(c.description)}</div></td>"
            f"<td>{escape(c.scope)}</td><td>{escape(c.severity)}</td><td>{status}</td>"
            f"<td class=obs>{escape(c.observed)}</td></tr>"
        )
    counts = "".join(
        f"<tr><td>{escape(t)}</td><td>{n:,}</td><td>{escape(str(prev.get(t, '')))}</td></tr>"
        for prev in [meta.get("previous_row_counts") or {}]
        for t, n in result.row_counts.items()
    )
    quarantined = "".join(
        f"<tr><td>{escape(q.source_file)}</td><td>{escape(q.reason)}</td><td class=obs>{escape(q.message)}</td></tr>"
        for q in result.quarantined
    )
    quarantine_table = (
        f"<h2>Quarantined files ({len(result.quarantined)})</h2><p class=desc>Documents that failed a row-level "
        "check are left out of the release; their files are rejected with the check's name as reason.</p>"
        f"<table><tr><th>file</th><th>reason</th><th>check and value</th></tr>{quarantined}</table>"
        if result.quarantined
        else "<p>No file quarantined.</p>"
    )
    n_ok = sum(c.success for c in result.checks)
    info = (
        f"database {escape(str(meta.get('db_path', '')))} · checked {escape(str(meta.get('generated_at', '')))}"
        f" · today {escape(str(meta.get('today', '')))} · {meta.get('seconds', '?')} s"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Quality gate: {escape(result.verdict)}</title>
<style>{_CSS}</style></head>
<body>
<h1>Data quality report</h1>
<div><span class="verdict {_verdict_class(result)}">{escape(result.verdict)}</span>
 {len(result.checks)} checks: {n_ok} passed, {len(result.critical_failures)} critical failures,
 {len(result.warnings)} warnings, {len(result.quarantined)} file(s) quarantined</div>
<div class="meta">{info}</div>
<table class="counts"><tr><th>table</th><th>rows</th><th>previous</th></tr>{counts}</table>
{quarantine_table}
<table>
<tr><th>#</th><th>table</th><th>column</th><th>expectation</th><th>scope</th><th>severity</th><th>result</th><th>observed</th></tr>
{chr(10).join(rows)}
</table>
</body></html>
"""


def write_report(result: GateResult, path: Path) -> Path:
    path = Path(path)
    path.write_text(render_html(result), encoding="utf-8")
    return path
