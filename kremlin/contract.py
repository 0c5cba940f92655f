"""Derive SQL DDL and Arrow schemas from the pydantic table contract in ``schemas.tables``.

Keeping one source of truth means the DuckDB file, the Parquet files and the data
dictionary cannot disagree about a column's name, type or meaning.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from dataclasses import dataclass

import pyarrow as pa
from pydantic import BaseModel

from schemas.tables import TABLES


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    arrow_type: pa.DataType
    nullable: bool
    pk: bool
    description: str


_SCALARS: dict[object, tuple[str, pa.DataType]] = {
    str: ("VARCHAR", pa.string()),
    bool: ("BOOLEAN", pa.bool_()),
    int: ("BIGINT", pa.int64()),
    dt.date: ("DATE", pa.date32()),
    dt.time: ("TIME", pa.time64("us")),
    dt.datetime: ("TIMESTAMPTZ", pa.timestamp("us", tz="UTC")),
}
_SQL_TO_ARROW = {
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}


def _unwrap(annotation: object) -> tuple[object, bool]:
    """Return (inner type, nullable) for ``X | None``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0], len(args) < len(typing.get_args(annotation))
    return annotation, False


def columns(model: type[BaseModel]) -> list[Column]:
    out = []
    for name, field in model.model_fields.items():
        inner, nullable = _unwrap(field.annotation)
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if typing.get_origin(inner) is list:
            sql, arrow = "VARCHAR[]", pa.list_(pa.string())
        elif typing.get_origin(inner) is typing.Literal:
            sql, arrow = "VARCHAR", pa.string()
        else:
            sql, arrow = _SCALARS[inner]
        if extra.get("sql"):
            sql = str(extra["sql"])
            arrow = _SQL_TO_ARROW.get(sql, arrow)
        out.append(Column(name, sql, arrow, nullable, bool(extra.get("pk")), field.description or ""))
    return out


def enum_values(model: type[BaseModel], column: str) -> list[str] | None:
    """Allowed values of a Literal column (for checks and docs), else None."""
    inner, _ = _unwrap(model.model_fields[column].annotation)
    if typing.get_origin(inner) is typing.Literal:
        return [str(v) for v in typing.get_args(inner)]
    return None


def ddl(table: str, *, primary_key: bool = False) -> str:
    """CREATE TABLE for a contract table.

    Keys are not declared by default: uniqueness is a quality-gate check (which reports
    every offending row) rather than an insert error that would abort the build.
    """
    cols = columns(TABLES[table])
    lines = [f"  {c.name} {c.sql_type}{'' if c.nullable else ' NOT NULL'}" for c in cols]
    pk = [c.name for c in cols if c.pk]
    if pk and primary_key:
        lines.append(f"  PRIMARY KEY ({', '.join(pk)})")
    return f"CREATE TABLE {table} (\n" + ",\n".join(lines) + "\n)"


def arrow_schema(table: str) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in columns(TABLES[table])])
