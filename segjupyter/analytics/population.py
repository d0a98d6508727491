"""The customers an analytic looks at, as SQL common table expressions.

Each population (a segment, or all customers) becomes ``popN AS MATERIALIZED (SELECT
customer_id ...)`` at the head of the analytic's own query, so DuckDB evaluates the segment
and the analytic in one statement and the segment's rule is computed once. The segment's SQL
comes from the one compiler (``rules/compile.py``); its placeholders are renamed per
population (``$s0_p0``) so several segments bind their values side by side.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import pandas as pd
from sqlglot import exp

from ..errors import AnalyticsError
from ..rules import model
from ..rules.segment import Segment

ALL_CUSTOMERS = "All customers"
_PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def as_segment(ws, segment) -> Segment | None:
    """None (all customers), a :class:`Segment`, ``%%segment`` text, JSON or a rule node."""
    if segment is None or isinstance(segment, Segment):
        return segment
    if isinstance(segment, (str, dict, model.Group, model.Attribute, model.Behaviour,
                            model.Derived, model.SegmentRef, model.Sql)):
        return ws.segment(segment)
    raise AnalyticsError(f"a segment must be a Segment, rule text or a rule tree (or None for "
                         f"all customers), not {type(segment).__name__}")


def segment_label(segment: Segment | None, index: int = 0) -> str:
    """Display name: the segment's name, else its rule text, else ``segment N``."""
    if segment is None:
        return ALL_CUSTOMERS
    if segment.name:
        return segment.name
    try:
        text = " ".join(segment.text.split())
    except Exception:  # the language printer is optional for display
        text = ""
    if text:
        return text if len(text) <= 40 else text[:39] + "…"
    return f"segment {index + 1}"


def labelled(ws, segments) -> list[tuple[str, Segment | None]]:
    """``(label, segment)`` pairs, labels unique, from one segment, a list or a
    ``{label: segment}`` dict."""
    if isinstance(segments, dict):
        items = [(str(k), as_segment(ws, v)) for k, v in segments.items()]
    else:
        if segments is None:
            segments = []
        elif not isinstance(segments, (list, tuple)):
            segments = [segments]
        items = []
        for i, s in enumerate(segments):
            seg = as_segment(ws, s)
            items.append((segment_label(seg, i), seg))
    seen: dict[str, int] = {}
    out = []
    for label, seg in items:
        n = seen.get(label, 0)
        seen[label] = n + 1
        out.append((label if n == 0 else f"{label} ({n + 1})", seg))
    return out


@dataclass
class Scope:
    """One read operation with the population CTEs ``pop0``, ``pop1``, ... ready."""

    con: object
    ctes: list[str]
    values: dict = field(default_factory=dict)

    def run(self, select: str, params: dict | None = None, ctes: tuple[str, ...] = ()
            ) -> pd.DataFrame:
        """Run ``WITH <populations>, <ctes> <select>`` binding the populations' values and
        ``params`` (named ``$name`` placeholders)."""
        heads = self.ctes + list(ctes)
        sql = ("WITH " + ",\n".join(heads) + "\n" if heads else "") + select
        values = {**self.values, **(params or {})}
        # DuckDB refuses values for placeholders the statement does not use
        used = set(_PLACEHOLDER.findall(sql))
        return self.con.execute(sql, {k: v for k, v in values.items() if k in used}).df()


def population_sql(segment: Segment | None, as_of, con, prefix: str) -> tuple[str, dict]:
    """``SELECT customer_id`` of ``segment`` as of ``as_of`` and the values to bind, with
    placeholders renamed ``$<prefix><name>``."""
    if segment is None:
        return "SELECT customer_id FROM customers", {}
    c = segment._compiler(as_of, con=con)
    query = c.query([exp.alias_(c.customer_id(), "customer_id")], c.predicate(segment.tree))
    names = set(c.values)

    def rename(node):
        if isinstance(node, exp.Placeholder) and node.name in names:
            return exp.Placeholder(this=prefix + node.name)
        return node

    text = query.transform(rename).sql(dialect="duckdb")
    return text, {prefix + k: v for k, v in c.values.items()}


@contextmanager
def populations(ws, segments: list[Segment | None], as_of) -> Iterator[Scope]:
    """Open a read operation and yield a :class:`Scope` whose CTE ``popN`` holds the
    customers of ``segments[N]`` as of ``as_of``."""
    need_catalog = any(s is not None and s._needs_catalog() for s in segments)
    with ws.storage.read(catalog=need_catalog) as con:
        ctes, values = [], {}
        for i, seg in enumerate(segments):
            sql, vals = population_sql(seg, as_of, con, f"s{i}_")
            ctes.append(f"pop{i} AS MATERIALIZED ({sql})")
            values.update(vals)
        yield Scope(con, ctes, values)


def has_table(ws, name: str) -> bool:
    return name in ws.fields.tables


def has_column(ws, name: str) -> bool:
    return name in ws.fields.customer
