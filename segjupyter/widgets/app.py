"""``segjupyter.ui(ws)``: the whole app in one widget (builder, list, dashboards, templates)."""

from __future__ import annotations

import html

import ipywidgets as W

from .layout import css, set_children, style_html

#: (label, key); sections are built the first time they are shown
SECTIONS = (("Build", "builder"), ("Segments", "list"), ("Dashboard", "dashboard"),
            ("RFM", "rfm"), ("Templates", "gallery"))


class SegmentApp(W.VBox):
    """Rule builder, segment list, segment dashboard, RFM dashboard and template gallery,
    wired together: saving in the builder updates the list, *edit* and *dashboard* in the
    list open the builder and dashboard on that segment, a template opens in the builder.
    One section is shown at a time (charts in hidden tabs can render at zero size).

    ``read_only=True`` (Voila dashboards) leaves the builder out and hides every action that
    changes the catalog.
    """

    def __init__(self, ws, read_only: bool = False, section: str | None = None):
        super().__init__()
        css(self, "sj-app")
        self.ws = ws
        self.read_only = read_only
        options = [(label, key) for label, key in SECTIONS
                   if not (read_only and key == "builder")]
        self._parts: dict[str, W.Widget] = {}
        self.nav = css(W.ToggleButtons(options=options, value=section or options[0][1],
                                       style={"button_width": "110px"}), "sj-nav")
        self.body = css(W.VBox([], layout=W.Layout(width="100%")), "sj-app-body")
        title = (f"<div class='sj-app-title'><b>segjupyter</b> · "
                 f"<span style='color:#666'>{html.escape(ws.path)}</span></div>")
        self.children = (style_html(), W.HTML(title), self.nav, self.body)
        self.nav.observe(lambda _c: self._show(), "value")
        self._show()

    # -- parts, built on first use -------------------------------------------------------------
    def part(self, key: str) -> W.Widget:
        """The section widget ``key`` (builder, list, dashboard, rfm, gallery)."""
        if key not in self._parts:
            self._parts[key] = getattr(self, f"_make_{key}")()
        return self._parts[key]

    @property
    def builder(self):
        return self.part("builder")

    @property
    def segment_list(self):
        return self.part("list")

    @property
    def dashboard(self):
        return self.part("dashboard")

    @property
    def rfm(self):
        return self.part("rfm")

    @property
    def gallery(self):
        return self.part("gallery")

    def _make_builder(self):
        from .builder import RuleBuilder
        b = RuleBuilder(self.ws, read_only=self.read_only)
        b.on_save(self._saved)
        return b

    def _make_list(self):
        from .segment_list import SegmentList
        lst = SegmentList(self.ws, read_only=self.read_only)
        if not self.read_only:
            lst.on_edit(self.edit)
        lst.on_dashboard(self.open_dashboard)
        return lst

    def _make_dashboard(self):
        from .dashboard import SegmentDashboard
        return SegmentDashboard(self.ws, read_only=True)

    def _make_rfm(self):
        from .rfm_dashboard import RFMDashboard
        return RFMDashboard(self.ws)

    def _make_gallery(self):
        from .gallery import TemplateGallery
        g = TemplateGallery(self.ws, read_only=self.read_only)
        if not self.read_only:
            g.on_open(self.edit)
        return g

    # -- navigation ----------------------------------------------------------------------------
    def _show(self) -> None:
        set_children(self.body, [self.part(self.nav.value)])

    def show(self, key: str) -> None:
        """Switch to section ``key``."""
        self.nav.value = key

    def edit(self, definition) -> None:
        """Open a saved segment's name, a Segment or a tree in the builder."""
        b = self.builder
        b.load(definition)
        name = definition if isinstance(definition, str) else getattr(definition, "name", None)
        if name:
            b.name.value = name
        self.show("builder")

    def open_dashboard(self, name: str) -> None:
        """Show the dashboard of the saved segment ``name``."""
        self.dashboard.select(name)
        self.show("dashboard")

    def _saved(self, _name: str) -> None:
        for key in ("list", "dashboard", "rfm"):
            part = self._parts.get(key)
            if part is None:
                continue
            if key == "list":
                part.reload()
            else:
                part.reload_segments()


def ui(ws, read_only: bool = False, section: str | None = None) -> SegmentApp:
    """The whole segjupyter app for ``ws`` in one widget: build segments by clicking, list
    and act on saved segments, their dashboards, the RFM overview and the template gallery.

    >>> import segjupyter as sj
    >>> sj.ui(sj.demo.build("/tmp/demo-ws"))
    """
    return SegmentApp(ws, read_only=read_only, section=section)
