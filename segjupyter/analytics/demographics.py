"""Who a segment's customers are: age bands, gender, cities, countries, and the stores and
channels they used in the period."""

from __future__ import annotations

import pandas as pd

from ..errors import AnalyticsError
from .period import membership_as_of, resolve_period
from .population import as_segment, has_column, has_table, populations
from .shaping import empty_like, ratio

DEFAULT_AGE_BANDS = (18, 25, 35, 45, 55, 65)
UNKNOWN = "unknown"
DIMENSIONS = ("age", "gender", "city", "country", "store", "channel")
DEMOGRAPHICS_COLUMNS = ["dimension", "value", "customers", "share", "tickets", "revenue"]


def age_band_labels(bands) -> list[str]:
    """``(18, 25, 35)`` -> ``["<18", "18-24", "25-34", "35+"]``."""
    b = list(bands)
    return [f"<{b[0]}"] + [f"{lo}-{hi - 1}" for lo, hi in zip(b, b[1:])] + [f"{b[-1]}+"]


def _check_bands(bands) -> tuple[int, ...]:
    try:
        b = tuple(int(x) for x in bands)
    except (TypeError, ValueError):
        raise AnalyticsError(f"age_bands must be whole numbers of years, not {bands!r}") from None
    if not b or any(x <= 0 for x in b) or any(lo >= hi for lo, hi in zip(b, b[1:])):
        raise AnalyticsError(f"age_bands must be positive and increasing, like "
                             f"{DEFAULT_AGE_BANDS}, not {tuple(bands)!r}")
    return b


def demographics(ws, segment=None, period=None, age_bands=DEFAULT_AGE_BANDS) -> pd.DataFrame:
    """The segment's members (as of the period end) by ``dimension``: ``age`` (bands from
    ``age_bands``, completed years at the period end), ``gender``, ``city``, ``country``,
    and the ``store`` and ``channel`` of their orders in ``period``.

    One row per (dimension, value), missing values as ``unknown``; ``customers``, ``tickets``
    and ``revenue`` (their orders in the period). ``share`` is customers / members for the
    customer dimensions and customers / members who ordered in the period for ``store`` and
    ``channel`` (a customer may use several, so those shares can add up to more than 1). Age
    bands come in band order, the other values by customers, most first. No members gives no
    rows.

    >>> demographics(ws, vip, "2025", age_bands=(30, 50))
    """
    bands = _check_bands(age_bands)
    labels = age_band_labels(bands)
    period = resolve_period(ws, period)
    seg = as_segment(ws, segment)
    params = {"start": period.start_at, "end": period.end_at, "age_at": period.end,
              "unknown": UNKNOWN, **{f"band{i}": v for i, v in enumerate(bands)},
              **{f"label{i}": v for i, v in enumerate(labels)}}
    ctes = ["po AS MATERIALIZED (SELECT o.customer_id, o.store_id, o.total FROM orders AS o "
            "WHERE o.ordered_at >= $start AND o.ordered_at <= $end "
            "AND o.customer_id IN (SELECT customer_id FROM pop0))",
            "pc AS MATERIALIZED (SELECT p.customer_id, count(po.customer_id) AS tickets, "
            "coalesce(sum(po.total), 0) AS revenue FROM pop0 AS p "
            "LEFT JOIN po ON po.customer_id = p.customer_id GROUP BY p.customer_id)"]
    parts = []
    if has_column(ws, "birth_date"):
        age = "date_sub('year', c.birth_date, CAST($age_at AS DATE))"
        whens = [f"WHEN {age} < $band0 THEN 0"] + [
            f"WHEN {age} < $band{i + 1} THEN {i + 1}" for i in range(len(bands) - 1)]
        band = (f"CASE WHEN c.birth_date IS NULL OR {age} < 0 THEN NULL "
                f"{' '.join(whens)} ELSE {len(bands)} END")
        label = "CASE b " + " ".join(f"WHEN {i} THEN $label{i}" for i in range(len(labels))) + \
            " ELSE $unknown END"
        parts.append(f"""
            SELECT 'age' AS dimension, {label} AS value, coalesce(b, 1000) AS ord,
                   count(*) AS customers, sum(tickets) AS tickets, sum(revenue) AS revenue
            FROM (SELECT {band} AS b, pc.tickets, pc.revenue
                  FROM pc JOIN customers AS c ON c.customer_id = pc.customer_id) AS x
            GROUP BY b""")
    for col in ("gender", "city", "country"):
        if has_column(ws, col):
            parts.append(f"""
                SELECT '{col}' AS dimension, coalesce(CAST(c."{col}" AS VARCHAR), $unknown)
                       AS value, NULL AS ord, count(*) AS customers, sum(pc.tickets) AS tickets,
                       sum(pc.revenue) AS revenue
                FROM pc JOIN customers AS c ON c.customer_id = pc.customer_id
                GROUP BY 2""")
    stores = has_table(ws, "stores")
    for dim in ("store", "channel"):
        if dim == "channel" and not stores:
            continue
        value = "st.name" if dim == "store" else "st.channel"
        if not stores:
            value = "CAST(po.store_id AS VARCHAR)"
        join = "LEFT JOIN stores AS st ON st.store_id = po.store_id" if stores else ""
        parts.append(f"""
            SELECT '{dim}' AS dimension, coalesce(CAST({value} AS VARCHAR), $unknown) AS value,
                   NULL AS ord, count(DISTINCT po.customer_id) AS customers,
                   count(*) AS tickets, sum(po.total) AS revenue
            FROM po {join}
            GROUP BY 2""")
    select = (" UNION ALL ".join(parts) +
              " UNION ALL SELECT '#members', NULL, NULL, count(*), "
              "count(*) FILTER (WHERE tickets > 0), NULL FROM pc")
    with populations(ws, [seg], membership_as_of(ws, period)) as scope:
        df = scope.run(select, params, tuple(ctes))
    meta = df[df["dimension"] == "#members"].iloc[0]
    members, active = int(meta["customers"]), int(meta["tickets"])
    df = df[df["dimension"] != "#members"].copy()
    df["customers"] = df["customers"].astype("int64")
    df["tickets"] = df["tickets"].astype("int64")
    df["revenue"] = df["revenue"].astype(float)
    per_order = df["dimension"].isin(["store", "channel"])
    df["share"] = ratio(df["customers"], per_order.map({True: active, False: members}))
    df["dim_order"] = df["dimension"].map({d: i for i, d in enumerate(DIMENSIONS)})
    df["ord"] = df["ord"].astype(float)
    df["unknown_last"] = df["value"] == UNKNOWN
    df = df.sort_values(["dim_order", "unknown_last", "ord", "customers", "value"],
                        ascending=[True, True, True, False, True], na_position="last")
    df["dimension"] = df["dimension"].astype(str)
    df["value"] = df["value"].astype(str)
    df = df[DEMOGRAPHICS_COLUMNS].reset_index(drop=True)
    return empty_like(df) if members == 0 else df
