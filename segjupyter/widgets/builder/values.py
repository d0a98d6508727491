"""Typed value editors of the rule builder.

Each editor owns one ipywidget (``.widget``) and converts between it and a canonical rule
value (``set`` / ``get``). An editor remembers what it was loaded with: while its controls
still show that, ``get`` returns the loaded value itself, so ``tree -> widgets -> tree`` is
exact (``Decimal("500.00")`` stays ``500.00`` although a FloatText shows ``500.0``).

:mod:`.slot` picks the editors an operator and a value need.
"""

from __future__ import annotations

import calendar
import datetime as dt
import html
from decimal import Decimal

import ipywidgets as W

from ...rules.model import MonthDay, Param, RelativeDate, UNITS
from ..layout import close_all, css, set_children



class Editor:
    """Base of the value editors."""

    kind = ""

    def __init__(self, notify):
        self._notify = notify
        self._loaded = None
        self.widget = self._build()
        css(self.widget, "sj-value", f"sj-value-{self.kind}")

    # subclasses: _build, _show(v), _read(), _state(), accepts(v)
    @classmethod
    def accepts(cls, v) -> bool:
        return False

    def _watch(self, *widgets) -> None:
        for w in widgets:
            w.observe(lambda _c: self._notify(), "value")

    def set(self, v) -> None:
        with self.widget.hold_sync():
            self._show(v)
        self._loaded = (self._state(), v)

    def get(self):
        if self._loaded is not None and self._loaded[0] == self._state():
            return self._loaded[1]
        return self._read()

    def set_values(self, values) -> None:
        """New suggested values (the field changed); only text editors use them."""

    def set_disabled(self, disabled: bool) -> None:
        for w in _leaves(self.widget):
            if hasattr(w, "disabled"):
                w.disabled = disabled

    def close(self) -> None:
        close_all(self.widget)


def _leaves(widget):
    kids = getattr(widget, "children", None)
    if kids is None:
        yield widget
    else:
        for k in kids:
            yield from _leaves(k)


class TextEditor(Editor):
    """Free text with autocompletion from the field's distinct values."""

    kind = "text"

    def __init__(self, notify, values=()):
        self._values = [str(v) for v in values]
        super().__init__(notify)

    def _build(self):
        w = W.Combobox(options=self._values, ensure_option=False, placeholder="value",
                       layout=W.Layout(width="200px"))
        self._watch(w)
        return w

    @classmethod
    def accepts(cls, v):
        return isinstance(v, str)

    def set_values(self, values) -> None:
        self.widget.options = [str(v) for v in values]

    def _show(self, v):
        self.widget.value = "" if v is None else str(v)

    def _read(self):
        return self.widget.value

    def _state(self):
        return self.widget.value


class IntEditor(Editor):
    kind = "integer"

    def _build(self):
        w = W.IntText(value=0, layout=W.Layout(width="110px"))
        self._watch(w)
        return w

    @classmethod
    def accepts(cls, v):
        return isinstance(v, int) and not isinstance(v, bool)

    def _show(self, v):
        self.widget.value = int(v) if self.accepts(v) else 0

    def _read(self):
        return int(self.widget.value)

    def _state(self):
        return self.widget.value


class NumberEditor(Editor):
    """A number (money and other decimals): whole numbers read back as ``int``, others as
    ``Decimal`` (never float)."""

    kind = "number"

    def _build(self):
        w = W.FloatText(value=0.0, layout=W.Layout(width="110px"))
        self._watch(w)
        return w

    @classmethod
    def accepts(cls, v):
        return isinstance(v, (int, Decimal)) and not isinstance(v, bool)

    def _show(self, v):
        self.widget.value = float(v) if self.accepts(v) else 0.0

    def _read(self):
        f = float(self.widget.value)
        return int(f) if f.is_integer() else Decimal(repr(f))

    def _state(self):
        return self.widget.value


class BoolEditor(Editor):
    kind = "bool"

    def _build(self):
        w = W.Dropdown(options=[("true", True), ("false", False)], value=True,
                       layout=W.Layout(width="80px"))
        self._watch(w)
        return w

    @classmethod
    def accepts(cls, v):
        return isinstance(v, bool)

    def _show(self, v):
        self.widget.value = bool(v) if isinstance(v, bool) else True

    def _read(self):
        return self.widget.value

    def _state(self):
        return self.widget.value


_UNIT_OPTIONS = [(f"{u}s", u) for u in UNITS]
_ANCHOR_OPTIONS = [("today", "today"), ("start of month", "month_start"),
                   ("end of month", "month_end"), ("start of year", "year_start"),
                   ("end of year", "year_end")]


