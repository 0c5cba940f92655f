"""Date and time lines as the site prints them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        1,
    )
}
_MONTH = r"(?P<m1>[A-Z][a-z]+)"
# The site prints ASCII digits: re.ASCII keeps \d from reading other scripts' digits
# (`May 24, ٢٠٢١`) as a date the record would then misquote.
# `Announcement, June 13 − 14, 2019` uses U+2212; en dash and hyphen appear in edits too.
DATE_LINE = re.compile(
    r"^(?P<ann>Announcement,\s*)?" + _MONTH + r"\s+(?P<d1>\d{1,2})"
    r"(?:\s*[−–-]\s*(?:(?P<m2>[A-Z][a-z]+)\s+)?(?P<d2>\d{1,2}))?"
    r",\s*(?P<y>\d{4})$",
    re.ASCII,
)
TIME_LINE = re.compile(r"^(?P<h>\d{1,2}):(?P<mi>\d{2})$", re.ASCII)
# What a time line can look like however it was mangled: digits of any script, any colon-
# like separator (U+003A, U+FF1A, U+FE55, U+2236, U+02D0), a leading zero too many. Such a
# line is no paragraph; TIME_LINE says whether it is a time the site prints.
_TIME_LIKE = re.compile(r"^\d{1,4}\s*[:\uff1a\ufe55\u2236\u02d0]\s*\d{1,4}$")
PUBLICATION = re.compile(
    r"^(?P<m>[A-Z][a-z]+)\s+(?P<d>\d{1,2}),\s*(?P<y>\d{4}),\s*(?P<h>\d{1,2}):(?P<mi>\d{2})$",
    re.ASCII,
)
# Every date becomes a UTC instant: a Moscow wall-clock time in year 1 or 9999 is outside
# what a datetime holds once its offset is applied.
_YEARS = range(2, 9999)


class InvalidDate(ValueError):
    """A line shaped like a date that names no real day (e.g. February 30)."""


@dataclass(frozen=True)
class DateLine:
    is_announcement: bool
    start: dt.date
    end: dt.date | None


def _day(year: int, month_name: str, day: int) -> dt.date:
    month = MONTHS.get(month_name)
    if month is None:
        raise InvalidDate(f"unknown month {month_name!r}")
    if year not in _YEARS:
        raise InvalidDate(f"year {year} is outside {_YEARS.start}-{_YEARS.stop - 1}")
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise InvalidDate(f"{month_name} {day}, {year}: {exc}") from None


def _date_match(line: str) -> re.Match[str] | None:
    # A date line ends with the year's last digit (``$`` also matches before a final
    # newline): most lines fail this test, which is far cheaper than the regex.
    if not (line[-1:].isdecimal() or line.endswith("\n")):
        return None
    m = DATE_LINE.match(line)
    return m if m and m.group("m1") in MONTHS else None


def looks_like_date(line: str) -> bool:
    return _date_match(line) is not None


def parse_date_line(line: str) -> DateLine | None:
    """None when the line is not a date line; raises InvalidDate for impossible days."""
    m = _date_match(line)
    if m is None:
        return None
    year = int(m.group("y"))
    start = _day(year, m.group("m1"), int(m.group("d1")))
    end = None
    if m.group("d2"):
        end = _day(year, m.group("m2") or m.group("m1"), int(m.group("d2")))
        if end < start:
            raise InvalidDate(f"range ends before it starts: {line!r}")
    return DateLine(is_announcement=bool(m.group("ann")), start=start, end=end)


def parse_time_line(line: str) -> str | None:
    """`9:05` → `09:05`; None when the line is not a time line; raises InvalidDate for a
    time line that names no time of day (`25:61`), which would otherwise be published as
    a paragraph and leave the event without its time."""
    m = TIME_LINE.match(line)
    if not m:
        if _TIME_LIKE.match(line):
            raise InvalidDate(f"time line not in the site's form (ASCII HH:MM): {line!r}")
        return None
    h, mi = int(m.group("h")), int(m.group("mi"))
    if h > 23 or mi > 59:
        raise InvalidDate(f"impossible time line {line!r}")
    return f"{h:02d}:{mi:02d}"


def parse_publication(text: str) -> dt.datetime:
    """'June 18, 2020, 14:30' → naive Moscow-local datetime; raises InvalidDate."""
    m = PUBLICATION.match(text)
    if not m:
        raise InvalidDate(f"unreadable publication date {text[:60]!r}")
    day = _day(int(m.group("y")), m.group("m"), int(m.group("d")))
    h, mi = int(m.group("h")), int(m.group("mi"))
    if h > 23 or mi > 59:
        raise InvalidDate(f"impossible time in publication date {text[:60]!r}")
    return dt.datetime(day.year, day.month, day.day, h, mi)
