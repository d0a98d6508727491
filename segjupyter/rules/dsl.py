"""The ``%%segment`` language: text to the canonical rule tree and back.

The grammar is ``segment.lark`` (LALR, lark); ``docs/segment-language.md`` describes the
language. :func:`parse` returns the canonical :class:`~.model.Group`; :func:`to_text` prints
a tree so that ``parse(to_text(tree)) == tree``. Every failure is a
:class:`~segjupyter.errors.SegmentSyntaxError` with line, column, the offending text and, when
one is close, a suggestion.

    >>> parse('city in ("Madrid", "Barcelona") and spend(last 12 months) >= :min_spend')
    Group(op='and', rules=(Attribute(field='city', op='in', ...), Behaviour(...)), ...)
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

from ..errors import SegmentSyntaxError
from .dsl_errors import explain
from .dsl_printer import RESERVED, condition_text, format_value, quote_name, to_text
from .model import (ATTRIBUTE_WINDOW_KINDS, DERIVED_FIELDS, METRICS, Attribute, Behaviour,
                    Derived, Group, MonthDay, Param, RelativeDate, SegmentRef, Sql, Window,
                    canonical, norm_value)

__all__ = ["parse", "to_text", "condition_text", "format_value", "quote_name"]

_UNITS = {"d": "day", "w": "week", "m": "month", "y": "year"}
_SIMPLE_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t"}
_CHECKED_OPS = ("=", "!=", "in", "not in")  # ops whose string values must be real values


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files(__package__).joinpath("segment.lark").read_text("utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True)


def parse(text: str, registry=None, params: dict | None = None) -> Group:
    """Parse ``%%segment`` text into the canonical rule tree.

    With a ``registry`` (:class:`~segjupyter.workspace.registry.FieldRegistry`) names are
    checked too: unknown or unavailable fields and event types, and category values that
    look like a typo of a known value, are errors with a did-you-mean. With ``params`` (the
    values that will be bound), every ``:name`` used must be one of them.

    >>> parse('spend(brand = "Acme", last 6 months) >= 500')
    Group(op='and', rules=(Behaviour(metric='spend', op='>=', value=500, ...),), negate=False)
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() takes the rule text, not {type(text).__name__}")
    try:
        tree = _parser().parse(text)
    except LarkError:
        raise explain(text, _parser()) from None
    _check_nesting(tree, text)
    try:
        return _Builder(text, registry, params).build(tree)
    except RecursionError:
        raise SegmentSyntaxError("the rule is nested too deeply", text=text) from None


_NESTING_NODES = ("paren", "negation", "empty_group", "bought", "behaviour", "events")


def _check_nesting(tree: Tree, text: str) -> None:
    """Refuse, at the offending ``(`` or ``not``, a rule nested deeper than
    :data:`~.nesting.MAX_NESTING` (iteratively: the builder below recurses)."""
    from .nesting import MAX_NESTING, too_deep_message
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if node.data in _NESTING_NODES:
            depth += 1
            if depth > MAX_NESTING:
                tok = next(node.scan_values(lambda v: isinstance(v, Token)), None)
                line = getattr(node.meta, "line", None) or getattr(tok, "line", 1)
                column = getattr(node.meta, "column", None) or getattr(tok, "column", 1)
                raise SegmentSyntaxError(too_deep_message(), line=line, column=column,
                                         token=str(tok) if tok is not None else None,
                                         text=text)
        stack.extend((c, depth) for c in node.children if isinstance(c, Tree))


@dataclass(frozen=True)
class _Paren:
    """A parenthesised expression, kept until ``not`` has seen it: ``not ((a or b))``
    negates a group holding the group, ``not (a or b)`` negates the group itself."""

    node: Any


@dataclass(frozen=True)
class _Val:
    value: Any
    tok: Token


def _unwrap(x):
    while isinstance(x, _Paren):
        x = x.node
    return x


def _children(t: Tree) -> list[Tree]:
    return [c for c in t.children if isinstance(c, Tree)]


def _tokens(t: Tree, *types: str) -> list[Token]:
    return [c for c in t.children if isinstance(c, Token) and (not types or c.type in types)]


