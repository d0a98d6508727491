"""The time-window editor of behaviour conditions (all time, last N units, this / last year
or month, since a date, between two dates), also the value of a date field ``in window``
(last N units, this / last year or month only)."""

from __future__ import annotations

import ipywidgets as W

from ...rules.model import ALL_TIME, ATTRIBUTE_WINDOW_KINDS, Window
from ..layout import close_all, css, set_children
from .slot import make_editor, scalar_kind
from .values import _UNIT_OPTIONS

_KINDS = [("all time", "all"), ("in the last", "last"), ("this year", "this_year"),
          ("last year", "last_year"), ("this month", "this_month"),
          ("last month", "last_month"), ("since", "since"), ("between", "between")]
#: the windows a date attribute can be in
ATTRIBUTE_KINDS = tuple(k for k in _KINDS if k[1] in ATTRIBUTE_WINDOW_KINDS)


class WindowEditor:
    """Edits one :class:`~segjupyter.rules.model.Window`; ``.box`` is the widget. ``kinds``
    limits the choice of kinds (the first is the initial one)."""

    def __init__(self, notify, kinds=tuple(_KINDS)):
        self._notify = notify
        self.kind = css(W.Dropdown(options=list(kinds), value=kinds[0][1],
                                   layout=W.Layout(width="115px")), "sj-window-kind")
        self.n = css(W.BoundedIntText(value=6, min=1, max=100000,
                                      layout=W.Layout(width="65px")), "sj-window-n")
        self.unit = css(W.Dropdown(options=_UNIT_OPTIONS, value="month",
                                   layout=W.Layout(width="85px")), "sj-window-unit")
        self.start = None
        self.end = None
        self._and = W.HTML("and", layout=W.Layout(margin="0 4px"))
        self.box = css(W.HBox([self.kind]), "sj-window")
        self._loaded = None
        self._layout()
        self.kind.observe(self._kind_changed, "value")
        for w in (self.n, self.unit):
            w.observe(lambda _c: self._notify(), "value")

    def _date_editor(self, current, value):
        kind = scalar_kind("window-date", value)
        if current is not None and current.kind == kind and kind != "raw":
            return current
        if current is not None:
            current.close()
        return make_editor(kind, self._notify)

    def _layout(self, start=None, end=None):
        k = self.kind.value
        parts = [self.kind]
        if k == "last":
            parts += [self.n, self.unit]
        if k in ("since", "between"):
            self.start = self._date_editor(self.start, start)
            parts.append(self.start.widget)
        if k == "between":
            self.end = self._date_editor(self.end, end)
            parts += [self._and, self.end.widget]
        set_children(self.box, parts)

    def _kind_changed(self, _change):
        self._layout()
        self._notify()

    def set(self, w: Window) -> None:
        with self.box.hold_sync():
            self.kind.value = w.kind
            if w.n is not None:
                self.n.value = w.n
            if w.unit is not None:
                self.unit.value = w.unit
            self._layout(w.start, w.end)
            if self.start is not None and w.kind in ("since", "between"):
                self.start.set(w.start)
            if self.end is not None and w.kind == "between":
                self.end.set(w.end)
        self._loaded = (self._state(), w)

    def _state(self):
        return (self.kind.value, self.n.value, self.unit.value,
                self.start.get() if self.start is not None else None,
                self.end.get() if self.end is not None else None)

    def get(self) -> Window:
        if self._loaded is not None and self._loaded[0] == self._state():
            return self._loaded[1]
        k = self.kind.value
        if k == "all":
            return ALL_TIME
        if k == "last":
            return Window("last", int(self.n.value), self.unit.value)
        if k == "since":
            return Window("since", start=self.start.get())
        if k == "between":
            return Window("between", start=self.start.get(), end=self.end.get())
        return Window(k)

    def set_disabled(self, disabled: bool) -> None:
        for w in (self.kind, self.n, self.unit):
            w.disabled = disabled
        for e in (self.start, self.end):
            if e is not None:
                e.set_disabled(disabled)

    def close(self) -> None:
        for e in (self.start, self.end):
            if e is not None:
                e.close()
        close_all(self.kind, self.n, self.unit, self._and, self.box)
