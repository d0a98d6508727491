"""The template gallery: ready segment definitions to apply as a quick filter or to open in
the rule builder."""

from __future__ import annotations

import html

import ipywidgets as W

from ..errors import SegjupyterError
from .layout import close_all, css, error_text, frame_html, set_children, show, style_html

MEMBER_COLUMNS = ("first_name", "last_name", "email", "city")


class TemplateGallery(W.VBox):
    """Browse the templates of ``ws.segments.templates()``, set their parameters, then
    **Apply** (count and first members at once) or **Open in builder**.

    ``on_open(callback)`` lets an app take the opened segment (``callback(segment)``);
    alone, the gallery shows a builder below itself.

    >>> TemplateGallery(ws)
    """

    def __init__(self, ws, read_only: bool = False):
        super().__init__()
        css(self, "sj-template-gallery")
        self.ws = ws
        self.read_only = read_only
        self.templates = ws.segments.templates()
        self._on_open = None
        self.segment = None
        self._error = ""
        self.count: int | None = None
        self.members = None
        self.picker = css(W.Select(
            options=[(r.title, r.name) for r in self.templates.itertuples()],
            value=self.templates["name"].iloc[0], rows=min(12, len(self.templates)),
            layout=W.Layout(width="240px")), "sj-template-picker")
        self.description = css(W.HTML(""), "sj-template-description")
        self.params_box = css(W.VBox([]), "sj-template-params")
        self.params: dict[str, W.Widget] = {}
        self.preview = css(W.HTML(""), "sj-template-preview")
        self.apply_button = css(W.Button(description="Apply", icon="filter",
                                         button_style="primary",
                                         tooltip="count the customers now"), "sj-apply-template")
        self.open_button = css(W.Button(description="Open in builder", icon="pencil"),
                               "sj-open-template")
        self.apply_button.on_click(lambda _b: self._apply_clicked())
        self.open_button.on_click(lambda _b: self._open_clicked())
        self.result = css(W.HTML(""), "sj-template-count")
        self.members_html = css(W.HTML(""), "sj-template-members")
        self.detail = css(W.VBox([]), "sj-template-detail")
        panel = W.VBox([self.description, self.params_box, self.preview,
                        W.HBox([self.apply_button, self.open_button, self.result],
                               layout=W.Layout(align_items="center")),
                        self.members_html], layout=W.Layout(flex="1", margin="0 0 0 12px"))
        self.children = (style_html(), W.HBox([self.picker, panel]), self.detail)
        self.picker.observe(lambda _c: self._template_changed(), "value")
        self._template_changed()

    # -- template and parameters -------------------------------------------------------------
    def _row(self):
        return self.templates[self.templates["name"] == self.picker.value].iloc[0]

    def _template_changed(self) -> None:
        t = self._row()
        self.description.value = (f"<h4 style='margin:4px 0'>{html.escape(t['title'])}</h4>"
                                  f"<div>{html.escape(t['description'])}</div>")
        old = list(self.params_box.children)
        self.params = {}
        for name, default in t["parameters"].items():
            w = _param_widget(name, default, t["help"].get(name, ""))
            w.observe(lambda _c: self._params_changed(), "value")
            self.params[name] = w
        set_children(self.params_box, list(self.params.values()))
        for w in old:
            close_all(w)
        self.result.value = self.members_html.value = ""
        self._params_changed()

    def param_values(self) -> dict:
        out = {}
        for name, w in self.params.items():
            v = w.value
            if isinstance(w, W.TagsInput):
                v = tuple(v)
            elif isinstance(w, W.Text) and getattr(w, "_sj_optional", False):
                v = v.strip()
                if not v:
                    continue
                v = int(v) if v.lstrip("-").isdigit() else v
            out[name] = v
        return out

    def _params_changed(self) -> None:
        self.result.value = self.members_html.value = ""
        try:
            self.segment = self.ws.segments.from_template(self.picker.value,
                                                          **self.param_values())
            self.segment.validate()
            self.preview.value = (f"<pre class='sj-template-text' style='margin:4px 0'>"
                                  f"{html.escape(self.segment.text)}</pre>")
        except SegjupyterError as e:
            self.segment = None
            self._error = str(e)
            self.preview.value = error_text(self._error)

    # -- actions -------------------------------------------------------------------------------
    def apply(self) -> int:
        """Count the template's customers now and show the first members; returns the
        count."""
        if self.segment is None:
            self._params_changed()
        if self.segment is None:
            raise SegjupyterError(self._error)
        seg = self.segment
        cols = [c for c in MEMBER_COLUMNS if c in self.ws.fields.customer]
        self.members = seg.members(columns=cols)
        self.count = len(self.members)
        total = self.ws.fields.tables.get("customers", 0)
        share = f" ({self.count / total:.1%} of all)" if total else ""
        self.result.value = (f"<span class='sj-count-value'><b>{self.count:,}</b></span> "
                             f"customers{share}")
        self.members_html.value = frame_html(self.members.head(20),
                                             numeric=("customer_id",)) if self.count else ""
        return self.count

    def _apply_clicked(self) -> None:
        try:
            self.apply()
        except SegjupyterError as e:
            self.result.value = error_text(str(e))

    def on_open(self, callback) -> None:
        """Let ``callback(segment)`` take the template opened in the builder."""
        self._on_open = callback

    def _open_clicked(self) -> None:
        if self.segment is None:
            return
        if self._on_open is not None:
            self._on_open(self.segment)
            return
        from .builder import RuleBuilder
        b = RuleBuilder(self.ws, self.segment, read_only=self.read_only)
        b.name.value = self.segment.name or ""
        old = self.detail.children
        set_children(self.detail, [b])
        for w in old:
            close_all(w)
        show(self.detail, True)


def _param_widget(name: str, default, help_text: str) -> W.Widget:
    style = {"description_width": "110px"}
    layout = W.Layout(width="420px")
    if isinstance(default, bool):
        w = W.Checkbox(value=default, description=name, style=style)
    elif isinstance(default, int):
        w = W.IntText(value=default, description=name, style=style, layout=layout)
    elif isinstance(default, (tuple, list)):
        w = W.TagsInput(value=[str(x) for x in default], allow_duplicates=False,
                        description=name, style=style, layout=layout)
    else:
        w = W.Text(value="" if default is None else str(default), description=name,
                   placeholder="default" if default is None else "", style=style,
                   layout=layout)
        w._sj_optional = default is None
    w.tooltip = help_text
    css(w, "sj-template-param", f"sj-param-{name}")
    return w
