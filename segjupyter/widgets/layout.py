"""Small shared pieces of widget layout: CSS classes, icon buttons, closing widget trees."""

from __future__ import annotations

import html

import ipywidgets as W

#: CSS injected once per app so our classes look right in JupyterLab and Voila.
STYLE = """
<style>
.sj-rule-builder .sj-group { border-left: 3px solid #8fb3d9; padding-left: 6px; margin: 2px 0; }
.sj-rule-builder .sj-group.sj-nested { border-left-color: #c7a6e0; }
.sj-rule-builder .sj-filter-group { border-left: 3px dotted #b0b0b0; margin-left: 24px; }
.sj-condition.sj-invalid { background: #fff1f0; }
.sj-error { color: #b71c1c; font-size: 12px; }
.sj-preview textarea { font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.sj-count b { font-size: 18px; }
.sj-funnel table, .sj-table table { border-collapse: collapse; font-size: 12px; }
.sj-funnel td, .sj-funnel th, .sj-table td, .sj-table th { padding: 2px 8px;
  border-bottom: 1px solid #e0e0e0; text-align: left; }
.sj-table td.sj-num, .sj-funnel td.sj-num { text-align: right; }
.sj-bar { display: inline-block; height: 10px; background: #4c78a8; }
</style>
"""


def style_html() -> W.HTML:
    """The shared stylesheet as an (invisible) HTML widget."""
    return W.HTML(STYLE, layout=W.Layout(display="none"))


def css(widget, *classes):
    """Add CSS classes to ``widget`` and return it (browser tests select on them)."""
    for c in classes:
        widget.add_class(c)
    return widget


def icon_button(icon: str, tooltip: str, cls: str, on_click=None, width="30px") -> W.Button:
    b = W.Button(icon=icon, tooltip=tooltip, layout=W.Layout(width=width, padding="0"))
    css(b, cls)
    if on_click is not None:
        b.on_click(lambda _b: on_click())
    return b


def close_all(*widgets) -> None:
    """Close each widget, every widget under it, and their layout and style models
    (``Widget.close`` closes none of those, and they stay registered otherwise)."""
    for widget in widgets:
        if widget is None:
            continue
        for child in getattr(widget, "children", ()) or ():
            close_all(child)
        for attr in ("layout", "style"):
            part = getattr(widget, attr, None)
            if isinstance(part, W.Widget):
                part.close()
        widget.close()


def set_children(box, children) -> None:
    """Reassign ``box.children`` (never mutate the tuple in place), skipping no-op updates."""
    children = tuple(children)
    if tuple(box.children) != children:
        box.children = children


def show(widget, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


def error_text(message: str) -> str:
    return f"<span class='sj-error'>⚠ {html.escape(message)}</span>"


def frame_html(df, numeric=(), classes="sj-table", max_rows: int = 200) -> str:
    """A DataFrame as a small HTML table (right-aligned numeric columns, escaped text)."""
    cols = list(df.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    rows = []
    for rec in df.head(max_rows).itertuples(index=False, name=None):
        cells = []
        for c, v in zip(cols, rec):
            if c in numeric:
                cells.append(f"<td class='sj-num'>{_fmt(v)}</td>")
            else:
                cells.append(f"<td>{html.escape(_fmt(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div class='{classes}'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _fmt(v) -> str:
    import math
    from decimal import Decimal
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, Decimal):
        return f"{v:,.2f}"
    try:
        import pandas as pd
        if isinstance(v, pd.Timestamp):
            return f"{v:%Y-%m-%d %H:%M}"
    except ImportError:  # pragma: no cover
        pass
    return str(v)
