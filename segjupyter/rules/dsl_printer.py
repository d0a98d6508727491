"""Print a rule tree in the ``%%segment`` language (the inverse of :func:`.dsl.parse`).

``parse(to_text(tree)) == tree`` for every canonical tree: names that are not plain
identifiers or that are keywords are backtick-quoted, strings are escaped, decimals keep
their point, and nested groups are always parenthesised, so the printed text never depends
on operator precedence.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal

from .model import (ATTRIBUTE_OPERATORS, ATTRIBUTE_WINDOW_KINDS, COMPARISONS, DERIVED_FIELDS,
                    METRICS, Attribute, Behaviour, Derived, Group, MonthDay, Node, Param,
                    RelativeDate, SegmentRef, Sql, Window, canonical)

#: Words that can never be a bare field name (they start conditions or join them).
RESERVED = frozenset(METRICS) | {"in_segment", "sql", "and", "or", "not"} | frozenset(
    DERIVED_FIELDS)

#: Every keyword of the language. Outside :data:`RESERVED` a keyword is read as a field
#: name where only a name fits, but the printer always backtick-quotes them.
KEYWORDS = RESERVED | {
    "in", "between", "ignore", "contains", "starts", "ends", "with", "is", "null", "true",
    "false", "all", "time", "last", "this", "since", "today", "start", "end", "of", "day",
    "days", "week", "weeks", "month", "months", "year", "years"}

NAME_RE = re.compile(r"[^\W\d]\w*")
# Matched the way the lexer matches keywords (re's case folding: "ſql" reads as sql).
_KEYWORD_RE = re.compile("(?i:" + "|".join(sorted(KEYWORDS, key=len, reverse=True)) + ")")
_UNIT_LETTER = {"day": "d", "week": "w", "month": "m", "year": "y"}
_ANCHOR_WORDS = {"month_start": ("start", "month"), "month_end": ("end", "month"),
                 "year_start": ("start", "year"), "year_end": ("end", "year")}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Control, format (bidi overrides, zero-width), surrogate, private, unassigned and line /
# paragraph separators are written as \u escapes so the text shows what it holds.
_ESCAPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def quote_name(name: str) -> str:
    """A field name as written in the language: bare when it can be, else in backticks."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a field name must be a non-empty string, not {name!r}")
    if NAME_RE.fullmatch(name) and not _KEYWORD_RE.fullmatch(name):
        return name
    if "\n" in name:
        raise ValueError(f"field name {name!r} holds a newline and cannot be written")
    return "`" + name.replace("`", "``") + "`"


def quote_string(s: str) -> str:
    """A double-quoted string literal with backslash escapes."""
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif unicodedata.category(ch) in _ESCAPED_CATEGORIES:
            code = ord(ch)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _sql_string(query: str) -> str:
    # Multi-line SQL reads best raw in triple quotes; fall back to escapes when it can't be.
    if ("\n" in query and '"""' not in query and not query.endswith('"')
            and all(ch in "\n\t" or unicodedata.category(ch) not in _ESCAPED_CATEGORIES
                    for ch in query)):
        return '"""' + query + '"""'
    return quote_string(query)


def _param(p: Param) -> str:
    if not NAME_RE.fullmatch(p.name or ""):
        raise ValueError(f"parameter name {p.name!r} is not an identifier")
    return ":" + p.name


