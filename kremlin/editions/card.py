"""README.md: a Hugging Face dataset card (YAML front matter) over the version's Markdown card.

The front matter's ``configs`` point the Hub's viewer and SQL console at the Parquet
files exactly as published (one config per table, globs taken from the release layout),
so the version folder can be pushed to a Hub dataset repository as it is.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

import duckdb

from kremlin.analyst import VIEWS
from kremlin.editions.release import (
    LICENSE_ID,
    LICENSE_NAME,
    SOURCE_NAME,
    SOURCE_URL,
    TITLE,
    Release,
)
from kremlin.versions import DB_FILENAME, MANIFEST_FILENAME

CARD_FILENAME = "README.md"
DEFAULT_CONFIG = "documents"

# Hugging Face's size buckets (number of examples of the default config).
_SIZE_BUCKETS = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
]

# What each optional file of a release is, for the Contents table (in this order).
FILE_ROLES = {
    DB_FILENAME: f"DuckDB {duckdb.__version__} database: all tables, documented views, full-text index",
    "parquet/": "the same tables as zstd Parquet (documents, paragraphs, utterances partitioned by `year`)",
    "kremlin.sqlite": "SQLite copy of the tables and views with FTS5 search, for Datasette and any SQLite client",
    "metadata.json": "Datasette metadata: title, licence, source, every table and column described",
    "croissant.json": "MLCommons Croissant 1.0 description (JSON-LD) of the Parquet files",
    "datapackage.json": "Frictionless Data Package v2: one resource per table (read from kremlin.sqlite), types and keys",
    "index.html": "release page: counts, quality verdict, changes since the parent, charts",
    "quality/": "quality-gate reports for this build",
    MANIFEST_FILENAME: "version id, parent, code version, fingerprints, row counts, quality, lineage",
}


def size_category(n: int) -> str:
    for limit, label in _SIZE_BUCKETS:
        if n < limit:
            return label
    return "n>100M"


def _yaml_scalar(value: object) -> str:
    # A JSON string, number or boolean is also a valid YAML scalar: no YAML library
    # needed and no quoting rule of our own to get wrong.
    return json.dumps(value, ensure_ascii=False)


def to_yaml(value: object, indent: int = 0) -> str:
    """Block-style YAML for the nested dicts, lists and scalars of the front matter."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict | list) and v:
                lines.append(f"{pad}{k}:")
                lines.append(to_yaml(v, indent + (0 if isinstance(v, list) else 2)))
            else:
                lines.append(f"{pad}{k}: {_yaml_scalar(v) if not isinstance(v, dict | list) else '[]'}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                body = to_yaml(item, indent + 2).lstrip()
                lines.append(f"{pad}- {body}")
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    else:
        lines.append(pad + _yaml_scalar(value))
    return "\n".join(lines)


def front_matter(release: Release) -> dict:
    configs = []
    for t in release.tables:
        config: dict[str, object] = {
            "config_name": t.name,
            "data_files": [{"split": "train", "path": release.parquet_glob(t.name)}],
        }
        if t.name == DEFAULT_CONFIG:
            config["default"] = True
        configs.append(config)
    return {
        "license": LICENSE_ID,
        "language": ["en"],
        "pretty_name": f"{TITLE} (en.kremlin.ru)",
        "size_categories": [size_category(release.row_counts.get(DEFAULT_CONFIG, 0))],
        "task_categories": ["text-retrieval", "summarization", "text-classification"],
        "tags": ["transcripts", "speeches", "politics", "government", "russia", "kremlin"],
        "annotations_creators": ["machine-generated"],
        "language_creators": ["found"],
        "multilinguality": ["monolingual"],
        "source_datasets": ["original"],
        "configs": configs,
    }


def _fmt_counts(row_counts: dict[str, int]) -> str:
    lines = ["| table | rows |", "| --- | ---: |"]
    lines += [f"| `{table}` | {n:,} |" for table, n in row_counts.items()]
    return "\n".join(lines)


def _contents(release: Release, upcoming: Collection[str]) -> str:
    lines = ["| path | what |", "| --- | --- |"]
    for name, role in FILE_ROLES.items():
        if (release.version_dir / name.rstrip("/")).exists() or name in upcoming:
            lines.append(f"| `{name}` | {role} |")
    return "\n".join(lines)


def card_body(
    release: Release, upcoming: Collection[str] = (), *, code_package: str = "kremlin-dataset"
) -> str:
    """Markdown body; ``upcoming`` names files written after the card (page, manifest)."""
    r = release
    table_lines = "\n".join(f"- `{t.name}`: {t.description}" for t in r.tables)
    view_lines = "\n".join(f"- `{v}`: {' '.join(d.split())}" for v, (d, _, _) in VIEWS.items())
    n_docs = r.row_counts.get("documents")
    size = "" if n_docs is None else f" This version holds {n_docs:,} event page{'' if n_docs == 1 else 's'}."
    hf_lines = "\n".join(f"  - `{t.name}`: `{r.parquet_glob(t.name)}`" for t in r.tables)
    parent = f"`{r.parent}`" if r.parent else "none (first version)"
    commit = f"`{r.code_commit}`" if r.code_commit else "unknown"
    return f"""# {TITLE} — version `{r.version_id}`

A curated dataset of the event pages ("Events" section) of **en.kremlin.ru**, the
English-language President of Russia website: titles, dates, places, footer tags,
body paragraphs, speech turns with resolved speakers, and persons.{size}

- Version: `{r.version_id}` (created {r.created_at:%Y-%m-%d %H:%M:%S} UTC, parent {parent})
- Contract schema version: `{r.schema_version}`
- Code: `{code_package}` {r.code_version or ""}, commit {commit}
- Dataset fingerprint (sha256 of all table content): `{r.dataset_fingerprint}`
- Quality gate: **{r.quality.verdict}**

## Source and licence

All text comes from the President of Russia website, <{SOURCE_URL}>,
whose content is published under the **{LICENSE_NAME}**
licence. This dataset is redistributed under the same **CC BY 4.0** licence: when you
use it, credit **{SOURCE_NAME}** as the source of the
text, and this dataset as the source of its structure. The text is reproduced as
published; parsing, normalisation and person resolution are ours and may contain
errors. The code that builds it is MIT-licensed.

## How to cite

See `CITATION.cff` in the code repository (and `citeAs` in `croissant.json`); please
name the version id `{r.version_id}` and credit en.kremlin.ru.

## Contents

{_contents(r, upcoming)}

Row counts:

{_fmt_counts(r.row_counts)}

Tables (every table and column is documented in the database: `duckdb_columns().comment`,
in `metadata.json` for Datasette, in `croissant.json` and in `datapackage.json`):

{table_lines}

Views (in `kremlin.duckdb`, and with the same names and columns in `kremlin.sqlite`):

{view_lines}

## Using it elsewhere

- **Hugging Face Hub**: this README's front matter declares one config per table
  (`default` is `documents`), reading the Parquet files as they are:
{hf_lines}
- **Croissant** (`croissant.json`): one FileSet and one RecordSet per table, with keys and
  references; `mlcroissant validate --jsonld croissant.json`.
- **Frictionless** (`datapackage.json`, Data Package v2): one resource per table with
  types, descriptions, primary and foreign keys; run `frictionless validate datapackage.json`
  from this folder. Frictionless cannot read a Hive-partitioned folder, and its Parquet
  reader (through pandas) turns a NULL integer into NaN and a list into a numpy array,
  which its own checks then reject; so the resources read the same tables from
  `kremlin.sqlite` (a read-only `sqlite:///` URL, resolved against the working folder),
  and each names its Parquet files in `kremlin:parquet` for readers that want those.
- **Datasette / SQLite** (`kremlin.sqlite`, `metadata.json`):
  `datasette kremlin.sqlite --metadata metadata.json` (or `make explore` in the code
  repository); the search box of `paragraphs` and `utterances` uses their FTS5 indexes.
  Lists are JSON arrays, dates and times ISO 8601 text (instants in UTC), booleans 0/1.

## How to query

```sql
-- duckdb -readonly kremlin.duckdb
SELECT event_date, title FROM documents ORDER BY event_date DESC LIMIT 10;

-- who spoke most, per year
SELECT year(event_date) AS year, person_name, sum(words) AS words
FROM document_speakers GROUP BY ALL QUALIFY row_number() OVER (PARTITION BY year ORDER BY words DESC) <= 3
ORDER BY year;

-- column documentation
SELECT table_name, column_name, comment FROM duckdb_columns() WHERE NOT internal;

-- full-text search (BM25): needs the fts extension at query time only
LOAD fts;
SELECT p.doc_id, p.paragraph_index, p.text,
       fts_main_paragraphs_search.match_bm25(s.search_id, 'energy security') AS score
FROM paragraphs_search AS s JOIN paragraphs AS p USING (doc_id, paragraph_index)
WHERE score IS NOT NULL ORDER BY score DESC LIMIT 10;
```

The database opens without the fts extension; only `match_bm25` needs `LOAD fts`
(from Python, `kremlin.analyst.load_fts(con)` loads the copy in the
`duckdb-extension-fts` package offline, and `kremlin.analyst.search(con, "…")` wraps the
query above for paragraphs and speech turns).

From Parquet, without the database (a year folder may hold several part files, shared
with earlier versions: read with `ORDER BY` the table's key for a stable row order):

```sql
SELECT year, count(*) FROM read_parquet('{r.parquet_glob("paragraphs")}', hive_partitioning = true)
GROUP BY year ORDER BY year;
SELECT * FROM '{r.parquet_glob("persons")}' LIMIT 5;
```
"""


def render_card(release: Release, upcoming: Collection[str] = ()) -> str:
    return "---\n" + to_yaml(front_matter(release)) + "\n---\n\n" + card_body(release, upcoming)


def write_card(release: Release, upcoming: Collection[str] = (MANIFEST_FILENAME,)) -> list[Path]:
    path = release.version_dir / CARD_FILENAME
    path.write_text(render_card(release, upcoming), encoding="utf-8")
    return [path]
