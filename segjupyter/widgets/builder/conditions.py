"""Condition rows: the field picker plus an editor for the picked kind of condition.

A :class:`ConditionRow` owns one condition node. Its editor depends on the entity picked:
:class:`AttributeEditor` (customer, custom, purchase-filter and RFM / lifecycle fields: an
operator and a typed value), :class:`BehaviourEditor` (metric, purchase filters as a nested
group, window, comparison), :class:`SqlEditor`, or nothing (membership of another segment).
Changing the field updates the row in place; only a change of entity swaps the editor.
"""

from __future__ import annotations

import ipywidgets as W

from ...errors import RuleValidationError
from ...rules.model import COMPARISONS, METRICS, PREDICTED_FIELDS, UNITS, WINDOW_OPERATORS, \
    Attribute, Behaviour, Derived, Group, SegmentRef, Sql, Window
from ..layout import close_all, css, icon_button, set_children, show
from .fields import (ANY_EVENT, ATTRIBUTE_ENTITIES, IGNORE_YEAR, MAIN_ENTITIES,
                     PURCHASE_ENTITIES, Choice, operators_for)
from .slot import SCALAR_KIND, ValueSlot
from .window import ATTRIBUTE_KINDS, WindowEditor


_KEEP = object()  # "leave the value as it is" when reshaping a value slot
_ENTITY_LABELS = {e: label for label, e in MAIN_ENTITIES + PURCHASE_ENTITIES}


def _ensure_option(dropdown: W.Dropdown, key, label: str) -> None:
    """Add ``key`` to a dropdown's options when a loaded tree needs it (unknown field...)."""
    if key not in [v for _l, v in dropdown.options]:
        dropdown.options = [*dropdown.options, (label, key)]


class AttributeEditor:
    """``field op value`` for attribute-like fields (also derived RFM / lifecycle fields)."""

    def __init__(self, row, field):
        self.row = row
        notify = row.notify
        self.op = css(W.Dropdown(layout=W.Layout(width="150px")), "sj-operator")
        self.slot = ValueSlot(notify)
        self.window = None  # a WindowEditor once a date field is 'in window'
        self.value_box = W.HBox([self.slot.box])
        self.field = None
        # the horizon of predicted_orders / predicted_clv: "(12) (months)"
        self.horizon_n = css(W.BoundedIntText(value=12, min=1, max=10 ** 9,
                                              layout=W.Layout(width="70px")), "sj-horizon-n")
        self.horizon_unit = css(W.Dropdown(options=[(u + "s", u) for u in UNITS],
                                           value="month", layout=W.Layout(width="95px")),
                                "sj-horizon-unit")
        self.horizon_box = W.HBox([self.horizon_n, self.horizon_unit])
        for w in (self.horizon_n, self.horizon_unit):
            w.observe(lambda _c: self.row.notify(), "value")
        self.main = [self.horizon_box, self.op, self.value_box]
        self.extra = None
        self.set_field(field)
        self.op.observe(self._op_changed, "value")

    def set_field(self, field, op=None, value=None, ignore_year=False, load=False) -> None:
        """Show ``field``: operator options for its type; keep the operator if allowed."""
        self.field = field
        show(self.horizon_box, field is not None and field.name in PREDICTED_FIELDS
             and field.entity == "derived")
        options = operators_for(field)
        wanted = IGNORE_YEAR if ignore_year else (op if op is not None else self.op.value)
        keys = [k for _l, k in options]
        if wanted is not None and wanted not in keys and load:
            options.append((f"{wanted} (not allowed)", wanted))
            keys.append(wanted)
        with self.op.hold_sync():
            self._silent = True
            try:
                if list(self.op.options) != options:
                    self.op.options = options
                self.op.value = wanted if wanted in keys else keys[0]
            finally:
                self._silent = False
        self._shape_slot(value if load else _KEEP)

    def _shape_slot(self, value):
        op = self.op.value
        ftype = self.field.type if self.field is not None else None
        kind = SCALAR_KIND.get(ftype, "text")
        values = self.field.values if self.field is not None else ()
        if op in WINDOW_OPERATORS:
            self._show_window(value)
            self.slot.configure("none", kind)
            return
        if self.window is not None:
            set_children(self.value_box, [self.slot.box])
        if op in ("is null", "is not null", "is true", "is false"):
            arity = "none"
        elif op in ("in", "not in"):
            arity = "list"
            kind = "ints" if ftype == "integer" else "tags"
        elif op == IGNORE_YEAR:
            arity, kind = "pair", "monthday"
        elif op == "between":
            arity = "pair"
        else:
            arity = "one"
        if value is _KEEP:
            self.slot.configure(arity, kind, values)
        else:
            self.slot.configure(arity, kind, values, value)

    def _show_window(self, value) -> None:
        """Show the window editor in place of the value slot (loading ``value`` if it is a
        window; 'in window' and 'not in window' share one editor, so the window carries
        over)."""
        if self.window is None:
            self.window = WindowEditor(self.row.notify, ATTRIBUTE_KINDS)
            self.window.set(Window("last", 6, "month"))
            if self.op.disabled:
                self.window.set_disabled(True)
        if isinstance(value, Window):
            self.window.set(value)
        set_children(self.value_box, [self.window.box])

    def _op_changed(self, _change):
        if getattr(self, "_silent", False):
            return
        self._shape_slot(_KEEP)
        self.row.notify()

    def load(self, node) -> None:
        if getattr(node, "horizon", None) is not None:
            with self.horizon_n.hold_sync(), self.horizon_unit.hold_sync():
                self.horizon_n.value, self.horizon_unit.value = node.horizon
        self.set_field(self.field, node.op, node.value,
                       getattr(node, "ignore_year", False), load=True)

    def node(self, choice: Choice):
        op = self.op.value
        value = self.window.get() if op in WINDOW_OPERATORS else self.slot.get()
        if choice.entity == "derived":
            horizon = (int(self.horizon_n.value), self.horizon_unit.value) \
                if choice.key in PREDICTED_FIELDS else None
            return Derived(choice.key, op, value, horizon=horizon)
        if op == IGNORE_YEAR:
            return Attribute(choice.key, "between", value, ignore_year=True)
        return Attribute(choice.key, op, value)

    def set_disabled(self, d: bool) -> None:
        self.op.disabled = d
        self.horizon_n.disabled = self.horizon_unit.disabled = d
        self.slot.set_disabled(d)
        if self.window is not None:
            self.window.set_disabled(d)

    def close(self) -> None:
        self.slot.close()
        if self.window is not None:
            self.window.close()
        close_all(self.op, self.value_box, self.horizon_box)


