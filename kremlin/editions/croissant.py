"""croissant.json: an MLCommons Croissant 1.0 (JSON-LD) description of the Parquet files.

One FileSet per table (a glob over its Parquet files) and one RecordSet per table with
every contract column, its dataType, the primary key and ``references`` for foreign
keys. ``mlcroissant validate --jsonld croissant.json`` checks it.
"""

from __future__ import annotations

import json
from pathlib import Path

from kremlin.contract import Column
from kremlin.editions.release import (
    DESCRIPTION,
    LICENSE_URL,
    SOURCE_NAME,
    SOURCE_URL,
    TITLE,
    Release,
    TableInfo,
)

CROISSANT_FILENAME = "croissant.json"
CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
PARQUET_MIME = "application/x-parquet"

# The standard Croissant 1.0 @context (as mlcroissant and the Hub write it).
CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

_DATA_TYPES = {
    "VARCHAR": "sc:Text",
    "VARCHAR[]": "sc:Text",
    "BOOLEAN": "sc:Boolean",
    "INTEGER": "sc:Integer",
    "BIGINT": "sc:Integer",
    "DATE": "sc:Date",
    "TIME": "sc:Time",
    "TIMESTAMPTZ": "sc:DateTime",
}


def data_type(column: Column) -> str:
    return _DATA_TYPES[column.sql_type]


def _file_set_id(table: str) -> str:
    return f"{table}-parquet"


def _field(table: TableInfo, column: Column, refs: dict[str, str]) -> dict:
    out: dict[str, object] = {
        "@type": "cr:Field",
        "@id": f"{table.name}/{column.name}",
        "name": column.name,
        "description": column.description,
        "dataType": data_type(column),
        "source": {
            "fileSet": {"@id": _file_set_id(table.name)},
            "extract": {"column": column.name},
        },
    }
    if column.sql_type.endswith("[]"):
        out["repeated"] = True
    if column.name in refs:
        out["references"] = {"field": {"@id": f"{refs[column.name]}/{column.name}"}}
    return out


def acyclic_references(tables: list[TableInfo]) -> dict[str, dict[str, str]]:
    """table -> {column: referenced table}, dropping references that would close a cycle.

    mlcroissant orders record sets by their references and cannot load a cyclic graph
    (documents.source_file -> source_files and source_files.doc_id -> documents), so the
    first reference in contract order wins; the relation still holds in the data.
    """
    edges: dict[str, set[str]] = {t.name: set() for t in tables}

    def reaches(start: str, goal: str) -> bool:
        todo, seen = [start], set()
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(edges[node])
        return False

    out: dict[str, dict[str, str]] = {t.name: {} for t in tables}
    for t in tables:
        for fk in t.foreign_keys:
            if not reaches(fk.table, t.name):
                edges[t.name].add(fk.table)
                out[t.name][fk.column] = fk.table
    return out


def _record_set(table: TableInfo, refs: dict[str, str]) -> dict:
    out: dict[str, object] = {
        "@type": "cr:RecordSet",
        "@id": table.name,
        "name": table.name,
        "description": table.description,
        "field": [_field(table, c, refs) for c in table.columns],
    }
    if table.primary_key:
        out["key"] = [{"@id": f"{table.name}/{k}"} for k in table.primary_key]
    return out


def cite_as(release: Release) -> str:
    year = release.created_at.year
    return (
        f"@misc{{kremlin_events_{release.version_id.split('-')[0].lower()},\n"
        f"  title = {{{TITLE}, version {release.version_id}}},\n"
        f"  note = {{Text from {SOURCE_NAME}, {SOURCE_URL}, licensed CC BY 4.0}},\n"
        f"  year = {{{year}}},\n"
        f"  howpublished = {{{SOURCE_URL}}}\n"
        "}"
    )


def croissant_document(release: Release) -> dict:
    refs = acyclic_references(release.tables)
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": "kremlin-events-transcripts",
        "alternateName": TITLE,
        "description": DESCRIPTION,
        "license": LICENSE_URL,
        "url": SOURCE_URL,
        "citeAs": cite_as(release),
        # Croissant wants MAJOR.MINOR.PATCH: the contract version; the release id is
        # the identifier.
        "version": release.schema_version,
        "identifier": release.version_id,
        "datePublished": release.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "inLanguage": "en",
        "creator": {"@type": "sc:Organization", "name": SOURCE_NAME, "url": SOURCE_URL},
        "isAccessibleForFree": True,
        "keywords": ["transcripts", "speeches", "politics", "Kremlin", "Russia"],
        "distribution": [
            {
                "@type": "cr:FileSet",
                "@id": _file_set_id(t.name),
                "name": _file_set_id(t.name),
                "description": f"Parquet files of the {t.name} table.",
                "encodingFormat": PARQUET_MIME,
                "includes": release.parquet_glob(t.name),
            }
            for t in release.tables
        ],
        "recordSet": [_record_set(t, refs[t.name]) for t in release.tables],
    }


def write_croissant(release: Release) -> list[Path]:
    path = release.version_dir / CROISSANT_FILENAME
    path.write_text(
        json.dumps(croissant_document(release), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return [path]
