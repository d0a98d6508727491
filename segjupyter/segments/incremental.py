"""Daily refreshes that evaluate only the customers whose answer can have changed.

A rule compiles to SQL whose only dependence on ``as_of`` is a set of time bounds (window
starts, relative dates, ``as_of`` itself), each compared with a time value of a customer's
own rows or attributes. With the same retail data and the same rule, a customer's answer
as of ``now`` can therefore differ from the stored answer as of ``prev`` only if one of their
time values lies between a bound's value at ``prev`` and at ``now``: every comparison of every
other customer gives the same result. A daily refresh (``prev`` a day before ``now``)
re-evaluates the customers with a row in those one-day slices and keeps everybody else.

The stored members must be the rule's answer on *this* data: a segment is refreshed this
way only when its last refresh evaluated the same rule revision on the same retail file
(``catalog.refresh_basis``, written with every refresh). Rules where one customer's answer
depends on other customers (RFM scores are ranks, predicted values come from a model fitted
per day, advanced SQL, ``in_segment``) and rules whose SQL changes shape between the two
instants are evaluated in full, as are segments other segments of the run use.
"""

from __future__ import annotations

import datetime as dt

from sqlglot import exp

from ..errors import SegjupyterError
from ..rules.compile import Compiler
from ..rules.windows import start_of_day
from .rewrite import prefix_params

BASIS_DDL = """CREATE TABLE IF NOT EXISTS catalog.refresh_basis (
    segment_id INTEGER NOT NULL,
    run_id BIGINT NOT NULL,         -- the refresh that stored the members
    revision INTEGER NOT NULL,      -- of the rule it evaluated
    data_version VARCHAR NOT NULL)  -- of the retail data it read (a load makes a new one)"""

#: tables whose rows carry the customer they belong to
CUSTOMER_TABLES = ("customers", "orders", "order_lines", "events")

Slice = tuple[str, str, dt.datetime, dt.datetime]  # table, column, first, last instant


def time_slices(registry, rules: list[tuple], prev: dt.datetime, now: dt.datetime
                ) -> list[Slice] | None:
    """The slices of customers' time values between the bounds of the ``rules`` (pairs of
    tree and params, compiled together) as of ``prev`` and as of ``now``; ``None`` when they
    cannot be refreshed from their answer as of ``prev`` (see the module docstring)."""
    compiled = []
    for as_of in (prev, now):
        c = Compiler(registry, as_of)  # no catalog refs: in_segment and SQL fail here
        projs = [c.customer_id()]
        try:
            for i, (tree, params) in enumerate(rules):
                tree, params = prefix_params(tree, params, f"r{i}__")
                c.params.update(params)
                projs.append(exp.alias_(c.predicate(tree), f"m{i}"))
            query = c.query(projs)
        except (SegjupyterError, ValueError, OverflowError):
            return None
        if "rfm" in c._uses or c._predicted or query.find(exp.Window) is not None:
            return None
        text, values = c.render(query)
        compiled.append((text, values, c.time_binds))
    (text0, values0, _), (text1, values1, binds) = compiled
    if text0 != text1:
        return None
    out: list[Slice] = []
    for name, v0 in values0.items():
        v1 = values1[name]
        if v0 == v1:
            continue
        at = binds.get(name)
        if at is None or at[0] not in CUSTOMER_TABLES:
            return None
        lo, hi = sorted((_instant(v0), _instant(v1)))
        # whole days: a day bound on a DATE column, and generous for instants
        out.append((at[0], at[1], start_of_day(lo.date()),
                    start_of_day(hi.date() + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)))
    return out


def cross_customer(tree) -> bool:
    """True when a customer's answer to ``tree`` depends on other customers or the catalog
    (RFM ranks, predicted values, advanced SQL, ``in_segment``): never incremental."""
    from ..rules.model import Derived, Group, SegmentRef, Sql
    if isinstance(tree, Group):
        return any(cross_customer(r) for r in tree.rules)
    if isinstance(tree, (SegmentRef, Sql)):
        return True
    return isinstance(tree, Derived) and tree.field != "lifecycle"


def incremental_targets(registry, targets, now: dt.datetime) -> list[Slice]:
    """Mark ``targets`` (not first refreshes, stored basis checked) that can be refreshed
    from their last answer (``t.incremental``) and return the slices of them all: those
    refreshed last as of the same instant are compiled together, and one by one only when
    that fails."""
    out: list[Slice] = []
    by_prev: dict[dt.datetime, list] = {}
    for t in targets:
        if not cross_customer(t.tree):
            by_prev.setdefault(t.last_as_of, []).append(t)
    for prev, group in by_prev.items():
        found = time_slices(registry, [(t.tree, t.params) for t in group], prev, now)
        if found is not None:
            out += found
            for t in group:
                t.incremental = True
            continue
        for t in group if len(group) > 1 else ():
            found = time_slices(registry, [(t.tree, t.params)], prev, now)
            if found is not None:
                out += found
                t.incremental = True
    return out


def _instant(v) -> dt.datetime:
    return v if isinstance(v, dt.datetime) else start_of_day(v)


def affected_sql(slices: list[Slice], key_type: str) -> str:
    """``SELECT DISTINCT customer_id`` of the customers with a time value in ``slices``."""
    by_col: dict[tuple[str, str], list[tuple[dt.datetime, dt.datetime]]] = {}
    for table, col, lo, hi in slices:
        by_col.setdefault((table, col), []).append((lo, hi))
    parts = []
    for (table, col), spans in sorted(by_col.items()):
        merged: list[list[dt.datetime]] = []
        for lo, hi in sorted(spans):
            if merged and lo <= merged[-1][1] + dt.timedelta(microseconds=1):
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        cond = " OR ".join(f'"{col}" BETWEEN TIMESTAMP \'{lo.isoformat(sep=" ")}\' AND '
                           f'TIMESTAMP \'{hi.isoformat(sep=" ")}\'' for lo, hi in merged)
        parts.append(f'SELECT customer_id FROM "{table}" WHERE {cond}')
    if not parts:
        return f"SELECT CAST(NULL AS {key_type}) AS customer_id WHERE false"
    return ("SELECT DISTINCT customer_id FROM (" + " UNION ALL ".join(parts) + ")")


def stored_basis(con, segment_ids: list[int]) -> dict[int, tuple[int, int, str]]:
    """``segment id -> (run_id, revision, data_version)`` of the last refresh (catalog read);
    empty for a catalog written before the basis was recorded."""
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'catalog' "
                         "AND table_name = 'refresh_basis'").fetchone()[0]
    if not exists or not segment_ids:
        return {}
    return {r[0]: (r[1], r[2], r[3]) for r in con.execute(
        "SELECT segment_id, run_id, revision, data_version FROM catalog.refresh_basis "
        "WHERE list_contains(?, segment_id)", [segment_ids]).fetchall()}


def write_basis(con, refreshed: list[int], rows: list[tuple[int, int, int, str]]) -> None:
    """Replace the basis of the ``refreshed`` segments by ``rows`` of ``(segment id, run id,
    revision, data version)`` (inside the refresh's write)."""
    con.execute(BASIS_DDL)
    if not refreshed:
        return
    con.execute("DELETE FROM catalog.refresh_basis WHERE list_contains(?, segment_id)",
                [refreshed])
    if rows:
        con.executemany("INSERT INTO catalog.refresh_basis VALUES (?, ?, ?, ?)", rows)
