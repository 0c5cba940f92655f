"""DuckDB connections for the pipeline's heavy steps, with a bounded memory budget.

DuckDB would otherwise take up to 80 % of RAM for its buffers; the pipeline must stay
well under 1 GB however large the corpus, so every build, index and export step works
within ``KREMLIN_DUCKDB_MEMORY`` (default 384MB) and spills to a temp folder beside
the database when it needs more.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

DEFAULT_MEMORY = "384MB"


def settings(db_path: Path | None = None) -> dict[str, str]:
    config = {
        "memory_limit": os.environ.get("KREMLIN_DUCKDB_MEMORY", DEFAULT_MEMORY),
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }
    if db_path is not None:
        config["temp_directory"] = str(Path(db_path).parent / ".duckdb-tmp")
    return config


def connect(db_path: Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    if db_path is None:
        return duckdb.connect(config=settings())
    return duckdb.connect(str(db_path), read_only=read_only, config=settings(db_path))