class RelativeControls:
    """The controls of one :class:`RelativeDate`: *N units before / after* the day it counts
    from (today, or the start / end of as_of's month or year)."""

    def __init__(self, watch, amount: int = 30):
        self.amount = css(W.BoundedIntText(value=amount, min=0, max=100000,
                                           layout=W.Layout(width="70px")), "sj-rel-amount")
        self.unit = css(W.Dropdown(options=_UNIT_OPTIONS, value="day",
                                   layout=W.Layout(width="90px")), "sj-rel-unit")
        self.direction = css(W.Dropdown(options=[("before", -1), ("after", 1)], value=-1,
                                        layout=W.Layout(width="80px")), "sj-rel-direction")
        self.anchor = css(W.Dropdown(options=_ANCHOR_OPTIONS, value="today",
                                     layout=W.Layout(width="125px")), "sj-rel-anchor")
        self.widgets = [self.amount, self.unit, self.direction, self.anchor]
        watch(*self.widgets)

    def show(self, v: RelativeDate) -> None:
        self.amount.value = abs(v.amount)
        self.unit.value = v.unit
        self.direction.value = 1 if v.amount > 0 else -1
        self.anchor.value = v.anchor or "today"

    def read(self) -> RelativeDate:
        anchor = None if self.anchor.value == "today" else self.anchor.value
        return RelativeDate(self.direction.value * int(self.amount.value), self.unit.value,
                            anchor)

    def state(self) -> tuple:
        return tuple(w.value for w in self.widgets)


class DateEditor(Editor):
    """A date: a calendar day, a day and time, or relative to ``as_of`` (N units before /
    after today or the start / end of the month or year)."""

    kind = "date"

    def __init__(self, notify, with_time=False, relative=True):
        self._with_time = with_time
        self._relative = relative
        super().__init__(notify)

    def _build(self):
        modes = [("date", "date")]
        if self._with_time:
            modes.append(("date & time", "datetime"))
        if self._relative:
            modes.append(("relative", "relative"))
        self.mode = css(W.Dropdown(options=modes, value="date", layout=W.Layout(width="100px")),
                        "sj-date-mode")
        self.date = css(W.DatePicker(value=dt.date.today(), layout=W.Layout(width="150px")),
                        "sj-date")
        self.datetime = W.NaiveDatetimePicker(layout=W.Layout(width="220px"))
        self.rel = RelativeControls(self._watch)
        self.amount, self.unit, self.direction = self.rel.amount, self.rel.unit, \
            self.rel.direction
        self._watch(self.date, self.datetime)
        self.mode.observe(self._mode_changed, "value")
        box = W.HBox([self.mode, self.date])
        self._all = [self.mode, self.date, self.datetime, *self.rel.widgets]
        return box

    def _mode_changed(self, _change):
        self._layout()
        self._notify()

    def _layout(self):
        m = self.mode.value
        parts = {"date": [self.date], "datetime": [self.datetime],
                 "relative": self.rel.widgets}[m]
        set_children(self.widget, [self.mode, *parts])

    @classmethod
    def accepts(cls, v):
        return isinstance(v, (dt.date, RelativeDate))

    def _show(self, v):
        if isinstance(v, RelativeDate) and self._relative:
            self.mode.value = "relative"
            self.rel.show(v)
        elif isinstance(v, dt.datetime) and self._with_time:
            self.mode.value = "datetime"
            self.datetime.value = v
        elif isinstance(v, dt.date):
            self.mode.value = "date"
            self.date.value = v.date() if isinstance(v, dt.datetime) else v
        self._layout()

    def _read(self):
        m = self.mode.value
        if m == "relative":
            return self.rel.read()
        if m == "datetime":
            return self.datetime.value
        return self.date.value

    def _state(self):
        return (self.mode.value, self.date.value, self.datetime.value, *self.rel.state())

    def close(self):
        close_all(*self._all, self.widget)


