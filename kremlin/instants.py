"""Moscow local dates and times → exact instants, with the tz database's real history."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")
TIME_RULE = """\
The site prints Moscow wall-clock time. Instants are read in Europe/Moscow with the tz
database's real history (zoneinfo + tzdata, never hand-written offsets): UTC+3 with
summer time (UTC+4) until March 2011, UTC+4 all year from March 2011 to October 2014,
UTC+3 since."""


def moscow_instant(day: dt.date, time_text: str | None) -> dt.datetime | None:
    """`2010-07-01` + `12:00` → the UTC instant of that Moscow wall-clock time."""
    if time_text is None:
        return None
    hour, minute = (int(p) for p in time_text.split(":"))
    return to_utc(dt.datetime(day.year, day.month, day.day, hour, minute))


def to_utc(local: dt.datetime) -> dt.datetime:
    """A naive Moscow wall-clock time as an aware UTC datetime.

    Ambiguous times (the autumn hour before 2011) resolve to the first occurrence,
    the reading the site's editors mean (fold=0).
    """
    return local.replace(tzinfo=MOSCOW).astimezone(dt.UTC)
