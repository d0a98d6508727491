"""The one look of every segjupyter chart: colours, fonts, sizes, number formats."""

from __future__ import annotations

#: Categorical palette (colour-blind friendly, Okabe–Ito order then muted extras).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#7F7F7F", "#8C564B", "#17BECF", "#BCBD22", "#393B79")
PRIMARY = PALETTE[0]
#: The "All customers" reference row of comparisons.
REFERENCE = "#9E9E9E"
#: Sequential scheme of heat maps (light = few, dark = many).
HEAT_COLORS = ("#F7FBFF", "#6BAED6", "#08306B")
EMPTY_COLOR = "#BDBDBD"

FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
TITLE_STYLE = {"font-size": "15px", "font-weight": "600", "font-family": FONT_FAMILY,
               "fill": "#222"}
TICK_STYLE = {"font-size": "11px", "font-family": FONT_FAMILY}

HEIGHT = "320px"
TALL_HEIGHT = "420px"
MIN_WIDTH = "320px"
MARGIN = {"top": 50, "bottom": 55, "left": 70, "right": 30}
#: Horizontal bars need room for category names on the left.
WIDE_LEFT_MARGIN = {"top": 50, "bottom": 55, "left": 200, "right": 40}

#: d3 formats by kind of value: exact ones for tooltips and cells, compact ones for axis
#: ticks (``180k`` rather than ``180,000.00``, which overlaps its neighbours).
FORMATS = {"count": ",d", "money": ",.2f", "share": ".1%", "number": ",.2f", "days": ",.0f"}
AXIS_FORMATS = {"count": "~s", "money": "~s", "share": ".0%", "number": ",.2~f",
                "days": ",.0f"}
#: Ticks on the value axis of horizontal bars (more crowd a half-width chart).
VALUE_TICKS = 6
#: Category names longer than this are cut with an ellipsis on axes (tooltips keep them).
MAX_LABEL = 30

#: Fixed colours of the named RFM segments and lifecycle stages, so every chart agrees.
RFM_COLORS = {
    "champions": "#1A9850", "loyal": "#66BD63", "potential loyalist": "#A6D96A",
    "new": "#56B4E9", "promising": "#0072B2", "need attention": "#F0E442",
    "about to sleep": "#FDAE61", "at risk": "#F46D43", "can't lose them": "#D73027",
    "hibernating": "#8C564B", "lost": "#7F7F7F",
}
LIFECYCLE_COLORS = {"new": "#56B4E9", "active": "#1A9850", "at risk": "#F46D43",
                    "hibernating": "#8C564B", "lost": "#7F7F7F", "prospect": "#BDBDBD"}

EMPTY_TITLE = "No customers"


def figure_layout(height: str = HEIGHT) -> dict:
    """Layout traits of a figure: explicit height (a figure in a hidden tab otherwise renders
    at zero size), a minimum width, full width of its container."""
    return {"height": height, "min_height": height, "min_width": MIN_WIDTH, "width": "100%"}


def colors_for(names, mapping: dict | None = None) -> list[str]:
    """One colour per name: from ``mapping`` when it has the name, else the palette in turn."""
    out, k = [], 0
    for n in names:
        if mapping and n in mapping:
            out.append(mapping[n])
        else:
            out.append(PALETTE[k % len(PALETTE)])
            k += 1
    return out
