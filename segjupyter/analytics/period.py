"""The period an analytic looks at: a range of whole calendar days.

Widgets and papermill notebooks pass periods as text, so :meth:`Period.parse` reads the
forms a marketer types::

    "last 12 months"   "last 90 days"   "last 8 weeks"   "last 2 years"
    "this year"        "this month"     "last year"      "last month"
    "2025"             "2025-03"        "2025-Q2"        "2025-01-01..2025-06-30"

``last N units`` is the N units ending on the ``as_of`` day (``last 12 months`` as of
2026-06-30 is 2025-07-01..2026-06-30), the same calendar arithmetic as rule windows
(``rules/windows.py``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from ..errors import AnalyticsError
from ..rules.windows import shift

_UNITS = {"day": "day", "days": "day", "d": "day", "week": "week", "weeks": "week",
          "w": "week", "month": "month", "months": "month", "m": "month", "year": "year",
          "years": "year", "y": "year"}
_LAST = re.compile(r"^last\s+(\d+)\s*([a-z]+)$")
_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?q([1-4])$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|to)\s*(\d{4}-\d{2}-\d{2})$")
_FORMS = ('"last 12 months", "last 90 days", "this year", "last month", "2025", "2025-03", '
          '"2025-Q2" or "2025-01-01..2025-06-30"')


@dataclass(frozen=True)
class Period:
    """Calendar days ``start`` to ``end``, both included.

    >>> Period.parse("last 12 months", as_of=dt.date(2026, 6, 30))
    Period(start=datetime.date(2025, 7, 1), end=datetime.date(2026, 6, 30))
    >>> Period.year(2025).end_at
    datetime.datetime(2025, 12, 31, 23, 59, 59, 999999)
    """

    start: dt.date
    end: dt.date

    def __post_init__(self):
        for name in ("start", "end"):
            v = getattr(self, name)
            if isinstance(v, dt.datetime):
                object.__setattr__(self, name, v.date())
            elif not isinstance(v, dt.date):
                raise AnalyticsError(f"period {name} must be a date, not {v!r}")
        if self.end < self.start:
            raise AnalyticsError(f"period ends ({self.end}) before it starts ({self.start})")

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def last(cls, n: int, unit: str, as_of: dt.date | dt.datetime) -> "Period":
        """The ``n`` ``unit``\\ s (day, week, month, year) ending on ``as_of``'s day."""
        u = _UNITS.get(unit)
        if u is None:
            raise AnalyticsError(f"period unit must be day, week, month or year, not {unit!r}")
        unit = u
        if n < 1:
            raise AnalyticsError(f"'last {n} {unit}s' needs a positive number")
        end = as_of.date() if isinstance(as_of, dt.datetime) else as_of
        return cls(shift(end, -n, unit) + dt.timedelta(days=1), end)

    @classmethod
    def year(cls, year: int) -> "Period":
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        if not 1 <= month <= 12:
            raise AnalyticsError(f"month must be 1..12, not {month}")
        return cls(dt.date(year, month, 1),
                   dt.date(year, month, calendar.monthrange(year, month)[1]))

    @classmethod
    def parse(cls, text: str, as_of: dt.date | dt.datetime | None = None) -> "Period":
        """A period from text (see the module docstring); relative forms need ``as_of``."""
        t = " ".join(str(text).strip().lower().split())
        try:
            if m := _RANGE.match(t):
                return cls(dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2]))
            if m := _YEAR.match(t):
                return cls.year(int(m[1]))
            if m := _MONTH.match(t):
                return cls.month(int(m[1]), int(m[2]))
            if m := _QUARTER.match(t):
                q = int(m[2])
                return cls(dt.date(int(m[1]), 3 * q - 2, 1),
                           cls.month(int(m[1]), 3 * q).end)
        except ValueError as e:
            if isinstance(e, AnalyticsError):
                raise
            raise AnalyticsError(f"period {text!r}: {e}") from None
        relative = _LAST.match(t) or t in ("this year", "this month", "last year", "last month")
        if not relative:
            raise AnalyticsError(f"period {text!r} is not understood; write one of {_FORMS}")
        if as_of is None:
            raise AnalyticsError(f"period {text!r} is relative and needs an as_of date")
        day = as_of.date() if isinstance(as_of, dt.datetime) else as_of
        if m := _LAST.match(t):
            if m[2] not in _UNITS:
                raise AnalyticsError(f"period {text!r}: unit must be days, weeks, months or "
                                     f"years, not {m[2]!r}")
            return cls.last(int(m[1]), m[2], day)
        if t == "this year":
            return cls(dt.date(day.year, 1, 1), day)
        if t == "this month":
            return cls(day.replace(day=1), day)
        if t == "last year":
            return cls.year(day.year - 1)
        prev = shift(day.replace(day=1), -1, "month")
        return cls.month(prev.year, prev.month)

    # -- views -----------------------------------------------------------------------------
    @property
    def start_at(self) -> dt.datetime:
        """First instant of the period (``start`` 00:00)."""
        return dt.datetime.combine(self.start, dt.time.min)

    @property
    def end_at(self) -> dt.datetime:
        """Last instant of the period (``end`` 23:59:59.999999)."""
        return dt.datetime.combine(self.end, dt.time.max)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


DEFAULT_PERIOD = "last 12 months"


def resolve_period(ws, period=None) -> Period:
    """Normalise a ``period`` argument: None (the 12 months up to ``ws.now()``), a
    :class:`Period`, text, a year (int) or a ``(start, end)`` pair of dates."""
    if period is None:
        return Period.parse(DEFAULT_PERIOD, ws.now())
    if isinstance(period, Period):
        return period
    if isinstance(period, str):
        return Period.parse(period, ws.now())
    if isinstance(period, int) and not isinstance(period, bool):
        return Period.year(period)
    if isinstance(period, (tuple, list)) and len(period) == 2:
        lo, hi = (dt.date.fromisoformat(x) if isinstance(x, str) else x for x in period)
        return Period(lo, hi)
    raise AnalyticsError(f"period must be a Period, text like {DEFAULT_PERIOD!r}, a year or a "
                         f"(start, end) pair, not {period!r}")


def membership_as_of(ws, period: Period) -> dt.datetime:
    """The instant a segment's membership is evaluated at for ``period``: its end, or now
    when the period ends in the future."""
    return min(period.end_at, ws.now())


def resolve_as_of(ws, as_of=None) -> dt.datetime:
    """Normalise an ``as_of`` argument: None (``ws.now()``), a date, datetime or ISO text,
    or a period (:class:`Period` or period text such as ``"2025"``: its end)."""
    if isinstance(as_of, Period):
        return membership_as_of(ws, as_of)
    if isinstance(as_of, str):
        t = as_of.strip()
        if not re.match(r"^\d{4}-\d{2}-\d{2}([ T].*)?$", t):
            return membership_as_of(ws, Period.parse(t, ws.now()))
    return ws.resolve_as_of(as_of)
