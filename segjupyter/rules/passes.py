"""Aggregation passes: one ``GROUP BY customer_id`` query per source table.

The compiler registers behaviour *terms* (an aggregate, its window and filter conditions);
this module turns the terms of one source into one pass, each term an aggregate with
``FILTER (WHERE ...)``. Sources: ``o`` orders, ``l`` order lines (which carry the order's
customer, store and time, so no join with orders is needed), ``e`` events.
"""

from __future__ import annotations

from typing import Callable

from sqlglot import exp

SOURCES = {"o": "orders", "l": "order_lines", "e": "events"}
#: alias -> (table, key joined on) for the tables a purchase filter may need
LOOKUPS = {"p": ("products", "product_id"), "s": ("stores", "store_id"),
           "o": ("orders", "order_id")}


def column(alias: str, name: str) -> exp.Column:
    """``"alias"."name"``, quoted."""
    return exp.column(name, table=alias, quoted=True)


def time_column(src: str) -> exp.Column:
    return column(src, "occurred_at" if src == "e" else "ordered_at")


#: largest product-id span counted with a bit string (a bit per product: 512 bytes a customer)
BITSTRING_SPAN = 4096


def aggregate(src: str, agg: str, product_ids: tuple[int, int] | None = None,
              where: exp.Expression | None = None) -> exp.Expression:
    """The aggregate of one term: count, orders, spend, units, products, min_at, max_at;
    with ``FILTER (WHERE where)``.

    ``product_ids`` (lowest, highest; DuckDB only): distinct products are counted as the set
    bits of a ``bitstring_agg``, not with ``COUNT(DISTINCT ...)``, whose hash of (customer,
    product) pairs is most of a refresh's time at 1M customers."""
    if agg == "products" and product_ids is not None and \
            product_ids[1] - product_ids[0] < BITSTRING_SPAN:
        bits = exp.Anonymous(this="bitstring_agg", expressions=[
            column("l", "product_id"), exp.Literal.number(product_ids[0]),
            exp.Literal.number(product_ids[1])])
        return exp.Anonymous(this="bit_count", expressions=[_filtered(bits, where)])
    return _filtered(_aggregate(src, agg), where)


def _filtered(agg: exp.Expression, where: exp.Expression | None) -> exp.Expression:
    return agg if where is None else exp.Filter(this=agg, expression=exp.Where(this=where))


def _aggregate(src: str, agg: str) -> exp.Expression:
    if agg == "count":
        return exp.Count(this=exp.Star())
    if agg == "orders":
        return exp.Count(this=exp.Star()) if src == "o" else exp.Count(
            this=exp.Distinct(expressions=[column("l", "order_id")]))
    if agg == "spend":
        return exp.Sum(this=column(src, "total" if src == "o" else "amount"))
    if agg == "units":
        return exp.Sum(this=column("l", "quantity"))
    if agg == "products":
        return exp.Count(this=exp.Distinct(expressions=[column("l", "product_id")]))
    if agg == "min_at":
        return exp.Min(this=column(src, "ordered_at"))
    if agg == "max_at":
        return exp.Max(this=column(src, "ordered_at"))
    raise ValueError(f"unknown aggregate {agg!r}")


def build_pass(src: str, terms, as_of, bind: Callable[[object], exp.Expression],
               only: exp.Expression | None = None,
               product_ids: tuple[int, int] | None = None) -> exp.Select:
    """``SELECT customer_id, <aggregate> FILTER (WHERE ...) AS tN, ... GROUP BY customer_id``.

    ``terms`` are ``(agg, (name, conditions, joins, start))`` as the compiler registers
    them; ``bind`` turns a value into a placeholder or literal; ``only`` (a subquery of
    customer ids) restricts the rows aggregated; ``product_ids``: see :func:`aggregate`."""
    t_col = time_column(src)
    aggs, joins = [], set()
    starts = [start for _agg, (_n, _c, _j, start) in terms]
    lowest = min(starts) if all(s is not None for s in starts) else None
    kept = []
    for _agg, (_name, conds, term_joins, start) in terms:
        joins |= term_joins
        if lowest is not None and start == lowest:
            # its first condition, "time >= start", is the pass's own WHERE below
            conds = conds[1:]
        kept.append(conds)
    # every term filters alike (one term: the usual Calculate): the WHERE below is that
    # filter, a FILTER clause would test it again on every row
    shared = bool(kept[0]) and all(conds == kept[0] for conds in kept)
    for (agg, (name, *_rest)), conds in zip(terms, kept):
        agg_expr = aggregate(src, agg, product_ids, exp.and_(
            *[c.copy() for c in conds], copy=False) if conds and not shared else None)
        aggs.append(exp.alias_(agg_expr, name, quoted=True))
    sel = exp.select(column(src, "customer_id"), *aggs).from_(
        exp.to_table(SOURCES[src]).as_(src), copy=False)
    for alias in sorted(joins):
        table, key = LOOKUPS[alias]
        sel = sel.join(exp.to_table(table).as_(alias),
                       on=exp.EQ(this=column(alias, key), expression=column(src, key)),
                       join_type="left", copy=False)
    # prune: nothing after as_of, nothing before the earliest window start
    where = [exp.LTE(this=t_col.copy(), expression=bind(as_of))]
    if only is not None:
        where.append(exp.In(this=column(src, "customer_id"),
                            query=exp.Subquery(this=only.copy())))
    if lowest is not None:
        where.append(exp.GTE(this=t_col.copy(), expression=bind(lowest)))
    # rows no term counts are dropped before the aggregate: with one term (the usual
    # Calculate) its filter becomes a plain WHERE, so DuckDB pushes brand = 'Acme' into
    # the products scan and joins only the lines that match
    term_conds = kept[:1] if shared else kept
    if all(term_conds):
        from .compile import positive
        either = [exp.Paren(this=exp.and_(*[c.copy() for c in conds], copy=False))
                  for conds in term_conds]
        where.append(positive(exp.Paren(this=exp.or_(*either, copy=False))))
    return sel.where(exp.and_(*where, copy=False), copy=False).group_by(column(src, "customer_id"),
                                                            copy=False)
