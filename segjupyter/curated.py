"""What the curated notebooks display besides widgets: title blocks, formatted tables, charts
side by side (``notebooks/segment_report.ipynb`` and the dashboards).

>>> heading(ws, "high_spenders", period, as_of)       # the report's title block
>>> table(an.top_products(ws, seg), ["sku", "revenue"])
>>> row(charts.lifecycle_bars(lc), charts.tier_bars(tiers))
"""

from __future__ import annotations

import html

import pandas as pd

#: display formats of the analytics columns, by column name
_FORMATS = {
    "revenue": "{:,.2f}", "sales": "{:,.2f}", "avg_ticket": "{:,.2f}", "avg_spend": "{:,.2f}",
    "revenue_365d": "{:,.2f}", "avg_revenue": "{:,.2f}", "clv": "{:,.2f}",
    "units_per_ticket": "{:,.2f}", "frequency": "{:,.2f}", "avg_orders": "{:,.1f}",
    "avg_trips": "{:,.1f}", "avg_recency_days": "{:,.0f}", "lift": "{:,.2f}",
    "share": "{:.1%}", "customer_share": "{:.1%}", "revenue_share": "{:.1%}",
    "repeat_rate": "{:.1%}", "propensity": "{:.1%}", "customer_pct": "{:.1%}",
    "revenue_pct": "{:.1%}", "p_value": "{:.2g}",
}


REPORT_CSS = """<style>
.sj-report-heading h1 { font-size: 26px; margin: 0 0 6px 0; color: #1f3a5f; }
.sj-report-heading p { margin: 2px 0; color: #333; }
.sj-report-heading .sj-rule code { white-space: pre-wrap; background: #f3f6fa; padding: 2px 6px;
  border-radius: 3px; }
.sj-table { overflow-x: auto; margin: 4px 0 18px 0; }
.sj-table table { border-collapse: collapse; font-size: 12px; }
.sj-table th { background: #f3f6fa; text-align: left; padding: 4px 10px;
  border-bottom: 2px solid #c9d6e6; white-space: nowrap; }
.sj-table td { padding: 3px 10px; border-bottom: 1px solid #e6e9ee; white-space: nowrap; }
.sj-table td:not(:first-child) { text-align: right; }
</style>"""


class _HTML:
    def __init__(self, text: str, plain: str):
        self.text, self.plain = text, plain

    def _repr_html_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.plain


def table(frame: pd.DataFrame, columns: list[str] | None = None, max_rows: int = 50) -> _HTML:
    """An analytics frame as a compact HTML table (CSS class ``sj-table``), numbers
    formatted by column name (money with 2 decimals, shares as percents, counts with
    thousands separators)."""
    df = frame[columns] if columns else frame
    df = df.head(max_rows)
    fmt = {}
    for c in df.columns:
        if c in _FORMATS:
            fmt[c] = _FORMATS[c]
        elif pd.api.types.is_integer_dtype(df[c]):
            fmt[c] = "{:,}"
        elif pd.api.types.is_float_dtype(df[c]):
            fmt[c] = "{:,.2f}"
        elif pd.api.types.is_datetime64_any_dtype(df[c]):
            fmt[c] = lambda v: "" if pd.isna(v) else f"{v:%Y-%m-%d}"
    body = (df.style.format(fmt, na_rep="—").hide(axis="index")
            .set_table_attributes('class="sj-table-grid"').to_html())
    return _HTML(f'<div class="sj-table">{body}</div>', df.to_string(index=False))


def row(*figures, height: str | None = None):
    """Figures side by side, sharing the width (an ipywidgets ``HBox``)."""
    import ipywidgets as W
    for f in figures:
        f.layout.flex = "1 1 0"
        f.layout.width = "auto"
        if height:
            f.layout.height = f.layout.min_height = height
    box = W.HBox(list(figures), layout=W.Layout(width="100%", gap="12px"))
    box.add_class("sj-row")
    return box


def heading(ws, name: str | None, period, as_of) -> _HTML:
    """The report's title block: segment (None: all customers), its rule, the period and
    instant, its size."""
    esc = html.escape
    if name is None:
        title, desc, rule = "All customers", "No saved segment yet: the whole customer base.", ""
        count = int(ws.sql("SELECT count(*) FROM customers").scalar())
    else:
        seg, info = ws.segments.get(name), ws.segments.info(name)
        title, desc = name, getattr(info, "description", "") or ""
        count = seg.count(as_of=as_of)
        try:
            rule = " ".join(seg.text.split())
        except Exception:  # the printer is optional for display
            rule = ""
    text = (REPORT_CSS + f'<div class="sj-report-heading"><h1>Segment report: {esc(title)}</h1>'
            + (f"<p>{esc(desc)}</p>" if desc else "")
            + (f'<p class="sj-rule"><code>{esc(rule)}</code></p>' if rule else "")
            + f"<p><b>{count:,}</b> customers as of {as_of:%Y-%m-%d} &middot; period "
            f"{period.start:%Y-%m-%d} to {period.end:%Y-%m-%d} &middot; workspace "
            f"<code>{esc(str(ws.path))}</code></p></div>")
    plain = (f"Segment report: {title}\n{rule}\n{count:,} customers as of {as_of:%Y-%m-%d}; "
             f"period {period.start:%Y-%m-%d} to {period.end:%Y-%m-%d}")
    return _HTML(text, plain)


def dashboard_heading(ws, title: str, subtitle: str = "") -> _HTML:
    """The title block of a dashboard: title, subtitle, the data's date range and instant."""
    esc = html.escape
    s = ws.summary()
    span = (f"orders {s['orders_from']:%Y-%m-%d} to {s['orders_to']:%Y-%m-%d} &middot; "
            if "orders_from" in s else "")
    mode = " &middot; read-only" if ws.read_only else ""
    text = (f'<div class="sj-dashboard-heading"><h1>{esc(title)}</h1>'
            + (f'<p class="sj-subtitle">{esc(subtitle)}</p>' if subtitle else "")
            + f'<p class="sj-meta">{span}as of {ws.now():%Y-%m-%d} &middot; '
            f'{s["segments"]} saved segments{mode}</p></div>')
    return _HTML(text, f"{title}\n{subtitle}")
