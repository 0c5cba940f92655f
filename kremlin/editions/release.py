"""What every edition needs to know about one version folder, read once.

``Release`` is built from the manifest dict (as publish is about to write it) and the
files already in the folder; the table layer (``TableInfo``) comes from the contract in
``schemas.tables`` so no edition keeps its own copy of a column list, a description, a
key or a Parquet path.
"""

from __future__ import annotations

import datetime as dt
import inspect
from dataclasses import dataclass, field
from pathlib import Path

from kremlin.contract import Column, columns
from kremlin.versions import DB_FILENAME, MANIFEST_FILENAME
from schemas.tables import QUALITY_REASON_PREFIX, SCHEMA_VERSION, TABLES

PARQUET_DIR = "parquet"
SOURCE_URL = "https://en.kremlin.ru/events"
SOURCE_NAME = "en.kremlin.ru (President of Russia website)"
LICENSE_ID = "cc-by-4.0"
LICENSE_NAME = "Creative Commons Attribution 4.0 International (CC BY 4.0)"
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
TITLE = "Kremlin events transcripts"
DESCRIPTION = (
    "A curated dataset of the event pages (Events section) of en.kremlin.ru, the "
    "English-language President of Russia website: titles, dates, places, footer tags, "
    "body paragraphs, speech turns with resolved speakers, and persons."
)


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str  # referenced table; the referenced column has the same name


@dataclass(frozen=True)
class TableInfo:
    name: str
    description: str
    columns: list[Column]
    primary_key: list[str]
    foreign_keys: list[ForeignKey]
    partitioned: bool


def table_description(table: str) -> str:
    return " ".join((inspect.getdoc(TABLES[table]) or table).split())


def _single_keys() -> dict[str, str]:
    """Column name -> table whose whole primary key is that one column."""
    out = {}
    for table, model in TABLES.items():
        pk = [c.name for c in columns(model) if c.pk]
        if len(pk) == 1:
            out[pk[0]] = table
    return out


def foreign_keys(table: str) -> list[ForeignKey]:
    """References derived from the contract's naming rule.

    A column that carries the same name as another table's single-column primary key
    (doc_id, person_id, source_file) refers to that table. Deriving it keeps the
    contract the one home of the relations instead of a hand-kept list per format.
    """
    keys = _single_keys()
    return [
        ForeignKey(c.name, keys[c.name])
        for c in columns(TABLES[table])
        if c.name in keys and keys[c.name] != table
    ]


def table_infos(partitioned: set[str]) -> list[TableInfo]:
    out = []
    for table, model in TABLES.items():
        cols = columns(model)
        out.append(
            TableInfo(
                name=table,
                description=table_description(table),
                columns=cols,
                primary_key=[c.name for c in cols if c.pk],
                foreign_keys=foreign_keys(table),
                partitioned=table in partitioned,
            )
        )
    return out


@dataclass(frozen=True)
class Quality:
    verdict: str
    passed: bool
    failed_critical: list[str]
    failed_warning: list[str]


@dataclass(frozen=True)
class RejectedFile:
    source_file: str
    reason: str
    stage: str | None


@dataclass(frozen=True)
class Release:
    """One version folder and the facts of its manifest the editions use."""

    version_dir: Path
    version_id: str
    created_at: dt.datetime
    parent: str | None
    schema_version: str
    row_counts: dict[str, int]
    quality: Quality
    by_status: dict[str, int]
    rejected_files: list[RejectedFile]
    dataset_fingerprint: str | None
    code_commit: str | None
    code_version: str | None
    parquet: dict[str, str]  # table -> path relative to parquet/ (a folder when partitioned)
    tables: list[TableInfo] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        return self.version_dir / DB_FILENAME

    def parquet_glob(self, table: str) -> str:
        """Glob, relative to the version folder, matching every Parquet file of ``table``."""
        rel = self.parquet[table]
        if (self.version_dir / PARQUET_DIR / rel).is_dir():
            # Hive partitions <table>/<key>=<value>/<part>.parquet, whatever the part names.
            return f"{PARQUET_DIR}/{rel}/*/*.parquet"
        return f"{PARQUET_DIR}/{rel}"

    def parquet_files(self, table: str) -> list[str]:
        """Relative paths of the table's Parquet files, sorted."""
        return sorted(
            str(p.relative_to(self.version_dir)) for p in self.version_dir.glob(self.parquet_glob(table))
        )

    def quarantined(self) -> list[RejectedFile]:
        """Files the quality gate set aside (reason 'quality:…'), as opposed to parse rejects."""
        return [r for r in self.rejected_files if r.reason.startswith(QUALITY_REASON_PREFIX)]

    def table(self, name: str) -> TableInfo:
        return next(t for t in self.tables if t.name == name)


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def release_from_manifest(version_dir: Path, manifest: dict) -> Release:
    """Typed view of ``manifest`` (the dict publish writes as manifest.json)."""
    from kremlin.analyst import PARTITIONED_TABLES

    quality = manifest["quality"]
    lineage = manifest.get("lineage") or {}
    code = manifest.get("code_version") or {}
    parquet = dict(manifest.get("parquet") or {})
    for table in TABLES:
        # An older manifest without the map: the layout export_parquet writes.
        parquet.setdefault(table, table if table in PARTITIONED_TABLES else f"{table}.parquet")
    return Release(
        version_dir=Path(version_dir),
        version_id=manifest["version_id"],
        created_at=_parse_time(manifest["created_at"]),
        parent=manifest.get("parent"),
        schema_version=manifest.get("schema_version", SCHEMA_VERSION),
        row_counts={t: int(n) for t, n in (manifest.get("row_counts") or {}).items()},
        quality=Quality(
            verdict=str(quality["verdict"]),
            passed=bool(quality["passed"]),
            failed_critical=list(quality.get("failed_critical") or []),
            failed_warning=list(quality.get("failed_warning") or []),
        ),
        by_status=dict(lineage.get("by_status") or {}),
        rejected_files=[
            RejectedFile(r["source_file"], str(r.get("reason") or ""), r.get("stage"))
            for r in lineage.get("rejected_files") or []
        ],
        dataset_fingerprint=manifest.get("dataset_fingerprint"),
        code_commit=code.get("git_commit"),
        code_version=code.get("version"),
        parquet=parquet,
        tables=table_infos(set(PARTITIONED_TABLES)),
    )


__all__ = ["DB_FILENAME", "MANIFEST_FILENAME", "Release", "TableInfo", "release_from_manifest"]
