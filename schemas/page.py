"""Contract of a parsed page: what the parser reads off one raw page text.

The parser fills these models from text alone; normalisation (ids, instants, people)
happens downstream. Strings are white-space normalised, NBSP is a plain space.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.tables import ParagraphKind, RejectReason, TextStyle

PARSER_VERSION = "1.0.0"


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Header(_Model):
    category: str = Field(min_length=1)
    title: str = Field(min_length=1)
    summary: list[str] = Field(default_factory=list, description="Lead paragraphs, in order.")
    date_text: str = Field(min_length=1)
    is_announcement: bool
    event_date: dt.date
    event_end_date: dt.date | None = None
    time_text: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$")
    place: str | None = None


class Paragraph(_Model):
    text: str = Field(min_length=1)
    kind: ParagraphKind = "text"
    turn_index: int | None = None


class Turn(_Model):
    label: str = Field(min_length=1)
    text: str
    first_paragraph: int = Field(ge=0)
    n_paragraphs: int = Field(ge=1)


class Footer(_Model):
    geography: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    persons: list[str] = Field(default_factory=list)
    hidden_tags: int = Field(default=0, ge=0)
    sections: list[str] = Field(default_factory=list)
    publication_text: str = Field(min_length=1)
    published_local: dt.datetime = Field(description="Publication date and time, Moscow local (naive).")
    kremlin_id: int | None = None


class Media(_Model):
    photo_count: int = Field(default=0, ge=0)
    photo_start: int | None = None
    photo_captions: list[str] = Field(default_factory=list)
    single_photo_captions: list[str] = Field(default_factory=list)
    see_also: list[str] = Field(default_factory=list, description="Linked page titles.")


class ParsedPage(_Model):
    header: Header
    paragraphs: list[Paragraph]
    turns: list[Turn]
    footer: Footer
    media: Media
    text_style: TextStyle
    has_elision: bool

    @model_validator(mode="after")
    def _turns_consistent(self) -> ParsedPage:
        for i, t in enumerate(self.turns):
            last = t.first_paragraph + t.n_paragraphs
            if last > len(self.paragraphs):
                raise ValueError(f"turn {i} runs past the last paragraph")
        return self


READ_STAGE = "read"
"""The stage of a file that could not be read when parsed (it changed or vanished since the
scan): about the file at that moment, not its bytes, so the parse cache does not keep it."""


class Reject(_Model):
    reason: RejectReason
    stage: str
    message: str
