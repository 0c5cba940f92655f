"""Event and publication instants follow Europe/Moscow's real offset history."""

from __future__ import annotations

import datetime as dt

import pytest

from kremlin.parser.page import parse_page
from kremlin.records import page_rows
from schemas.page import Reject
from tests.pagekit import make_page


@pytest.mark.parametrize(
    ("date", "offset_hours", "why"),
    [
        ("July 1, 2010", 4, "summer time (MSD) before 2011"),
        ("January 15, 2010", 3, "winter time (MSK) before 2011"),
        ("January 15, 2013", 4, "permanent UTC+4, March 2011 to October 2014"),
        ("July 1, 2015", 3, "UTC+3 since October 2014"),
        ("October 26, 2014", 3, "the day of the 2014 switch back, after 02:00"),
    ],
)
def test_event_start_and_published_at_use_the_moscow_offset_of_that_day(date, offset_hours, why):
    page = parse_page(make_page(date=date, time="12:00", publication=f"{date}, 12:30"))
    assert not isinstance(page, Reject), page
    doc, _, _ = page_rows(page)
    day = page.header.event_date
    assert doc["event_start"] == dt.datetime(
        day.year, day.month, day.day, 12 - offset_hours, 0, tzinfo=dt.UTC
    ), why
    assert doc["published_at"] == dt.datetime(
        day.year, day.month, day.day, 12 - offset_hours, 30, tzinfo=dt.UTC
    )


def test_announcement_has_no_start_but_a_range():
    page = parse_page(
        make_page(
            date="Announcement, June 13 − 14, 2019", time=None, place=None, publication="June 10, 2019, 18:00"
        )
    )
    assert not isinstance(page, Reject), page
    doc, _, _ = page_rows(page)
    assert (doc["event_date"], doc["event_end_date"]) == (dt.date(2019, 6, 13), dt.date(2019, 6, 14))
    assert doc["event_start"] is None and doc["event_time"] is None
    assert doc["published_at"] == dt.datetime(2019, 6, 10, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("date", ["February 30, 2001", "April 31, 2016", "Announcement, June 14 − 13, 2019"])
def test_impossible_dates_are_rejected(date):
    out = parse_page(make_page(date=date, publication="March 3, 2015, 15:40"))
    assert isinstance(out, Reject) and out.reason == "invalid_date", out
