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
from .store import insert_rows

BASIS_DDL = """CREATE TABLE IF NOT EXISTS catalog.refresh_basis (
    segment_id INTEGER NOT NULL,
    run_id BIGINT NOT NULL,         -- the refresh that stored the members
    revision INTEGER NOT NULL,      -- of the rule it evaluated
    data_version VARCHAR NOT NULL)  -- of the retail data it read (a load makes a new one)"""

#: tables whose rows carry the customer they belong to
CUSTOMER_TABLES = ("customers", "orders", "order_lines", "events")

Slice = tuple[str, str, dt.datetime, dt.datetime]  # table, column, first, last instant
#: slices of these columns are scanned on the orders they were copied from (schema.py)
LINES_AS_ORDERS = {("order_lines", "ordered_at"): "orders"}


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


def sources(registry, tree, params: dict, as_of: dt.datetime) -> frozenset | None:
    """The passes (``o``, ``l``, ``e``) and derived tables (``lc``) a rule reads."""
    c = Compiler(registry, as_of, params)
    try:
        c.predicate(tree)
    except (SegjupyterError, ValueError, OverflowError):
        return None
    return frozenset({k[0] for k in c._terms} | (c._uses & {"lc"}))


def incremental_groups(registry, targets, now: dt.datetime) -> list[tuple[list, list[Slice]]]:
    """The ``targets`` (not first refreshes, stored basis checked) that can be refreshed
    from their last answer, in groups evaluated together, each with the slices of its rules.

    A group is the rules refreshed last as of the same instant that read the same tables:
    rules over orders alone need not look at the customers whose order lines moved
    (the lines pass is the costly one). Each group is compiled together, and its rules
    one by one only when that fails."""
    by_key: dict[tuple, list] = {}
    for t in targets:
        if cross_customer(t.tree):
            continue
        used = sources(registry, t.tree, t.params, now)
        if used is not None:
            by_key.setdefault((t.last_as_of, used), []).append(t)
    out = []
    for (prev, _used), group in by_key.items():
        found = time_slices(registry, [(t.tree, t.params) for t in group], prev, now)
        if found is not None:
            out.append((group, found))
            continue
        for t in group if len(group) > 1 else ():
            found = time_slices(registry, [(t.tree, t.params)], prev, now)
            if found is not None:
                out.append(([t], found))
    return out


def _instant(v) -> dt.datetime:
    return v if isinstance(v, dt.datetime) else start_of_day(v)


def affected_sql(groups: list[list[Slice]], key_type: str) -> str:
    """``SELECT DISTINCT customer_id, g``: the customers with a time value in the slices of
    group ``g`` (one scan per table for all groups)."""
    by_table: dict[str, dict[int, dict[str, list]]] = {}
    for g, slices in enumerate(groups):
        for table, col, lo, hi in slices:
            # a line's customer and time are its order's (copied at load): the customers of
            # a slice of lines are among those of the same slice of orders, a third the rows
            table = LINES_AS_ORDERS.get((table, col), table)
            by_table.setdefault(table, {}).setdefault(g, {}).setdefault(col, []).append((lo, hi))
    parts = []
    for table, per_group in sorted(by_table.items()):
        conds = {g: " OR ".join(_spans(col, spans) for col, spans in sorted(cols.items()))
                 for g, cols in per_group.items()}
        flags = ", ".join(f"CASE WHEN {c} THEN {g} END" for g, c in sorted(conds.items()))
        parts.append(f'SELECT customer_id, unnest([{flags}]) AS g FROM "{table}" WHERE '
                     + " OR ".join(f"({c})" for c in conds.values()))
    if not parts:
        return f"SELECT CAST(NULL AS {key_type}) AS customer_id, 0 AS g WHERE false"
    return ("SELECT DISTINCT customer_id, g FROM (" + " UNION ALL ".join(parts) +
            ") WHERE g IS NOT NULL")


def _spans(col: str, spans: list[tuple[dt.datetime, dt.datetime]]) -> str:
    """``col BETWEEN a AND b OR ...`` of the merged spans."""
    merged: list[list[dt.datetime]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1] + dt.timedelta(microseconds=1):
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return " OR ".join(f'"{col}" BETWEEN TIMESTAMP \'{lo.isoformat(sep=" ")}\' AND '
                       f'TIMESTAMP \'{hi.isoformat(sep=" ")}\'' for lo, hi in merged)


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
    insert_rows(con, "catalog.refresh_basis", rows)
