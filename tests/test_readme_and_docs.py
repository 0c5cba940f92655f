"""What the README and docs promise: the query examples run, search finds the page,
the data dictionary is current, the CLIs answer --help."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import duckdb
import pytest

from kremlin.analyst import enrich_database, load_fts, search
from kremlin.dictionary import render
from tests.conftest import ROOT, SAMPLE_RAW
from tests.pagekit import dialogue_page
from tests.runkit import parse_and_build


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    for f in SAMPLE_RAW.iterdir():
        shutil.copy(f, raw)
    (raw / "A.txt").write_text(
        dialogue_page("Meeting with Governor Ivan Petrov", "March 3, 2015", "15:40", "March 3, 2015, 15:40")
    )
    built = parse_and_build(raw, tmp_path_factory.mktemp("work"))
    enrich_database(built.db)
    return built.db


def _readme_sql() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
    statements = [s.strip() for b in blocks for s in b.split(";")]
    return [s for s in statements if s and not all(ln.startswith("--") for ln in s.splitlines())]


def test_readme_has_query_examples():
    assert len(_readme_sql()) >= 3


@pytest.mark.parametrize("sql", _readme_sql(), ids=lambda s: s.splitlines()[-1][:40])
def test_readme_query_runs_and_returns_rows(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    load_fts(con)
    if "Sputnik vaccine" in sql:
        sql = sql.replace("Sputnik vaccine", "harvest")  # a word of the test pages
    rows = con.execute(sql).fetchall()
    con.close()
    assert rows


def test_full_text_search_ranks_the_page_with_the_phrase_first(db):
    con = duckdb.connect(str(db), read_only=True)
    hits = search(con, "Year of Russia in Kyrgyzstan")
    title = con.execute("SELECT title FROM documents WHERE doc_id = ?", [hits[0]["doc_id"]]).fetchone()[0]
    con.close()
    assert title == "Meeting with President of Kyrgyzstan Sadyr Japarov"


def test_data_dictionary_is_generated_from_the_contract():
    assert (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8") == render(), (
        "docs/data-dictionary.md is stale: run `make docs`"
    )


@pytest.mark.parametrize("module", ["flows.pipeline", "kremlin.cli"])
def test_command_line_help(module):
    out = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0 and "usage:" in out.stdout
