"""Render docs/data-dictionary.md from the pydantic contract, so the two cannot drift.

``kremlin dictionary --out docs/data-dictionary.md`` writes it; a test fails when the
committed file differs from what the models generate.
"""

from __future__ import annotations

import inspect

from kremlin import build, ids, instants
from kremlin.analyst import VIEWS
from kremlin.contract import columns, enum_values
from schemas.tables import SCHEMA_VERSION, TABLES

_INTRO = """\
# Data dictionary

Generated from the pydantic models in `schemas/tables.py` (contract schema {schema})
by `kremlin dictionary --out docs/data-dictionary.md`; a test checks it is current.

Every published version holds these tables, in `kremlin.duckdb` and as Parquet
(`parquet/<table>.parquet`, or Hive partitions `parquet/<table>/year=YYYY/` for
documents, paragraphs and utterances; a year holds one or more `part-<n>.parquet` files,
shared between versions: read with ORDER BY the table's key for a stable row order).
Text from en.kremlin.ru is CC BY 4.0.

## Rules that hold across tables

**Document ids.** {doc_id_rule}

**Duplicates.** {duplicate_rule}

**Times.** {time_rule} `TIMESTAMPTZ` columns hold instants (stored as UTC); `event_time`
is the wall-clock time as printed.

**Text.** Strings are NFC with NBSP turned into plain spaces and runs of white space
collapsed. Control characters other than white space (U+0000–U+0008, U+000E–U+001F,
U+007F–U+009F but U+0085: terminal escapes, bells) and bidirectional embeddings, overrides and isolates
(U+202A–U+202E, U+2066–U+2069: they make the text after them display in another order)
are removed from every field. Typographic quotes and dashes are kept as published.
Zero-width characters (U+200B…), soft hyphens (U+00AD) and direction marks (U+200E,
U+200F, U+061C) are removed from every field except body text (`paragraphs.text`,
`utterances.text`), where they are kept exactly as the site publishes them so that the
text matches the page character for character (removing them would change the text of
36 pages against the site's own markup).
Full-text search treats them as word breaks.

**People.** `persons.person_id` is a slug of the canonical name (`vladimir-putin`), with
`-2`, `-3`… for namesakes; ids of a published version are passed to the next run and
never change. `document_persons` keeps every piece of evidence (footer tag or speaker
label) with the text as printed.
"""


def render() -> str:
    out = [
        _INTRO.format(
            schema=SCHEMA_VERSION,
            doc_id_rule=ids.DOC_ID_RULE,
            duplicate_rule=build.DUPLICATE_RULE,
            time_rule=instants.TIME_RULE,
        )
    ]
    for table, model in TABLES.items():
        out.append(f"## `{table}`\n")
        out.append(" ".join((inspect.getdoc(model) or "").split()) + "\n")
        out.append("| column | type | null | description |")
        out.append("|---|---|---|---|")
        for c in columns(model):
            desc = c.description
            values = enum_values(model, c.name)
            if values:
                desc += " Values: " + ", ".join(f"`{v}`" for v in values) + "."
            key = " (key)" if c.pk else ""
            null = "yes" if c.nullable else "no"
            out.append(f"| `{c.name}`{key} | {c.sql_type} | {null} | {desc.replace('|', '/')} |")
        out.append("")
    out.append("## Views (in `kremlin.duckdb`)\n")
    out.append("Created by `kremlin.analyst.enrich_database`; every view and column carries a `COMMENT`.\n")
    for name, (description, _cols, _sql) in VIEWS.items():
        out.append(f"- `{name}`: {' '.join(description.split())}")
    out.append("")
    return "\n".join(out).rstrip() + "\n"
