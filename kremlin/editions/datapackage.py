"""datapackage.json: a Frictionless Data Package (v2) with one resource per table.

Frictionless cannot read this release's Parquet correctly: it has no reader for a
Hive-partitioned folder (its multipart paths concatenate bytes, which is meaningless
for Parquet), and its Parquet reader goes through pandas, where a nullable integer
becomes a float NaN and a list a numpy array, both rejected by its own type checks.
What it reads exactly is SQL, so each resource is the table of the same name in
``kremlin.sqlite`` (the ``sqlite`` edition, built from the same database; no extra copy
of the data). SQLAlchemy resolves the file of a ``sqlite:///`` URL against the working
directory, so validate from the version folder: ``frictionless validate datapackage.json``.
Each resource also names its Parquet files (``kremlin:parquet``, a glob) for readers
that take the schema from here and the data from Parquet.
"""

from __future__ import annotations

import json
from pathlib import Path

from kremlin.contract import Column, enum_values
from kremlin.editions.release import (
    DESCRIPTION,
    LICENSE_ID,
    LICENSE_NAME,
    LICENSE_URL,
    SOURCE_NAME,
    SOURCE_URL,
    TITLE,
    Release,
    TableInfo,
)
from kremlin.editions.sqlite import SQLITE_FILENAME
from schemas.tables import TABLES

DATAPACKAGE_FILENAME = "datapackage.json"
PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
RESOURCE_PROFILE = "https://datapackage.org/profiles/2.0/dataresource.json"
SCHEMA_PROFILE = "https://datapackage.org/profiles/2.0/tableschema.json"
# Read-only SQLite URI: validating never writes, and from the wrong folder it fails with
# "unable to open database file" instead of creating an empty database there.
SQL_PATH = f"sqlite:///file:{SQLITE_FILENAME}?mode=ro&uri=true"

_TYPES = {
    "VARCHAR": "string",
    "VARCHAR[]": "array",  # a JSON array in SQLite, which Table Schema's array type reads
    "BOOLEAN": "boolean",
    "INTEGER": "integer",
    "BIGINT": "integer",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMPTZ": "datetime",
}


def _reject_reasons() -> list[str]:
    from kremlin.quality.suites import quality_reasons

    return quality_reasons()


# Columns whose allowed values are more than their Literal: a file quarantined by a row
# check is rejected with reason 'quality:<check>' (schemas.tables.QUALITY_REASON_PREFIX).
_ENUM_OVERRIDES = {("source_files", "reject_reason"): _reject_reasons}


def field_type(column: Column) -> str:
    return _TYPES[column.sql_type]


def _field(table: TableInfo, column: Column) -> dict:
    out: dict[str, object] = {
        "name": column.name,
        "type": field_type(column),
        "description": column.description,
    }
    constraints: dict[str, object] = {}
    if not column.nullable:
        constraints["required"] = True
    values = (
        _ENUM_OVERRIDES[(table.name, column.name)]() if (table.name, column.name) in _ENUM_OVERRIDES else None
    )
    values = values or enum_values(TABLES[table.name], column.name)
    if values:
        constraints["enum"] = values
    if constraints:
        out["constraints"] = constraints
    return out


def _resource(release: Release, table: TableInfo) -> dict:
    schema: dict[str, object] = {
        "$schema": SCHEMA_PROFILE,
        "fields": [_field(table, c) for c in table.columns],
        # SQL has real NULLs: an empty string is a value (an empty speech turn), not missing.
        "missingValues": [],
    }
    if table.primary_key:
        schema["primaryKey"] = table.primary_key
    if table.foreign_keys:
        schema["foreignKeys"] = [
            {"fields": [fk.column], "reference": {"resource": fk.table, "fields": [fk.column]}}
            for fk in table.foreign_keys
        ]
    return {
        "$schema": RESOURCE_PROFILE,
        "name": table.name,
        "type": "table",
        "title": table.name,
        "description": table.description,
        "path": SQL_PATH,
        "format": "sql",
        "dialect": {"sql": {"table": table.name}},
        "schema": schema,
        "kremlin:parquet": release.parquet_glob(table.name),
    }


def datapackage_document(release: Release) -> dict:
    return {
        "$schema": PROFILE,
        "name": "kremlin-events-transcripts",
        "title": TITLE,
        "description": DESCRIPTION,
        "version": release.schema_version,
        "id": release.version_id,
        "created": release.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "homepage": SOURCE_URL,
        "licenses": [{"name": LICENSE_ID.upper(), "path": LICENSE_URL, "title": LICENSE_NAME}],
        "sources": [{"title": SOURCE_NAME, "path": SOURCE_URL}],
        "keywords": ["transcripts", "speeches", "politics", "Kremlin", "Russia"],
        "resources": [_resource(release, t) for t in release.tables],
    }


def write_datapackage(release: Release) -> list[Path]:
    if not (release.version_dir / SQLITE_FILENAME).is_file():
        raise FileNotFoundError(
            f"the datapackage edition reads {SQLITE_FILENAME}: build the sqlite edition first"
        )
    path = release.version_dir / DATAPACKAGE_FILENAME
    path.write_text(
        json.dumps(datapackage_document(release), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return [path]