_TIME_METRICS = ("first_order", "last_order")


class BehaviourEditor:
    """``metric(filters, window) op value``; ``events`` takes an event type, no filter."""

    def __init__(self, row, choice: Choice):
        from .group import GroupBox
        self.row = row
        self.window = WindowEditor(row.notify)
        self.op = css(W.Dropdown(layout=W.Layout(width="80px")), "sj-operator")
        self.slot = ValueSlot(row.notify)
        self.filter = GroupBox(row.ctx, mode="purchase", owner_row=row)
        css(self.filter, "sj-filter-group")
        self.main = [self.window.box, self.op, self.slot.box]
        self.extra = self.filter
        self.metric = None
        self._extra_event_type = None
        self.set_metric(choice)
        self.op.observe(self._op_changed, "value")

    def _metric_of(self, choice: Choice) -> str:
        return "events" if choice.entity == "events" else choice.key

    def set_metric(self, choice: Choice, op=_KEEP, value=_KEEP) -> None:
        metric = self._metric_of(choice)
        self.metric = metric
        if metric == "bought":
            ops = []
        else:
            ops = list(COMPARISONS) + ["between"]
            if metric in _TIME_METRICS:
                ops += ["is null", "is not null"]
        wanted = self.op.value if op is _KEEP else op
        if op is not _KEEP and op is not None and op not in ops:
            ops.append(op)
        with self.op.hold_sync():
            self._silent = True
            try:
                if list(self.op.options) != ops:
                    self.op.options = ops
                if ops:
                    self.op.value = wanted if wanted in ops else ">="
            finally:
                self._silent = False
        show(self.op, bool(ops))
        self.sync_filter()
        self._shape_slot(value)

    def sync_filter(self) -> None:
        """Events take no purchase filter: hide the filter box for them unless it holds
        something (which is then marked invalid)."""
        show(self.filter, self.metric != "events" or bool(self.filter.items))

    def _shape_slot(self, value=_KEEP):
        if self.metric == "bought" or not self.op.options:
            arity, kind = "none", "integer"
        else:
            op = self.op.value
            kind = "timestamp" if self.metric in _TIME_METRICS else \
                SCALAR_KIND[METRICS[self.metric][1]]
            arity = "none" if op in ("is null", "is not null") else \
                "pair" if op == "between" else "one"
        if value is _KEEP:
            self.slot.configure(arity, kind)
        else:
            self.slot.configure(arity, kind, (), value)

    def _op_changed(self, _change):
        if getattr(self, "_silent", False):
            return
        self._shape_slot()
        self.row.notify()

    def load(self, node: Behaviour) -> None:
        self.window.set(node.window)
        self.filter.load(node.filter if node.filter is not None else Group())
        self._extra_event_type = node.event_type if node.metric != "events" else None
        self.set_metric(self.row.choice, node.op, node.value)

    def node(self, choice: Choice) -> Behaviour:
        metric = self._metric_of(choice)
        op = None if metric == "bought" else self.op.value
        value = self.slot.get()
        filt = self.filter.tree if self.filter.items else None
        if metric == "events":
            event_type = None if choice.key == ANY_EVENT else choice.key
        else:
            event_type = self._extra_event_type
        return Behaviour(metric, op, value, filt, self.window.get(), event_type)

    def set_disabled(self, d: bool) -> None:
        self.op.disabled = d
        self.slot.set_disabled(d)
        self.window.set_disabled(d)

    def close(self) -> None:
        self.window.close()
        self.slot.close()
        close_all(self.op)
        self.filter.close_all()


