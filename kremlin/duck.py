"""DuckDB connections for the pipeline's heavy steps, with a bounded memory budget.

DuckDB would otherwise take up to 80 % of RAM for its buffers; the pipeline must stay
well under 1 GB however large the corpus, so every step works within a budget and spills
to a temp folder beside the database when it needs more. DuckDB also keeps the blocks it
read cached up to its limit, so the limit is what a step adds to its process, whatever it
does: each step gets the smallest budget that does not slow it (measured at 10x the
corpus, docs/benchmarks.md). ``KREMLIN_DUCKDB_MEMORY``, when set, is the budget of every
step.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

DEFAULT_MEMORY = "256MB"
"""The build: staging tables, person resolution and fingerprint parts of a whole corpus.
At 10x (December 2026) its process, the largest of a run, peaked at 829 MiB with 256MB and
943 MiB with 384MB (RSS sampled every 0.5 s), and the cold build took 15.4 s against 15.3 s
(in make bench, the insert step 4.7 s against 3.7 s): the 1 GB bar on one process is worth
the second."""
PUBLISH_MEMORY = "192MB"
"""Publish steps (fingerprint, search index, Parquet, diff). At 10x the cold search index
took as long at 192MB as at 384MB and 150 MB less; at 128MB it spilled and took 1.5x."""
STREAM_MEMORY = "64MB"
"""Readers that stream a table out in bounded ordered runs (the SQLite edition): anything
more only caches blocks that are read once."""


def sql_str(value: object) -> str:
    """A SQL string literal (DuckDB's and SQLite's syntax alike): the one home of quoting for
    the SQL the pipeline generates, where a statement takes no bind parameters (a file list
    for read_parquet, COMMENT ON, PRAGMA, DDL)."""
    return "'" + str(value).replace("'", "''") + "'"


def settings(
    db_path: Path | None = None, memory: str = DEFAULT_MEMORY, spill_beside: Path | None = None
) -> dict[str, str]:
    """``spill_beside``: a file next to which an in-memory connection may spill (without one
    it cannot spill at all and fails when it outgrows its budget)."""
    config = {
        "memory_limit": os.environ.get("KREMLIN_DUCKDB_MEMORY") or memory,
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }
    beside = db_path if db_path is not None else spill_beside
    if beside is not None:
        config["temp_directory"] = str(Path(beside).parent / ".duckdb-tmp")
    return config


def connect(
    db_path: Path | None = None,
    *,
    read_only: bool = False,
    memory: str = DEFAULT_MEMORY,
    spill_beside: Path | None = None,
) -> duckdb.DuckDBPyConnection:
    if db_path is None:
        return duckdb.connect(config=settings(memory=memory, spill_beside=spill_beside))
    return duckdb.connect(str(db_path), read_only=read_only, config=settings(db_path, memory))
