"""The SQL that types and validates one table's rows during a load.

:func:`typed_rows` builds one ``SELECT`` over a staged table: every canonical column read as
its type, a ``_reason`` column holding the index of the first check a row fails (NULL when
it passes), and ``_w<i>`` flags for warnings. References are checked with left joins on the
accepted rows of the parent table. Duplicates are marked afterwards
(:func:`mark_duplicates`), only when there are any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import casts
from .load_report import Issue
from .schema import ID, MONEY, REFERENCES, TABLES
from .sources import ident

NOUN = {"customers": "customer", "orders": "order", "order_lines": "line", "events": "event",
        "products": "product", "stores": "store"}
#: Id columns: a missing one is a missing key, not a missing value.
ID_COLUMNS = {"customer_id", "order_id", "product_id", "store_id"}


@dataclass
class TypedRows:
    sql: str
    issues: list[Issue]  # rejection reasons; ``_reason`` is an index into this list
    warnings: list[tuple[str, Issue]]  # (condition, warning); ``_w<i>`` holds condition i
    duplicate: int | None  # index of the duplicate reason, for tables with a key
    #: ``_row, _reason, _w<i>`` of the warned rows, read from the stage alone (no joins):
    #: the flagged rows when no row is rejected, as warnings never depend on a parent
    warned_sql: str = ""


def typed_rows(table: str, stage: str, types: dict[str, str], custom: dict[str, str],
               parents: dict[str, str], id_types: dict[str, str], tz: str) -> TypedRows:
    """SQL reading ``stage`` (``_row`` + columns under workspace names with source ``types``)
    as canonical ``table`` rows. ``custom`` maps custom columns to their target type;
    ``parents`` maps each referenced table present in the workspace to a relation of its
    accepted rows."""
    spec = TABLES[table]
    issues: list[Issue] = []
    warns: list[tuple[str, Issue]] = []

    def reason(code: str, column: str, message: str) -> int:
        issues.append(Issue(code, column, message))
        return len(issues) - 1

    def target(c) -> str:
        return id_types[c.name] if c.type == ID else c.type

    refs = {col: parent for (tab, col), (parent, _) in REFERENCES.items()
            if tab == table and parent in parents and col in types}
    exprs: dict[str, str] = {}
    flags: dict[str, str] = {}  # column -> SQL "a value was given", for checked columns
    for c in spec.columns:
        if c.name in spec.derived:
            continue
        if c.name not in types:
            exprs[c.name] = f"CAST(NULL AS {target(c)})"
            continue
        col, typ, tt = ident(c.name), types[c.name], target(c)
        checked = tt != "VARCHAR" or not c.nullable or c.name in refs
        exprs[c.name] = casts.to_type(col, typ, tt, tz, trim=c.type == ID or checked)
        if checked:
            flags[c.name] = casts.present(col, typ)
    if table == "order_lines":
        if "line_no" not in types:
            exprs["line_no"] = (f"CAST(row_number() OVER (PARTITION BY {exprs['order_id']} "
                                "ORDER BY _row) AS INTEGER)")
        if "amount" not in types and "unit_price" in types:
            exprs["amount"] = f"CAST({exprs['quantity']} * {exprs['unit_price']} AS {MONEY})"
    for col, typ in custom.items():
        exprs[col] = ident(col) if typ == types[col] else casts.to_type(
            ident(col), types[col], typ, tz)

    checks: list[tuple[str, int]] = []
    for c in spec.columns:
        if not c.nullable and c.name in flags:  # absent ones were refused or generated
            code = "missing_key" if c.name in ID_COLUMNS else "missing_value"
            checks.append((f"NOT _p_{c.name}", reason(code, c.name, f"missing {c.name}")))
    for c in spec.columns:
        tt = target(c)
        if c.name not in flags or tt == "VARCHAR" or c.name in refs:
            continue
        bad = f"(_p_{c.name} AND {ident(c.name)} IS NULL)"
        if tt in ("DATE", "TIMESTAMP"):
            code, msg = "unparsable_date", f"unparsable {tt.lower()} in {c.name}"
        elif tt == MONEY or c.name == "quantity":
            code = "non_numeric"
            msg = f"non-numeric {c.name}" + (" (whole number expected)" if tt == "INTEGER"
                                              else "")
        else:
            code, msg = "unparsable_value", f"unreadable {c.name} (expected {tt.lower()})"
        if c.required or tt == MONEY or c.name in ID_COLUMNS:
            checks.append((bad, reason(code, c.name, msg)))
        else:  # an optional value: keep the row, drop the value, say so
            warns.append((bad, Issue("unparsable_optional", c.name, f"{msg}: loaded as NULL")))

    joins, derived = [], ""
    for i, (col, parent) in enumerate(sorted(refs.items())):
        key = REFERENCES[(table, col)][1]
        extra = ""
        if table == "order_lines" and col == "order_id":  # lines copy these from the order
            extra = ", customer_id AS _oc, store_id AS _os, ordered_at AS _ot"
            derived = (f", _j{i}._oc AS customer_id, _j{i}._os AS store_id, "
                       f"_j{i}._ot AS ordered_at")
        joins.append(f"LEFT JOIN (SELECT {key} AS _k{extra} FROM {parents[parent]}) AS _j{i} "
                     f"ON x.{ident(col)} = _j{i}._k")
        checks.append((f"(x._p_{col} AND _j{i}._k IS NULL)", reason(
            "unknown_reference", col,
            f"{NOUN[table]} of an unknown {NOUN[parent]} ({col} not in {parent})")))
    for c in spec.columns:
        if c.type == MONEY:
            warns.append((f"{ident(c.name)} < 0", Issue(
                "negative_amount", c.name, f"negative {c.name} (loaded: returns are legal)")))

    inner = ", ".join(f"{e} AS {ident(n)}" for n, e in exprs.items())
    pflags = "".join(f", {f} AS _p_{n}" for n, f in flags.items())
    case = " ".join(f"WHEN {cond} THEN {idx}" for cond, idx in checks)
    first_failure = f"CASE {case} END" if checks else "CAST(NULL AS INTEGER)"
    wflags = "".join(f", ({cond}) AS _w{i}" for i, (cond, _) in enumerate(warns))
    x = f"WITH x AS (SELECT _row, {inner}{pflags} FROM {stage}) "
    sql = (f"{x}, y AS (SELECT x.*{derived}, {first_failure} AS _reason FROM x "
           f"{' '.join(joins)}) SELECT y.*{wflags} FROM y")
    any_warning = " OR ".join(f"({cond})" for cond, _ in warns) or "false"
    warned = (f"{x}SELECT _row, CAST(NULL AS INTEGER) AS _reason{wflags} FROM x "
              f"WHERE {any_warning}")
    dup = None
    if spec.key:
        dup = reason("duplicate_id", ", ".join(spec.key),
                     f"duplicate {' + '.join(spec.key)} (first copy kept)")
    return TypedRows(sql, issues, warns, dup, warned)


def mark_duplicates(con, typed: str, key: tuple[str, ...], reason: int) -> None:
    """Reject every copy of a key after the first valid one (in source order). The aggregate
    is cheap; the window runs only when there are duplicates."""
    keys = ", ".join(ident(k) for k in key)
    dups = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {typed} WHERE _reason IS NULL "
                       f"GROUP BY {keys} HAVING count(*) > 1)").fetchall()[0][0]
    if dups:
        con.execute(f"""
            UPDATE {typed} SET _reason = {reason} WHERE _row IN (
                SELECT _row FROM (SELECT _row, row_number() OVER (PARTITION BY {keys}
                    ORDER BY _row) AS n FROM {typed} WHERE _reason IS NULL) WHERE n > 1)""")