class SqlEditor:
    """Advanced SQL: one SELECT returning ``customer_id`` (run in a sandbox)."""

    def __init__(self, row):
        self.text = css(W.Textarea(value="SELECT customer_id FROM customers WHERE ",
                                   placeholder="SELECT customer_id FROM ...",
                                   layout=W.Layout(width="100%", height="70px")), "sj-sql")
        self.text.observe(lambda _c: row.notify(), "value")
        self.main = []
        self.extra = self.text

    def load(self, node: Sql) -> None:
        self.text.value = node.query

    def node(self, choice: Choice) -> Sql:
        return Sql(self.text.value)

    def set_disabled(self, d: bool) -> None:
        self.text.disabled = d

    def close(self) -> None:
        close_all(self.text)


class SegmentEditor:
    """Membership of another saved segment: the field picker names it; nothing to edit."""

    def __init__(self, row):
        self.main, self.extra = [], None

    def load(self, node) -> None:
        pass

    def node(self, choice: Choice) -> SegmentRef:
        return SegmentRef(choice.key)

    def set_disabled(self, d: bool) -> None:
        pass

    def close(self) -> None:
        pass


class ConditionRow(W.VBox):
    """One condition of a group: pick entity and field, then edit it. ``.node`` is the rule
    node it shows; ``.load(node)`` shows another one."""

    def __init__(self, group, node=None):
        super().__init__()
        css(self, "sj-condition")
        self.group = group
        self.ctx = group.ctx
        self.mode = group.mode
        cat = self.ctx.catalogue
        self._loading = False
        self.entity = css(W.Dropdown(options=cat.entities(self.mode),
                                     layout=W.Layout(width="140px")), "sj-entity-picker")
        self.field = css(W.Dropdown(layout=W.Layout(width="170px")), "sj-field-picker")
        buttons = [icon_button("arrow-up", "move up", "sj-move-up", lambda: group.move(self, -1)),
                   icon_button("arrow-down", "move down", "sj-move-down",
                               lambda: group.move(self, 1)),
                   icon_button("copy", "duplicate", "sj-duplicate", lambda: group.duplicate(self)),
                   icon_button("trash", "remove", "sj-remove", lambda: group.remove(self))]
        self.buttons = W.HBox(buttons, layout=W.Layout(margin="0 0 0 auto"))
        show(self.buttons, not self.ctx.read_only)
        self.error = css(W.HTML(""), "sj-error")
        show(self.error, False)
        self.line = W.HBox([], layout=W.Layout(flex_flow="row wrap", align_items="center"))
        self.editor = None
        self.entity.observe(self._entity_changed, "value")
        self.field.observe(self._field_changed, "value")
        if node is None:
            c = cat.default_choice(self.mode)
            self._show_choice(c)
            self._set_editor(c)
        else:
            self.load(node)

    # -- structure -------------------------------------------------------------------------
    @property
    def choice(self) -> Choice:
        return Choice(self.entity.value, self.field.value)

    @property
    def path(self) -> tuple[int, ...]:
        return self.group.child_path(self)

    @property
    def outer_row(self) -> "ConditionRow":
        """The top-level condition this row belongs to (itself unless it is a filter row)."""
        owner = self.group.owner_row
        return self if owner is None else owner.outer_row

    def notify(self) -> None:
        if not self._loading:
            self.ctx.changed(self.outer_row)

    def _show_choice(self, c: Choice) -> None:
        cat = self.ctx.catalogue
        self._loading = True
        try:
            with self.entity.hold_sync(), self.field.hold_sync():
                # e.g. a customer field inside a purchase filter (shown, and marked invalid)
                _ensure_option(self.entity, c.entity, _ENTITY_LABELS.get(c.entity, c.entity))
                self.entity.value = c.entity
                options = cat.fields(c.entity)
                if c.key not in [k for _l, k in options]:
                    options.append((f"{c.key} (unknown)", c.key))
                if list(self.field.options) != options:
                    self.field.options = options
                self.field.value = c.key
        finally:
            self._loading = False

    def _editor_class(self, entity: str):
        if entity in ATTRIBUTE_ENTITIES or entity == "derived":
            return AttributeEditor
        if entity in ("behaviour", "events"):
            return BehaviourEditor
        if entity == "sql":
            return SqlEditor
        return SegmentEditor

    def _set_editor(self, c: Choice) -> None:
        if self.editor is not None:
            self.editor.close()
        cls = self._editor_class(c.entity)
        if cls is AttributeEditor:
            self.editor = AttributeEditor(self, self.ctx.catalogue.field(c.entity, c.key))
        elif cls is BehaviourEditor:
            self.editor = BehaviourEditor(self, c)
        else:
            self.editor = cls(self)
        if self.ctx.read_only:
            self.editor.set_disabled(True)
            self.entity.disabled = self.field.disabled = True
        self._arrange()

    def _arrange(self) -> None:
        set_children(self.line, [self.entity, self.field, *self.editor.main, self.buttons])
        kids = [self.line]
        if self.editor.extra is not None:
            kids.append(self.editor.extra)
        kids.append(self.error)
        set_children(self, kids)

    # -- events ----------------------------------------------------------------------------
    def _entity_changed(self, change):
        if self._loading:
            return
        cat = self.ctx.catalogue
        options = cat.fields(change["new"])
        self._loading = True
        try:
            self.field.options = options
            if options:
                self.field.value = options[0][1]
        finally:
            self._loading = False
        if self._editor_class(change["new"]) is type(self.editor) and \
                not isinstance(self.editor, SqlEditor):
            self._update_editor()  # e.g. behaviour -> events keeps the window and comparison
        else:
            self._set_editor(self.choice)
        self.notify()

    def _field_changed(self, change):
        if self._loading:
            return
        self._update_editor()
        self.notify()

    def _update_editor(self) -> None:
        c = self.choice
        if isinstance(self.editor, AttributeEditor):
            self.editor.set_field(self.ctx.catalogue.field(c.entity, c.key))
        elif isinstance(self.editor, BehaviourEditor):
            self.editor.set_metric(c)

    # -- node ------------------------------------------------------------------------------
    def load(self, node) -> None:
        """Show ``node`` (a condition) in this row, replacing what it showed."""
        c = self.ctx.catalogue.choice_of(node, self.mode)
        self._show_choice(c)
        self._loading = True
        try:
            if self.editor is None or self._editor_class(c.entity) is not type(self.editor):
                self._set_editor(c)
            elif isinstance(self.editor, AttributeEditor):
                self.editor.field = self.ctx.catalogue.field(c.entity, c.key)
            self.editor.load(node)
        finally:
            self._loading = False

    @property
    def node(self):
        """The condition shown; a :class:`RuleValidationError` (with this row's path) when
        the controls do not make a condition yet."""
        from ...rules.dsl import condition_text
        try:
            node = self.editor.node(self.choice)
            condition_text(node)  # a value the language cannot write is not a condition yet
        except (ValueError, TypeError) as e:
            raise RuleValidationError(str(e), self.path) from None
        return node

    def mark(self, message: str | None) -> None:
        """Show ``message`` under the row (None clears it)."""
        import html
        with self.hold_sync():
            if message:
                self.error.value = f"⚠ {html.escape(message)}"
                self.add_class("sj-invalid")
            else:
                self.error.value = ""
                self.remove_class("sj-invalid")
            show(self.error, bool(message))

    def close_all(self) -> None:
        if self.editor is not None:
            self.editor.close()
        close_all(self)
