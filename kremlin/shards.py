"""Parse a batch of files into a *shard*: Parquet files of rows keyed by the file's sha256.

Shards are the parse cache: a shard lives under a directory named after the parser
fingerprint, so a file whose bytes were parsed by the same parser code is never parsed
again, and changing the parser starts a fresh cache. Rows carry ``sha256`` (not the file
name) so that renamed or duplicated files reuse them; the build step joins them back to
the files of the current run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from kremlin.contract import arrow_schema
from kremlin.decode import decode_page
from kremlin.inventory import EntryChanged, read_entry
from kremlin.parser.page import parse_page
from kremlin.records import page_rows
from schemas.page import READ_STAGE, Reject
from schemas.tables import DocumentRow, ParagraphRow, UtteranceRow

# Parser messages quote at most a short excerpt; this bounds the rest of the text.
MAX_MESSAGE = 300
SHARD_TABLES = ("outcomes", "documents", "paragraphs", "utterances")

OUTCOME_SCHEMA = pa.schema(
    [
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("doc_id", pa.string()),
        pa.field("kremlin_id", pa.int64()),
        pa.field("reject_reason", pa.string()),
        pa.field("reject_stage", pa.string()),
        pa.field("reject_message", pa.string()),
        pa.field("encoding", pa.string()),
    ]
)
_SHA = pa.field("sha256", pa.string(), nullable=False)


def _staging_schema(table: str) -> pa.Schema:
    # Nullable throughout: people columns are filled later, at build time.
    schema = pa.schema([f.with_nullable(True) for f in arrow_schema(table) if f.name != "source_file"])
    return schema.insert(0, _SHA)


STAGING_SCHEMAS = {
    "outcomes": OUTCOME_SCHEMA,
    "documents": _staging_schema("documents"),
    "paragraphs": _staging_schema("paragraphs"),
    "utterances": _staging_schema("utterances"),
}


def _row_check(model: type[BaseModel]) -> type:
    """The row contract as a TypedDict: the model's fields with their types and constraints,
    strict, no extra keys. Validating it checks exactly what the model would check, without
    building a model instance per row (a quarter of the cost); it is named after the model so
    that error messages read the same."""
    decorators = model.__pydantic_decorators__
    if decorators.model_validators or decorators.field_validators:
        raise TypeError(f"{model.__name__} has validators a TypedDict would not run")
    fields = {name: Annotated[f.annotation, f] for name, f in model.model_fields.items()}
    row = TypedDict(model.__name__, fields)  # type: ignore[misc]
    row.__pydantic_config__ = ConfigDict(strict=True, extra="forbid")  # type: ignore[attr-defined]
    return row


_DOC_CHECK = TypeAdapter(_row_check(DocumentRow))
_PARA_CHECK = TypeAdapter(list[_row_check(ParagraphRow)])  # type: ignore[misc]
_UTT_CHECK = TypeAdapter(list[_row_check(UtteranceRow)])  # type: ignore[misc]
_PEOPLE_PLACEHOLDER = {
    "speaker_kind": "anonymous",
    "speaker_name": None,
    "speaker_role": None,
    "person_id": None,
}


@dataclass(frozen=True)
class ShardJob:
    """The files of one batch: (sha256, absolute path), one path per distinct sha256."""

    items: tuple[tuple[str, str], ...]

    @property
    def shard_id(self) -> str:
        h = hashlib.sha256("\n".join(sorted(s for s, _ in self.items)).encode()).hexdigest()
        return h[:20]


@dataclass(frozen=True)
class ShardSummary:
    shard_id: str
    files: int
    documents: int
    rejected: int


def _validation_message(exc: ValidationError) -> str:
    # err["msg"] names the rule, not the value: no text of the file gets into the message.
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{exc.title}.{loc}: {err['msg']} ({exc.error_count()} error(s))"


def parse_file(sha: str, path: str) -> tuple[dict, dict | None, list[dict], list[dict]]:
    """One file → (outcome, document row | None, paragraph rows, utterance rows). Never raises.

    Messages never name the file (shards are keyed by content: one parse serves every file
    with these bytes); the build prefixes each with the name of its own entry."""
    outcome = {"sha256": sha, "doc_id": None, "kremlin_id": None, "encoding": None}
    try:
        data = read_entry(path, sha)
    except OSError as exc:
        detail = str(exc) if isinstance(exc, EntryChanged) else (exc.strerror or type(exc).__name__)
        return {**outcome, **_reject("unreadable", READ_STAGE, f"cannot read: {detail}")}, None, [], []
    decoded = decode_page(data)
    if isinstance(decoded, Reject):
        return {**outcome, **_reject(decoded.reason, decoded.stage, decoded.message)}, None, [], []
    outcome["encoding"] = decoded.encoding
    try:
        page = parse_page(decoded.text)
    except Exception as exc:  # a parser bug must cost one file, not the run
        return (
            {**outcome, **_reject("invalid_record", "parse", f"parser error {type(exc).__name__}: {exc}")},
            None,
            [],
            [],
        )
    if isinstance(page, Reject):
        return {**outcome, **_reject(page.reason, page.stage, page.message)}, None, [], []
    try:
        document, paragraphs, utterances = page_rows(page)
    except Exception as exc:  # as for the parser: a bug here costs one file, not the batch
        return (
            {**outcome, **_reject("invalid_record", "rows", f"row error {type(exc).__name__}: {exc}")},
            None,
            [],
            [],
        )
    try:
        check_rows(document, paragraphs, utterances, path)
    except ValidationError as exc:
        return (
            {**outcome, **_reject("invalid_record", "validate", _validation_message(exc))},
            None,
            [],
            [],
        )
    outcome.update(doc_id=document["doc_id"], kremlin_id=document["kremlin_id"])
    outcome.update(reject_reason=None, reject_stage=None, reject_message=None)
    return outcome, document, paragraphs, utterances


def check_rows(document: dict, paragraphs: list[dict], utterances: list[dict], source_file: str) -> None:
    """Validate a page's rows against the table contracts; raises ValidationError."""
    _DOC_CHECK.validate_python({**document, "source_file": source_file})
    _PARA_CHECK.validate_python(paragraphs)
    # People are resolved across pages later; check the rest of the row now.
    _UTT_CHECK.validate_python([{**u, **_PEOPLE_PLACEHOLDER} for u in utterances])