def format_value(v) -> str:
    """One value as a literal of the language."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal):
        if not v.is_finite():
            raise ValueError(f"{v} cannot be written in the segment language")
        text = format(v, "f")
        return text if "." in text else text + ".0"
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            raise ValueError(f"time-zone aware timestamp {v} cannot be written; use a naive "
                             "timestamp in the workspace time zone")
        return '"' + v.isoformat(sep=" ") + '"'
    if isinstance(v, dt.date):
        return '"' + v.isoformat() + '"'
    if isinstance(v, str):
        return quote_string(v)
    if isinstance(v, Param):
        return _param(v)
    if isinstance(v, RelativeDate):
        offset = "" if v.amount == 0 and v.unit == "day" else \
            f"{v.amount:+d}{_UNIT_LETTER[v.unit]}"
        if v.anchor is None:
            return offset or "today"
        edge, period = _ANCHOR_WORDS[v.anchor]
        return f"{edge} of {period}" + (" " + offset if offset else "")
    if isinstance(v, MonthDay):
        return f'"{v}"'
    if v is None:
        raise ValueError("a comparison needs a value, not None")
    raise ValueError(f"value {v!r} of type {type(v).__name__} cannot be written")


def _test(name: str, op: str, value, ignore_year: bool = False, bare_true: bool = False) -> str:
    """``name`` followed by the operator and value(s)."""
    if op == "is true" and bare_true:
        return name
    if op in ("is null", "is not null", "is true", "is false"):
        return f"{name} {op}"
    if op in ("in", "not in"):
        if isinstance(value, Param):
            return f"{name} {op} {_param(value)}"
        if not isinstance(value, tuple):
            raise ValueError(f"'{op}' needs a list of values, not {value!r}")
        return f"{name} {op} (" + ", ".join(format_value(x) for x in value) + ")"
    if op in ("in window", "not in window"):
        if not isinstance(value, Window) or value.kind not in ATTRIBUTE_WINDOW_KINDS:
            raise ValueError(f"'{op}' needs a window of kind {', '.join(ATTRIBUTE_WINDOW_KINDS)},"
                             f" not {value!r}")
        return f"{name} {op.removesuffix(' window')} {window_text(value)}"
    if op == "between":
        if not isinstance(value, tuple) or len(value) != 2:
            raise ValueError(f"'between' needs two values, not {value!r}")
        text = f"{name} between {format_value(value[0])} and {format_value(value[1])}"
        return text + " ignore year" if ignore_year else text
    if op not in ATTRIBUTE_OPERATORS:
        raise ValueError(f"unknown operator {op!r}")
    return f"{name} {op} {format_value(value)}"


def window_text(w: Window) -> str:
    """The window as written inside ``metric(...)``; empty for all time."""
    def day(d):
        if isinstance(d, Param):
            return _param(d)
        if isinstance(d, dt.date):
            return format_value(d)
        raise ValueError(f"a window date must be a date or a parameter, not {d!r}")

    if w.kind == "all":
        return ""
    if w.kind == "last":
        return f"last {w.n} {w.unit}{'' if w.n == 1 else 's'}"
    if w.kind == "since":
        return f"since {day(w.start)}"
    if w.kind == "between":
        return f"between {day(w.start)} and {day(w.end)}"
    return w.kind.replace("_", " ")


def _behaviour(b: Behaviour) -> str:
    parts = []
    if b.metric == "events":
        if b.filter is not None:
            raise ValueError("events(...) takes an event type, not purchase filters")
        if b.event_type is not None:
            parts.append(quote_string(b.event_type))
    else:
        if b.event_type is not None:
            raise ValueError(f"{b.metric}(...) takes no event type")
        if b.filter is not None:
            f = canonical(b.filter)
            if not all(isinstance(n, Attribute) for n in _conditions(f)):
                raise ValueError("a behaviour filter holds purchase-field conditions only")
            parts.append(_root(f))
    w = window_text(b.window)
    if w:
        parts.append(w)
    head = b.metric
    if parts or b.metric == "bought":
        head += "(" + ", ".join(parts) + ")"
    if b.metric == "bought":
        return head
    if b.op not in COMPARISONS + ("between", "is null", "is not null"):
        raise ValueError(f"metric {b.metric!r} cannot take operator {b.op!r}")
    return _test(head, b.op, b.value)


def _conditions(g: Group):
    for r in g.rules:
        if isinstance(r, Group):
            yield from _conditions(r)
        else:
            yield r


def condition_text(c: Node) -> str:
    """One condition (not a group) in the language."""
    if isinstance(c, Attribute):
        return _test(quote_name(c.field), c.op, c.value, c.ignore_year, bare_true=True)
    if isinstance(c, Derived):
        if c.horizon is not None:  # predicted_clv(12 months)
            n, unit = c.horizon
            return _test(f"{c.field}({n} {unit}{'' if n == 1 else 's'})", c.op, c.value)
        return _test(c.field, c.op, c.value)
    if isinstance(c, Behaviour):
        return _behaviour(c)
    if isinstance(c, SegmentRef):
        return f"in_segment({quote_string(c.name)})"
    if isinstance(c, Sql):
        return f"sql({_sql_string(c.query)})"
    raise TypeError(f"not a rule node: {c!r}")


# -- groups ----------------------------------------------------------------------------------
def _child(node: Node) -> str:
    """A node inline, as a member of a group."""
    if isinstance(node, Group):
        return _negated(node) if node.negate else "(" + _body(node) + ")"
    return condition_text(node)


def _body(g: Group) -> str:
    return f" {g.op} ".join(_child(r) for r in g.rules)


def _negated(g: Group) -> str:
    if len(g.rules) == 1:
        only = g.rules[0]
        if not isinstance(only, Group):
            return "not " + condition_text(only)
        # "not ((a or b))" keeps a NOT group around a group apart from "not (a or b)".
        return "not (" + _child(only) + ")"
    return "not (" + _body(g) + ")"


def _root(g: Group) -> str:
    return _negated(g) if g.negate else _body(g)


def _block(g: Group, depth: int, width: int) -> list[str]:
    """Lines of a group's members, one per line, continuation lines starting with the op."""
    lines: list[str] = []
    for i, r in enumerate(g.rules):
        prefix = "    " * depth + ("" if i == 0 else g.op + " ")
        text = _child(r)
        breakable = isinstance(r, Group) and len(r.rules) > 1
        if breakable and (len(prefix) + len(text) > width or "\n" in text):
            lines.append(prefix + ("not (" if r.negate else "("))
            lines.extend(_block(r, depth + 1, width))
            lines.append("    " * depth + ")")
        else:
            lines.append(prefix + text)
    return lines


def to_text(tree: Node, width: int = 80) -> str:
    """The rule in the ``%%segment`` language.

    Short rules fit on one line; longer ones put each top-level condition on its own line,
    continuation lines starting with ``and`` / ``or``::

        >>> to_text(parse('city = "Madrid" and spend(last 6 months) >= 500'))
        'city = "Madrid" and spend(last 6 months) >= 500'

    Raises ``ValueError`` for a tree the language cannot express (a time-zone aware
    timestamp, an infinite decimal, a field name with a newline, nesting hundreds deep).
    """
    root = canonical(tree)
    try:
        text = _root(root)
    except RecursionError:
        raise ValueError("the rule is nested too deeply to print") from None
    if len(root.rules) < 2 or (len(text) <= width and "\n" not in text):
        return text
    if root.negate:
        return "\n".join(["not ("] + _block(root, 1, width) + [")"])
    return "\n".join(_block(root, 0, width))
