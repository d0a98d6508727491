"""Calendar arithmetic for time windows and relative dates, against an ``as_of`` instant.

Boundaries are computed here in Python (not in SQL) so that the same segment prints the same
instants for every SQL dialect and tests can state them. Month and year steps clamp to the
end of the month (Mar 31 - 1 month = Feb 28, or Feb 29 in a leap year).
"""

from __future__ import annotations

import calendar
import datetime as dt

from .model import MonthDay, RelativeDate, Window


def shift(d: dt.date | dt.datetime, amount: int, unit: str):
    """``d`` moved by ``amount`` ``unit``s, calendar-correct."""
    if unit == "day":
        return d + dt.timedelta(days=amount)
    if unit == "week":
        return d + dt.timedelta(weeks=amount)
    months = amount * (12 if unit == "year" else 1)
    if unit not in ("month", "year"):
        raise ValueError(f"unknown unit {unit!r}")
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return d.replace(year=year, month=month, day=day)


def start_of_day(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time.min)


def anchor_day(d: dt.date, anchor: str | None) -> dt.date:
    """``d`` itself (no anchor), or the first / last day of its month or year."""
    if anchor is None:
        return d
    if anchor == "month_start":
        return d.replace(day=1)
    if anchor == "month_end":
        return d.replace(day=calendar.monthrange(d.year, d.month)[1])
    if anchor == "year_start":
        return d.replace(month=1, day=1)
    if anchor == "year_end":
        return d.replace(month=12, day=31)
    raise ValueError(f"unknown anchor {anchor!r}")


def relative_date(rel: RelativeDate, as_of: dt.datetime) -> dt.date:
    """The calendar day ``rel`` points at: ``-30d`` with as_of 2026-06-30 is 2026-05-31;
    ``start of month -1m`` is 2026-05-01; ``end of month`` as of 2024-02-10 is 2024-02-29.

    Month and year steps from the end of a month land on the end of a month
    (``end of month +1m`` as of February is Mar 31, not Mar 28).
    """
    day = shift(anchor_day(as_of.date(), rel.anchor), rel.amount, rel.unit)
    if rel.anchor == "month_end" and rel.unit in ("month", "year"):
        day = anchor_day(day, "month_end")
    return day


def relative_month_day(rel: RelativeDate, as_of: dt.datetime, range_end: bool = False
                       ) -> MonthDay:
    """The month-day of the day ``rel`` points at, for year-ignoring ranges.

    As the *end* of a range, Feb 28 of a year without Feb 29 is read as Feb 29, so customers
    born on Feb 29 are inside ``between start of month and end of month ignore year`` (and
    ``between -7d and today``) in February of every year.
    """
    day = relative_date(rel, as_of)
    if range_end and (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        return MonthDay(2, 29)
    return MonthDay(day.month, day.day)


def window_bounds(w: Window, as_of: dt.datetime, resolve=lambda v: v
                  ) -> tuple[dt.datetime | None, dt.datetime]:
    """``(start, end)`` of a window: an event at ``t`` is inside when ``start <= t`` (no lower
    bound when ``start`` is None) and ``t <= end``. ``end`` never passes ``as_of``: data after
    ``as_of`` does not exist for an evaluation as of that instant.

    ``last N days`` is the N calendar days ending on ``as_of``'s day when ``as_of`` is the end
    of a day (the default for a date), else the N×24 hours before ``as_of``.
    ``resolve`` turns :class:`~segjupyter.rules.model.Param` dates into values.
    """
    end = as_of
    if w.kind == "all":
        return None, end
    if w.kind == "last":
        # strictly after as_of - N units: as start <= t we add the smallest step
        start = shift(as_of, -w.n, w.unit) + dt.timedelta(microseconds=1)
        return start, end
    year_start = dt.datetime(as_of.year, 1, 1)
    month_start = dt.datetime(as_of.year, as_of.month, 1)
    if w.kind == "this_year":
        return year_start, end
    if w.kind == "last_year":
        return dt.datetime(as_of.year - 1, 1, 1), min(end, year_start - dt.timedelta(microseconds=1))
    if w.kind == "this_month":
        return month_start, end
    if w.kind == "last_month":
        prev = shift(month_start, -1, "month")
        return prev, min(end, month_start - dt.timedelta(microseconds=1))
    if w.kind == "since":
        return start_of_day(_as_date(resolve(w.start))), end
    if w.kind == "between":
        lo, hi = _as_date(resolve(w.start)), _as_date(resolve(w.end))
        hi_end = start_of_day(hi + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)
        return start_of_day(lo), min(end, hi_end)
    raise ValueError(f"unknown window kind {w.kind!r}")


def _as_date(v) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            raise ValueError(f"{v!r} is not a date (YYYY-MM-DD)") from None
    raise ValueError(f"{v!r} is not a date")