_MONTHS = [(calendar.month_abbr[m], m) for m in range(1, 13)]
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class MonthDayEditor(Editor):
    """A bound of a year-ignoring range: a day of any year (month and day), or relative to
    ``as_of`` (the month-day of that day: today, +7 days, start / end of month ...)."""

    kind = "monthday"

    def _build(self):
        self.mode = css(W.Dropdown(options=[("day of year", "monthday"),
                                            ("relative", "relative")], value="monthday",
                                   layout=W.Layout(width="110px")), "sj-monthday-mode")
        self.month = css(W.Dropdown(options=_MONTHS, value=1, layout=W.Layout(width="75px")),
                         "sj-month")
        self.day = css(W.BoundedIntText(value=1, min=1, max=31, layout=W.Layout(width="60px")),
                       "sj-day")
        self.rel = RelativeControls(self._watch, amount=0)
        self.month.observe(self._month_changed, "value")
        self._watch(self.day)
        self.mode.observe(self._mode_changed, "value")
        self._all = [self.mode, self.month, self.day, *self.rel.widgets]
        return W.HBox([self.mode, self.month, self.day])

    def _month_changed(self, _change):
        self.day.max = _MONTH_DAYS[self.month.value - 1]
        self._notify()

    def _mode_changed(self, _change):
        self._layout()
        self._notify()

    def _layout(self):
        parts = self.rel.widgets if self.mode.value == "relative" else [self.month, self.day]
        set_children(self.widget, [self.mode, *parts])

    @classmethod
    def accepts(cls, v):
        return isinstance(v, (MonthDay, RelativeDate))

    def _show(self, v):
        if isinstance(v, MonthDay):
            self.mode.value = "monthday"
            self.month.value = v.month
            self.day.max = _MONTH_DAYS[v.month - 1]
            self.day.value = v.day
        elif isinstance(v, RelativeDate):
            self.mode.value = "relative"
            self.rel.show(v)
        self._layout()

    def _read(self):
        if self.mode.value == "relative":
            return self.rel.read()
        try:
            return MonthDay(self.month.value, self.day.value)
        except ValueError:
            return None

    def _state(self):
        return (self.mode.value, self.month.value, self.day.value, *self.rel.state())

    def close(self):
        close_all(*self._all, self.widget)


class ParamEditor(Editor):
    """A named parameter (``:min_spend``) bound when the segment is evaluated."""

    kind = "param"

    def _build(self):
        w = W.Text(description=":", placeholder="parameter name",
                   layout=W.Layout(width="180px"), style={"description_width": "10px"})
        self._watch(w)
        return w

    @classmethod
    def accepts(cls, v):
        return isinstance(v, Param)

    def _show(self, v):
        self.widget.value = v.name if isinstance(v, Param) else ""

    def _read(self):
        return Param(self.widget.value.strip())

    def _state(self):
        return self.widget.value


class RawEditor(Editor):
    """A value no control can edit (e.g. a list mixing parameters and literals): shown as it
    is and kept; change the operator to edit it."""

    kind = "raw"

    def _build(self):
        return W.HTML("")

    @classmethod
    def accepts(cls, v):
        return True

    def _show(self, v):
        self._value = v
        self.widget.value = f"<code>{html.escape(repr(v))}</code>"

    def _read(self):
        return getattr(self, "_value", None)

    def _state(self):
        return self.widget.value


class TagsEditor(Editor):
    """Include / exclude lists of text values (autocompleted from the field's values)."""

    kind = "tags"

    def __init__(self, notify, values=()):
        self._values = [str(v) for v in values]
        super().__init__(notify)

    def _build(self):
        w = W.TagsInput(value=[], allowed_tags=list(self._values), allow_duplicates=False,
                        layout=W.Layout(width="auto", min_width="260px"))
        self._watch(w)
        return w

    @classmethod
    def accepts(cls, v):
        return isinstance(v, tuple) and all(isinstance(x, str) and x for x in v)

    def set_values(self, values) -> None:
        keep = [x for x in self.widget.value if not values or x in values]
        with self.widget.hold_sync():
            self.widget.value = keep
            self.widget.allowed_tags = [str(v) for v in values]

    def _show(self, v):
        items = list(v) if isinstance(v, tuple) else []
        extra = [x for x in items if self.widget.allowed_tags and x not in self.widget.allowed_tags]
        if extra:  # a loaded value outside the known values stays editable (and is validated)
            self.widget.allowed_tags = [*self.widget.allowed_tags, *extra]
        self.widget.value = items

    def _read(self):
        return tuple(self.widget.value)

    def _state(self):
        return tuple(self.widget.value)


class IntsEditor(Editor):
    kind = "ints"

    def _build(self):
        w = W.IntsInput(value=[], allow_duplicates=False,
                        layout=W.Layout(width="auto", min_width="200px"))
        self._watch(w)
        return w

    @classmethod
    def accepts(cls, v):
        return isinstance(v, tuple) and all(
            isinstance(x, int) and not isinstance(x, bool) for x in v)

    def _show(self, v):
        self.widget.value = list(v) if isinstance(v, tuple) else []

    def _read(self):
        return tuple(int(x) for x in self.widget.value)

    def _state(self):
        return tuple(self.widget.value)