def _reject(reason: str, stage: str, message: str) -> dict:
    return {"reject_reason": reason, "reject_stage": stage, "reject_message": message[:MAX_MESSAGE]}


def _with_sha(rows: Iterable[dict], sha: str) -> list[dict]:
    return [{"sha256": sha, **r} for r in rows]


def write_shard(job: ShardJob, cache_dir: Path) -> ShardSummary:
    """Parse every file of the job and write the shard atomically (temp dir, then rename)."""
    tables: dict[str, list[dict]] = {t: [] for t in SHARD_TABLES}
    for sha, path in job.items:
        outcome, document, paragraphs, utterances = parse_file(sha, path)
        tables["outcomes"].append(outcome)
        if document is not None:
            tables["documents"].append({"sha256": sha, **document})
            tables["paragraphs"].extend(_with_sha(paragraphs, sha))
            tables["utterances"].extend(_with_sha(utterances, sha))
    final = cache_dir / job.shard_id
    tmp = cache_dir / f".tmp-{job.shard_id}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        for name, rows in tables.items():
            table = pa.Table.from_pylist(rows, schema=STAGING_SCHEMAS[name])
            pq.write_table(table, tmp / f"{name}.parquet", compression="zstd")
        try:
            os.rename(tmp, final)
        except OSError:
            # Another run wrote the same shard (same files, same parser): keep theirs.
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    rejected = sum(1 for o in tables["outcomes"] if o["reject_reason"])
    return ShardSummary(job.shard_id, len(job.items), len(tables["documents"]), rejected)