class _Builder:
    """Walks lark's parse tree and builds rule nodes, checking names and values."""

    def __init__(self, text: str, registry, params: dict | None):
        self.text = text
        self.registry = registry
        self.params = params

    def error(self, message: str, tok: Token, suggestion: str | None = None,
              column_offset: int = 0) -> SegmentSyntaxError:
        return SegmentSyntaxError(message, line=tok.line, column=tok.column + column_offset,
                                  token=str(tok), suggestion=suggestion, text=self.text)

    def build(self, tree: Tree) -> Group:
        if not tree.children:
            return Group()
        return canonical(_unwrap(self.expr(tree.children[0], purchase=False)))

    # -- boolean structure -------------------------------------------------------------------
    def expr(self, t: Tree, purchase: bool):
        kind = t.data
        if kind in ("or_expr", "and_expr", "f_or", "f_and"):
            items = [self.expr(c, purchase) for c in _children(t)]
            if len(items) == 1:
                return items[0]
            op = "or" if kind in ("or_expr", "f_or") else "and"
            return Group(op, tuple(_unwrap(x) for x in items))
        if kind == "paren":
            return _Paren(self.expr(_children(t)[0], purchase))
        if kind == "empty_group":
            return _Paren(Group())
        if kind == "negation":
            inner = self.expr(_children(t)[0], purchase)
            if isinstance(inner, _Paren) and isinstance(inner.node, _Paren):
                return Group("and", (_unwrap(inner),), negate=True)
            node = _unwrap(inner)
            if isinstance(node, Group) and not node.negate:
                return replace(node, negate=True)
            return Group("and", (node,), negate=True)
        return self.condition(t, purchase)

    # -- conditions --------------------------------------------------------------------------
    def condition(self, t: Tree, purchase: bool):
        kind = t.data
        first = next(t.scan_values(lambda v: isinstance(v, Token)))
        try:
            if kind in ("attribute", "bare"):
                tok = _tokens(_children(t)[0])[0]
                name = self.field_name(tok, purchase)
                if kind == "bare":
                    return Attribute(name, "is true")
                op, value, ignore_year = self.field_test(_children(t)[1], name, purchase)
                return Attribute(name, op, value, ignore_year)
            if kind == "derived":
                name = first.value.lower()
                ignore = _tokens(_children(t)[0], "IGNORE")
                if ignore:
                    raise self.error("'ignore year' goes with date fields, not derived ones",
                                     ignore[0])
                op, value, _ = self.field_test(_children(t)[0], name, None)
                return Derived(name, op, value)
            if kind == "predicted":  # predicted_clv(12 months) >= 200
                name = first.value.lower()
                n_tok = _tokens(t, "INT")[0]
                unit_tree, test = _children(t)
                if int(n_tok) < 1:
                    raise self.error(f"{name}(N ...) needs N of 1 or more", n_tok)
                if _tokens(test, "IGNORE"):
                    raise self.error("'ignore year' goes with date fields, not derived ones",
                                     _tokens(test, "IGNORE")[0])
                op, value, _ = self.field_test(test, name, None)
                unit = unit_tree.children[0].value.lower().rstrip("s")
                return Derived(name, op, value, horizon=(int(n_tok), unit))
            if kind in ("behaviour", "bought", "events"):
                return self.behaviour(t)
            if kind == "segment_ref":
                return SegmentRef(self.string(_tokens(t, "STRING")[0]))
            if kind == "sql":
                return Sql(self.string(_tokens(t, "STRING")[0]))
        except ValueError as e:  # a model check the grammar does not cover
            raise self.error(str(e), first) from None
        raise self.error(f"unsupported construct {kind!r}", first)

    def field_name(self, tok: Token, purchase: bool) -> str:
        if tok.type == "QUOTED_NAME":
            name = tok.value[1:-1].replace("``", "`")
            if not name:
                raise self.error("empty field name", tok)
        else:
            name = tok.value
            if name.lower() in RESERVED:
                raise self.error(f"{name!r} is a reserved word; write `{name}` in backticks "
                                 "for a field of that name", tok)
        if self.registry is None:
            return name
        space = self.registry.purchase if purchase else self.registry.customer
        if name in space:
            return name
        folded = [n for n in space if n.lower() == name.lower()]
        if len(folded) == 1:
            return folded[0]
        other = self.registry.customer if purchase else self.registry.purchase
        if name in other:
            raise self.error(
                f"{name!r} is a customer field, not a purchase field: filters inside "
                f"metric(...) use product, store, order and line fields" if purchase else
                f"{name!r} is a purchase field: use it inside a behaviour, e.g. "
                f"bought({name} = ...) or spend({name} = ...) > 0", tok)
        if name in self.registry.unavailable:
            raise self.error(f"field {name!r} is unavailable: "
                             f"{self.registry.unavailable[name]}", tok)
        candidates = list(space)
        if not purchase:  # 'spnd > 3' is more likely a metric than a field
            candidates += list(METRICS) + list(DERIVED_FIELDS)
        what = "purchase field" if purchase else "field"
        raise self.error(f"unknown {what} {name!r}", tok, _suggest(name, candidates))

    def field_test(self, t: Tree, name: str, purchase: bool | None):
        """(op, value, ignore_year) of an operator and its values; ``purchase`` is None for
        derived fields."""
        kind = t.data
        if kind in ("is_null", "is_not_null", "is_true", "is_false"):
            return kind.replace("_", " "), None, False
        if kind == "cmp":
            op = {"<>": "!=", "==": "="}.get(t.children[0].value, t.children[0].value)
            val = self.value(_children(t)[0])
            self.check_value(name, purchase, op, [val])
            return op, val.value, False
        if kind in ("in_list", "not_in_list"):
            op = "in" if kind == "in_list" else "not in"
            values = self.value_list(_children(t)[0])
            if isinstance(values, _Val):
                return op, values.value, False
            self.check_value(name, purchase, op, values)
            return op, tuple(v.value for v in values), False
        if kind in ("in_window", "not_in_window"):
            return ("in window" if kind == "in_window" else "not in window",
                    self.field_window(_children(t)[0]), False)
        if kind == "between":
            lo, hi = (self.value(c) for c in _children(t))
            if _tokens(t, "IGNORE"):
                return "between", (self.month_day(lo), self.month_day(hi)), True
            return "between", (lo.value, hi.value), False
        op = {"contains": "contains", "not_contains": "not contains",
              "starts_with": "starts with", "ends_with": "ends with"}[kind]
        return op, self.value(_children(t)[0]).value, False

    def behaviour(self, t: Tree) -> Behaviour:
        head = t.children[0]
        metric = head.value.lower()
        filt, window, event_type = None, Window(), None
        trees = _children(t)
        if trees and trees[0].data in ("call", "event_call"):
            call = trees.pop(0)
            for c in call.children:
                if isinstance(c, Tree) and c.data == "f_or":
                    filt = canonical(_unwrap(self.expr(c, purchase=True)))
                elif isinstance(c, Tree):
                    window = self.window(c)
                elif c.type == "STRING":
                    event_type = self.event_type(c)
        if metric == "events" and self.registry is not None and \
                not self.registry.has_table("events"):
            raise self.error("events(...) needs event data; the workspace has no events table",
                             head)
        if metric == "bought":
            return Behaviour("bought", filter=filt, window=window)
        comparison = trees[0]
        kind = comparison.data
        if kind in ("is_null", "is_not_null"):
            op, value = kind.replace("_", " "), None
        elif kind == "cmp":
            op = {"<>": "!=", "==": "="}.get(comparison.children[0].value,
                                             comparison.children[0].value)
            value = self.value(_children(comparison)[0]).value
        else:
            op, value = "between", tuple(self.value(c).value for c in _children(comparison))
        return Behaviour(metric, op, value, filt, window, event_type)

    def event_type(self, tok: Token) -> str:
        name = self.string(tok)
        known = getattr(self.registry, "event_types", ()) if self.registry is not None else ()
        if known and name not in known:
            raise self.error(f"unknown event type {name!r}; the workspace has "
                             f"{', '.join(known)}", tok, _suggest(name, known))
        return name

    # -- windows -----------------------------------------------------------------------------
    def window(self, t: Tree) -> Window:
        kind = t.data[2:]
        if kind in ("all", "this_year", "last_year", "this_month", "last_month"):
            return Window(kind)
        if kind == "last":
            n_tok = _tokens(t, "INT")[0]
            n = int(n_tok)
            if n < 0:
                raise self.error("the window 'last N ...' needs N of 0 or more", n_tok)
            unit = _children(t)[0].children[0].value.lower().rstrip("s")
            return Window("last", n, unit)
        dates = [self.window_date(c) for c in _children(t)]
        if kind == "since":
            return Window("since", start=dates[0])
        return Window("between", start=dates[0], end=dates[1])

    def field_window(self, t: Tree) -> Window:
        """The window after a date field's ``in``: last N units, this / last year or month."""
        window = self.window(t)
        if window.kind not in ATTRIBUTE_WINDOW_KINDS:
            tok = next(t.scan_values(lambda v: isinstance(v, Token)))
            hint = {"all": "every date is in all time; write 'is not null'",
                    "since": "write 'field >= \"YYYY-MM-DD\"'",
                    "between": "write 'field between \"YYYY-MM-DD\" and \"YYYY-MM-DD\"'"}
            raise self.error(
                "a date field is 'in' the last N days / weeks / months / years, this year, "
                f"last year, this month or last month; {hint[window.kind]}", tok)
        return window

    def window_date(self, t: Tree):
        tok = t.children[0]
        if tok.type == "PARAM":
            return self.param(tok)
        value = self.string(tok)
        try:
            day = norm_value(value)
        except ValueError as e:
            raise self.error(str(e), tok) from None
        if not isinstance(day, dt.date):
            raise self.error(f'expected a date like "2025-01-31", not {value!r}', tok)
        return day

    # -- values ------------------------------------------------------------------------------
    def value(self, t: Tree) -> _Val:
        tok = t.children[0]
        if isinstance(tok, Tree):
            return self.anchored(tok)
        kind = tok.type
        if kind == "STRING":
            s = self.string(tok)
            try:
                return _Val(norm_value(s), tok)
            except ValueError as e:
                raise self.error(str(e), tok) from None
        if kind == "INT":
            return _Val(int(tok), tok)
        if kind == "DECIMAL":
            return _Val(Decimal(tok.value), tok)
        if kind == "RELDATE":
            return _Val(RelativeDate(int(tok.value[:-1]), _UNITS[tok.value[-1].lower()]), tok)
        if kind == "TODAY":
            return _Val(RelativeDate(0, "day"), tok)
        if kind in ("TRUE", "FALSE"):
            return _Val(kind == "TRUE", tok)
        return _Val(self.param(tok), tok)

    def anchored(self, t: Tree) -> _Val:
        """``start of month``, ``end of year -1d``: a relative date counted from an end of
        as_of's month or year."""
        edge, _of, period, *offset = _tokens(t)
        anchor = f"{'month' if period.type == 'MONTH' else 'year'}_{edge.value.lower()}"
        amount, unit = 0, "day"
        if offset:
            amount, unit = int(offset[0].value[:-1]), _UNITS[offset[0].value[-1].lower()]
        return _Val(RelativeDate(amount, unit, anchor), edge)

    def value_list(self, t: Tree):
        params = _tokens(t, "PARAM")
        if params:
            return _Val(self.param(params[0]), params[0])
        return [self.value(c) for c in _children(t)]

    def month_day(self, v: _Val):
        if isinstance(v.value, (Param, RelativeDate)):
            return v.value
        if isinstance(v.value, str):
            parts = v.value.split("-")
            if len(parts) == 2 and all(p.isdigit() and len(p) <= 2 for p in parts):
                try:
                    return MonthDay(int(parts[0]), int(parts[1]))
                except ValueError as e:
                    raise self.error(f"{v.value!r} is not a day of the year: {e}", v.tok) \
                        from None
        raise self.error(f"with 'ignore year' the values are month-days like \"12-02\" or "
                         f"relative dates (today, +7d, start of month), not "
                         f"{format_value(v.value)}", v.tok)

    def param(self, tok: Token) -> Param:
        name = tok.value[1:]
        if self.params is not None and name not in self.params:
            given = ", ".join(":" + p for p in sorted(self.params)) or "none"
            close = _suggest(name, self.params)
            raise self.error(f"no value for parameter :{name} (parameters given: {given})",
                             tok, close and ":" + close)
        return Param(name)

    def string(self, tok: Token) -> str:
        raw = tok.value
        if raw[:3] in ('"""', "'''"):
            return raw[3:-3]
        body = raw[1:-1]
        if "\\" not in body:
            return body
        out, i = [], 0
        while i < len(body):
            ch = body[i]
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            esc = body[i + 1]
            if esc in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[esc])
                i += 2
                continue
            if esc in "uU":
                size = 4 if esc == "u" else 8
                digits = body[i + 2:i + 2 + size]
                if len(digits) == size and all(c in "0123456789abcdefABCDEF" for c in digits) \
                        and int(digits, 16) <= 0x10FFFF:
                    out.append(chr(int(digits, 16)))
                    i += 2 + size
                    continue
                raise self.error(f"bad escape '\\{esc}{digits}': \\{esc} takes {size} hex "
                                 "digits", tok, column_offset=1 + i)
            raise self.error(f"unknown escape '\\{esc}' in a string (escapes: \\\\ \\\" \\' "
                             "\\n \\r \\t \\uXXXX)", tok, column_offset=1 + i)
        return "".join(out)

    # -- registry checks ---------------------------------------------------------------------
    def check_value(self, name: str, purchase: bool | None, op: str, values: list[_Val]):
        """A string value close to, but not among, a category's values is a typo."""
        if self.registry is None or op not in _CHECKED_OPS:
            return
        if purchase is None:
            known = DERIVED_FIELDS[name][1] or ()
        else:
            field = (self.registry.purchase if purchase else self.registry.customer).get(name)
            known = field.values if field is not None and field.type == "category" else ()
        if not known:
            return
        for v in values:
            if isinstance(v.value, str) and v.value not in known:
                close = difflib.get_close_matches(v.value, [str(k) for k in known], n=1,
                                                  cutoff=0.75)
                if close:
                    raise self.error(f"unknown value {v.value!r} for {name}", v.tok, close[0])


def _suggest(name: str, candidates) -> str | None:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not match:  # case differences alone should still find the name
        lowered = {str(c).lower(): c for c in candidates}
        match = [lowered[m] for m in difflib.get_close_matches(name.lower(), list(lowered),
                                                               n=1, cutoff=0.6)]
    return match[0] if match else None
