"""The value part of a condition: which editors an operator and a value need.

:class:`ValueSlot` holds no editor (``is null``), one, a pair (``between``) or a list
(``in``); :func:`scalar_kind` chooses an editor by the field's type unless the loaded value
needs another one (a parameter, a value of the wrong type), so any value loads and reads
back unchanged.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import ipywidgets as W

from ...rules.model import MonthDay, Param, RelativeDate
from ..layout import close_all, css, set_children
from .values import (BoolEditor, DateEditor, Editor, IntEditor, IntsEditor, MonthDayEditor,
                     NumberEditor, ParamEditor, RawEditor, TagsEditor, TextEditor)

_UNSET = object()

#: field type -> scalar editor kind
SCALAR_KIND = {"text": "text", "category": "text", "list": "text", "integer": "integer",
               "number": "number", "boolean": "bool", "date": "date", "timestamp": "timestamp"}


def kind_of_value(v) -> str | None:
    """The editor kind able to show a scalar value, None for None."""
    if v is None:
        return None
    if isinstance(v, Param):
        return "param"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, Decimal):
        return "number"
    if isinstance(v, dt.datetime):
        return "timestamp"
    if isinstance(v, (dt.date, RelativeDate)):
        return "date"
    if isinstance(v, MonthDay):
        return "monthday"
    if isinstance(v, str):
        return "text"
    return "raw"


def make_editor(kind: str, notify, values=()) -> Editor:
    if kind == "text":
        return TextEditor(notify, values)
    if kind == "tags":
        return TagsEditor(notify, values)
    if kind == "date":
        return DateEditor(notify, with_time=False)
    if kind == "timestamp":
        return DateEditor(notify, with_time=True)
    if kind == "window-date":
        return DateEditor(notify, with_time=False, relative=False)
    return {"integer": IntEditor, "number": NumberEditor, "bool": BoolEditor,
            "monthday": MonthDayEditor, "param": ParamEditor, "raw": RawEditor,
            "ints": IntsEditor}[kind](notify)


_CLASSES = {"text": TextEditor, "integer": IntEditor, "number": NumberEditor, "bool": BoolEditor,
            "date": DateEditor, "timestamp": DateEditor, "window-date": DateEditor,
            "monthday": MonthDayEditor, "param": ParamEditor, "raw": RawEditor,
            "tags": TagsEditor, "ints": IntsEditor}


def scalar_kind(default: str, v) -> str:
    """``default`` when it can show ``v`` (or ``v`` is None), else the kind ``v`` needs."""
    if v is None or v is _UNSET:
        return default
    if isinstance(v, Param):
        return "param"
    if default == "window-date" and isinstance(v, RelativeDate):
        return "raw"
    if _CLASSES[default].accepts(v):
        return default
    return kind_of_value(v)


class ValueSlot:
    """The value part of a condition: no value, one, a pair (``between``) or a list (``in``).

    ``configure(arity, kind, values, value)`` keeps the editors when the shape is unchanged
    (the row is updated in place) and rebuilds them otherwise, carrying the old value over
    when the new editor can show it.
    """

    def __init__(self, notify):
        self._notify = notify
        self.box = css(W.HBox([]), "sj-value-slot")
        self.editors: list[Editor] = []
        self.arity = "none"
        self._shape = None
        self._values = ()
        self._loaded = None

    def configure(self, arity: str, kind: str, values=(), value=_UNSET) -> None:
        """Shape the slot; ``value`` (when given) is loaded into it."""
        kinds = self._kinds(arity, kind, value)
        shape = (arity, kinds)
        old = _UNSET
        if shape == self._shape and tuple(values) != self._values:
            for e in self.editors:  # same editors, other suggestions: update in place
                e.set_values(values)
            self._values = tuple(values)
        if shape != self._shape:
            self._values = tuple(values)
            if self.editors and value is _UNSET:
                old = self.get()
            for e in self.editors:
                e.close()
            self.editors = [make_editor(k, self._notify, values) for k in kinds]
            self.arity, self._shape = arity, shape
            self._loaded = None
            parts = [e.widget for e in self.editors]
            if len(parts) == 2:
                parts.insert(1, W.HTML("and", layout=W.Layout(margin="0 4px")))
            set_children(self.box, parts)
        if value is not _UNSET:
            self.set(value)
        elif old is not _UNSET:
            self._carry(old)

    def _kinds(self, arity, kind, value) -> tuple[str, ...]:
        if arity == "none":
            return ()
        v = None if value is _UNSET else value
        if arity == "pair":
            if v is not None and not (isinstance(v, tuple) and len(v) == 2):
                return ("param",) if isinstance(v, Param) else ("raw",)
            pair = v if v is not None else (None, None)
            return tuple(scalar_kind(kind, x) for x in pair)
        if arity == "list":
            if isinstance(v, Param):
                return ("param",)
            if v is None or _CLASSES[kind].accepts(v):
                return (kind,)
            return ("raw",)
        return (scalar_kind(kind, v),)

    def _carry(self, old) -> None:
        """Put a previous value into freshly built editors when they can show it."""
        if self.arity == "list" and isinstance(old, tuple) and len(old) == 2 and old[0] is not None:
            old = (old[0],)  # between -> in: keep the first bound
        if self.arity == "list" and not isinstance(old, tuple) and old is not None:
            old = (old,)
        if self.arity == "one" and isinstance(old, tuple) and len(old) >= 1:
            old = old[0]
        if self.arity in ("one", "list") and old is not None and old != "" and \
                not (isinstance(old, tuple) and not old):
            if type(self.editors[0]).accepts(old):
                self.editors[0].set(old)
        elif self.arity == "pair" and isinstance(old, tuple) and len(old) == 2:
            for e, v in zip(self.editors, old):
                if v is not None and type(e).accepts(v):
                    e.set(v)

    def set(self, value) -> None:
        if self.arity == "pair" and len(self.editors) == 2:
            for e, v in zip(self.editors, value if isinstance(value, tuple) else (None, None)):
                e.set(v)
        elif self.editors:
            self.editors[0].set(value)
        self._loaded = value

    def get(self):
        if self.arity == "none":
            return self._loaded if self._loaded is not None else None
        if self.arity == "pair" and len(self.editors) == 2:
            return tuple(e.get() for e in self.editors)
        return self.editors[0].get()

    def set_disabled(self, disabled: bool) -> None:
        for e in self.editors:
            e.set_disabled(disabled)

    def close(self) -> None:
        for e in self.editors:
            e.close()
        close_all(self.box)
