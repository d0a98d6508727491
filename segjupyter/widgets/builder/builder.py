"""The rule builder: point-and-click editing of one segment's canonical rule tree."""

from __future__ import annotations

import html
import time

import ipywidgets as W

from ...errors import RuleValidationError, SegjupyterError
from ...rules.model import Group, Node, canonical
from ..layout import css, error_text, show, style_html
from .conditions import ConditionRow
from .context import BuilderContext
from .group import GroupBox


class RuleBuilder(W.VBox):
    """Build a segment by clicking: nested and / or groups, a NOT toggle, typed conditions.

    The widget edits the canonical rule tree: ``builder.tree`` is the tree, ``builder.text``
    the same rule in the ``%%segment`` language (shown live under the controls), and
    ``builder.load(tree)`` shows any tree, text, Segment or saved segment name.
    **Calculate** shows the count and the funnel; **Save** stores the segment in the
    catalog. ``read_only=True`` shows the rule and lets one calculate, nothing more.

    >>> b = RuleBuilder(ws, 'city = "Madrid" and spend(last 12 months) >= 500')
    >>> b.calculate()        # same as b.segment.count()
    >>> b.save("madrid_vip", kind="dynamic")
    """

    def __init__(self, ws, segment=None, read_only: bool = False, params: dict | None = None):
        super().__init__()
        css(self, "sj-rule-builder")
        self.ws = ws
        self.read_only = read_only
        self.ctx = BuilderContext(ws, read_only, on_change=self._changed)
        self.root = GroupBox(self.ctx)
        self.editing: str | None = None  # name of the saved segment being edited
        self.params: dict = dict(params or {})  # values of the rule's :parameters
        self.count: int | None = None
        self.funnel = None
        self.last_seconds: float | None = None
        self._callbacks = {"change": [], "save": []}

        self.preview = css(W.Textarea(layout=W.Layout(width="100%", height="80px"),
                                      disabled=read_only, placeholder="(empty: every customer)"),
                           "sj-preview")
        self.apply_text = css(W.Button(description="Apply text", tooltip=(
            "parse the text above and show it in the controls"), layout=W.Layout(
                width="auto")), "sj-apply-text")
        self.apply_text.on_click(lambda _b: self._apply_text())
        show(self.apply_text, not read_only)
        self.message = css(W.HTML(""), "sj-message")
        self.calculate_button = css(W.Button(description="Calculate", button_style="primary",
                                             icon="calculator"), "sj-calculate")
        self.calculate_button.on_click(lambda _b: self._calculate_clicked())
        self.count_html = css(W.HTML(""), "sj-count")
        self.funnel_html = css(W.HTML(""), "sj-funnel")

        self.name = css(W.Text(placeholder="segment name", description="Name",
                               layout=W.Layout(width="260px"),
                               style={"description_width": "45px"}), "sj-save-name")
        self.kind = css(W.Dropdown(options=[("dynamic", "dynamic"), ("static", "static")],
                                   value="dynamic", description="Kind",
                                   layout=W.Layout(width="170px"),
                                   style={"description_width": "35px"}), "sj-save-kind")
        self.status = css(W.Dropdown(options=[("active", True), ("inactive", False)],
                                     value=True, description="Status",
                                     layout=W.Layout(width="180px"),
                                     style={"description_width": "45px"}), "sj-save-status")
        self.save_button = css(W.Button(description="Save", icon="save",
                                        button_style="success"), "sj-save")
        self.save_button.on_click(lambda _b: self._save_clicked())
        self.save_message = css(W.HTML(""), "sj-save-message")
        save_box = W.HBox([self.name, self.kind, self.status, self.save_button,
                           self.save_message], layout=W.Layout(align_items="center",
                                                               flex_flow="row wrap"))
        show(save_box, not read_only)

        self.children = (
            style_html(), self.root,
            W.HTML("<b>Segment in the language</b>"), self.preview,
            W.HBox([self.apply_text, self.message], layout=W.Layout(align_items="center")),
            W.HBox([self.calculate_button, self.count_html],
                   layout=W.Layout(align_items="center")),
            self.funnel_html, save_box)

        if segment is not None:
            self.load(segment)
        else:
            self._refresh_preview()

    # -- the tree ------------------------------------------------------------------------------
    @property
    def tree(self) -> Group:
        """The canonical rule tree the controls show; raises :class:`RuleValidationError`
        (with the row's path) when a row does not make a condition."""
        return canonical(self.root.tree)

    @property
    def text(self) -> str:
        """The rule in the ``%%segment`` language."""
        from ...rules.dsl import to_text
        return to_text(self.tree)

    @property
    def segment(self):
        """The :class:`~segjupyter.rules.segment.Segment` of the current tree (named after
        the name box when it is filled)."""
        return self.ws.segment(self.tree, name=self.name.value.strip() or self.editing,
                               params=self.params)

    def load(self, definition) -> None:
        """Show ``definition``: a rule tree or node, ``%%segment`` text, a Segment, a JSON
        document, or the name of a saved segment (which the builder then edits)."""
        from ...rules.segment import Segment
        editing = None
        if isinstance(definition, str) and not definition.lstrip().startswith("{") and \
                self._is_saved(definition):
            editing = definition.strip()
            seg = self.ws.segments.get(editing)
            tree = seg.tree
            self.params = dict(seg.params)
        elif isinstance(definition, Segment):
            tree = definition.tree
            self.params = {**self.params, **definition.params}
            editing = definition.name if definition.name and self._is_saved(
                definition.name) else None
        elif isinstance(definition, (Group,)) or hasattr(definition, "__dataclass_fields__"):
            tree = canonical(definition)
        else:
            tree = self.ws.segment(definition).tree
        t0 = time.perf_counter()
        with self.hold_sync():
            self.root.load(canonical(tree))
            self.editing = editing
            if editing:
                self.name.value = editing
        self.last_seconds = time.perf_counter() - t0
        self.validate()
        self._refresh_preview()
        self._fire("change")

    def _is_saved(self, name: str) -> bool:
        from .fields import saved_segment_names
        return name.strip() in saved_segment_names(self.ws)

    def add_condition(self, node: Node | None = None) -> ConditionRow:
        """Add a condition to the top group (see :meth:`GroupBox.add_condition`)."""
        return self.root.add_condition(node)

    def add_group(self, node: Group | None = None) -> GroupBox:
        return self.root.add_group(node)

    def rows(self) -> list[ConditionRow]:
        return list(self.root.rows())

    def row_at(self, path: tuple[int, ...]):
        """The row or group at ``path`` (child indexes from the top group)."""
        item = self.root
        for i in path:
            if not isinstance(item, GroupBox) or i >= len(item.items):
                return item
            item = item.items[i]
        return item

    # -- change handling -----------------------------------------------------------------------
    def _changed(self, source) -> None:
        if isinstance(source, ConditionRow):
            self._validate_row(source)
        self._refresh_preview()
        self.count_html.value = ""  # the shown count no longer matches the rule
        self._fire("change")

    def _refresh_preview(self) -> None:
        try:
            text = self.text
        except RuleValidationError as e:
            self.message.value = error_text(str(e))
            return
        except (ValueError, TypeError) as e:
            self.message.value = error_text(f"the rule cannot be written yet: {e}")
            return
        self.preview.value = text
        if not any(r.error.value for r in self.rows()):
            self.message.value = ""

    def _validate_row(self, row: ConditionRow) -> str | None:
        from ...rules.dsl import condition_text
        try:
            node = row.node
            condition_text(node)
            self.ctx.check(node, self.params)
            msg = None
        except RuleValidationError as e:
            msg = str(e).split(" (in: ")[0]
        except (SegjupyterError, ValueError, TypeError) as e:
            msg = str(e)
        row.mark(msg)
        return msg

    def validate(self) -> dict[tuple[int, ...], str]:
        """Check every condition against the workspace; mark invalid rows in place and
        return ``{path: message}`` (empty when the rule is valid)."""
        out = {}
        with self.hold_sync():
            for row in self.rows():
                msg = self._validate_row(row)
                if msg:
                    out[row.path] = msg
        return out

    def _apply_text(self) -> None:
        try:
            self.load(self.preview.value)
        except SegjupyterError as e:
            self.message.value = error_text(str(e))

    # -- calculate -----------------------------------------------------------------------------
    def calculate(self) -> int:
        """Count the segment and show the funnel (customers left after each condition);
        returns the count."""
        t0 = time.perf_counter()
        seg = self.segment
        funnel = seg.explain()
        count = int(funnel["customers"].iloc[-1]) if len(funnel) else seg.count()
        self.last_seconds = time.perf_counter() - t0
        self.count, self.funnel = count, funnel
        total = self.ws.fields.tables.get("customers", 0)
        share = f" · {count / total:.1%} of {total:,}" if total else ""
        self.count_html.value = (f"<span class='sj-count-value'><b>{count:,}</b></span> "
                                 f"customers{share} <span style='color:#888'>"
                                 f"({self.last_seconds * 1000:.0f} ms)</span>")
        self.funnel_html.value = _funnel_html(funnel) if len(funnel) > 1 else ""
        return count

    def _calculate_clicked(self) -> None:
        self.message.value = ""
        try:
            self.calculate()
        except RuleValidationError as e:
            self._show_error(e)
        except SegjupyterError as e:
            self.count_html.value = error_text(str(e))

    def _show_error(self, e: RuleValidationError) -> None:
        item = self.row_at(e.path)
        if isinstance(item, ConditionRow):
            item.mark(str(e).split(" (in: ")[0])
        self.count_html.value = error_text(str(e))

    # -- save ----------------------------------------------------------------------------------
    def save(self, name: str | None = None, kind: str | None = None,
             active: bool | None = None):
        """Store the segment in the catalog under ``name`` (default: the name box) with
        ``kind`` (dynamic / static) and status, and evaluate it when active. Saving under
        the name being edited updates that segment. Returns the refresh run (or the record
        of an inactive segment)."""
        name = (name or self.name.value or "").strip()
        if not name:
            from ...errors import CatalogError
            raise CatalogError("give the segment a name before saving it")
        kind = kind or self.kind.value
        active = self.status.value if active is None else active
        seg = self.ws.segment(self.tree, name=name, params=self.params)
        cat = self.ws.segments
        if self.editing == name and name in cat:
            info = cat.info(name)
            if info.kind != kind:
                from ...errors import CatalogError
                raise CatalogError(f"{name!r} is {info.kind}; a saved segment keeps its kind "
                                   "(save it under another name instead)")
            cat.update(name, seg, params=self.params)
            if info.active != active:
                (cat.activate if active else cat.deactivate)(name)
        else:
            if name in cat:
                from ...errors import CatalogError
                raise CatalogError(f"a segment named {name!r} already exists: pick another "
                                   "name, or open it from the segment list (edit) to change it")
            cat.save(seg, name=name, kind=kind, active=active, params=self.params)
        result = cat.refresh(name) if active else cat.info(name)
        self.editing = name
        self.name.value = name
        self.ctx.catalogue.refresh_segments()
        self._fire("save", name)
        return result

    def _save_clicked(self) -> None:
        try:
            self.save()
            count = self.ws.segments.info(self.editing).customers
            extra = f": {count:,} customers" if count is not None else ""
            self.save_message.value = (f"<span class='sj-saved'>saved "
                                       f"<b>{html.escape(self.editing)}</b>{extra}</span>")
        except RuleValidationError as e:
            self._show_error(e)
            self.save_message.value = error_text(str(e))
        except SegjupyterError as e:
            self.save_message.value = error_text(str(e))

    # -- callbacks -----------------------------------------------------------------------------
    def on_change(self, callback) -> None:
        """Call ``callback(builder)`` after every edit."""
        self._callbacks["change"].append(callback)

    def on_save(self, callback) -> None:
        """Call ``callback(name)`` after the segment is saved."""
        self._callbacks["save"].append(callback)

    def _fire(self, what, *args) -> None:
        for cb in self._callbacks[what]:
            cb(*(args or (self,)))


def _funnel_html(funnel) -> str:
    rows = []
    for r in funnel.itertuples(index=False):
        width = max(1, int(round(160 * float(r.share))))
        rows.append(
            f"<tr><td>{r.step}</td><td><code>{html.escape(str(r.condition))}</code></td>"
            f"<td class='sj-num'>{int(r.alone):,}</td><td class='sj-num'>{int(r.customers):,}</td>"
            f"<td class='sj-num'>{int(r.change):+,}</td>"
            f"<td><span class='sj-bar' style='width:{width}px'></span> {float(r.share):.1%}</td>"
            "</tr>")
    return ("<table><thead><tr><th>#</th><th>condition</th><th>alone</th><th>customers</th>"
            "<th>change</th><th>share</th></tr></thead><tbody>" + "".join(rows) +
            "</tbody></table>")
