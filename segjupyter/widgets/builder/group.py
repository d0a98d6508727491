"""Group boxes: an and / or group (optionally negated) of condition rows and nested groups."""

from __future__ import annotations

import ipywidgets as W

from ...rules.model import Group
from ..layout import close_all, css, icon_button, set_children, show
from .conditions import ConditionRow


class GroupBox(W.VBox):
    """One :class:`~segjupyter.rules.model.Group`: header (all / any, NOT, add buttons) and
    its children. ``mode="purchase"`` makes a behaviour's filter group (purchase fields
    only); ``owner_row`` is then the behaviour row."""

    def __init__(self, ctx, mode: str = "main", parent: "GroupBox | None" = None,
                 owner_row=None):
        super().__init__()
        self.ctx = ctx
        self.mode = mode
        self.parent = parent
        self.owner_row = owner_row
        self.items: list = []
        css(self, "sj-group")
        if parent is not None:
            css(self, "sj-nested")
        ro = ctx.read_only
        self.op = css(W.ToggleButtons(options=[("all of", "and"), ("any of", "or")],
                                      value="and", disabled=ro,
                                      style={"button_width": "70px"}), "sj-group-op")
        self.negate = css(W.ToggleButton(value=False, description="NOT", disabled=ro,
                                         tooltip="negate the group",
                                         layout=W.Layout(width="55px")), "sj-not")
        what = "filter" if mode == "purchase" else "condition"
        self.add_condition_button = css(W.Button(description=f"+ {what}", icon="",
                                                 layout=W.Layout(width="auto")),
                                        "sj-add-condition")
        self.add_group_button = css(W.Button(description="+ group",
                                             layout=W.Layout(width="auto")), "sj-add-group")
        self.add_condition_button.on_click(lambda _b: self.add_condition())
        self.add_group_button.on_click(lambda _b: self.add_group())
        adders = W.HBox([self.add_condition_button, self.add_group_button])
        show(adders, not ro)
        header = [W.HTML("<b>where each line:</b>") if mode == "purchase" and parent is None
                  else W.HTML(""), self.op, self.negate, adders]
        if parent is not None:
            moves = W.HBox([
                icon_button("arrow-up", "move up", "sj-move-up", lambda: parent.move(self, -1)),
                icon_button("arrow-down", "move down", "sj-move-down",
                            lambda: parent.move(self, 1)),
                icon_button("copy", "duplicate", "sj-duplicate", lambda: parent.duplicate(self)),
                icon_button("trash", "remove group", "sj-remove", lambda: parent.remove(self))],
                layout=W.Layout(margin="0 0 0 auto"))
            show(moves, not ro)
            header.append(moves)
        self.header = W.HBox(header, layout=W.Layout(align_items="center"))
        self.body = css(W.VBox([], layout=W.Layout(margin="0 0 0 12px")), "sj-group-body")
        self.children = (self.header, self.body)
        self.op.observe(lambda _c: self._notify(), "value")
        self.negate.observe(lambda _c: self._notify(), "value")
        self._sync_header()

    # -- structure -------------------------------------------------------------------------
    def _notify(self) -> None:
        if self.ctx.is_quiet:
            return
        owner = self._filter_owner()
        self.ctx.changed(owner.outer_row if owner is not None else None)

    def _filter_owner(self):
        """The behaviour row whose filter this group is part of (None in the main tree)."""
        g = self
        while g.parent is not None:
            g = g.parent
        return g.owner_row

    @property
    def path(self) -> tuple[int, ...]:
        if self.parent is not None:
            return self.parent.child_path(self)
        return self.owner_row.path if self.owner_row is not None else ()

    def child_path(self, item) -> tuple[int, ...]:
        if self._filter_owner() is not None:
            return self.path  # errors in a filter are the behaviour's errors
        return self.path + (self.items.index(item),)

    def _sync_header(self) -> None:
        # a purchase filter with no conditions shows only its "+ filter" buttons
        show(self.op, len(self.items) > 1)
        show(self.negate, bool(self.items) or self.mode != "purchase")

    def _relayout(self) -> None:
        set_children(self.body, self.items)
        self._sync_header()
        editor = getattr(self.owner_row, "editor", None)
        if getattr(editor, "filter", None) is self:
            editor.sync_filter()

    def _make(self, node):
        if isinstance(node, Group):
            return self._new_group(node)
        return ConditionRow(self, node)

    def _new_group(self, node=None) -> "GroupBox":
        g = GroupBox(self.ctx, self.mode, parent=self)
        if node is not None:
            g.load(node)
        return g

    def _insert(self, item, index):
        index = len(self.items) if index is None else index
        self.items.insert(index, item)
        self._relayout()
        self._notify()
        return item

    def add_condition(self, node=None, index: int | None = None) -> ConditionRow:
        """Add a condition row (showing ``node``, or a default condition) and return it."""
        return self._insert(ConditionRow(self, node), index)

    def add_group(self, node: Group | None = None, index: int | None = None) -> "GroupBox":
        """Add a nested group (showing ``node``, or one default condition) and return it."""
        g = self._new_group(node)
        if node is None:
            with self.ctx.quiet():
                g.add_condition()
        return self._insert(g, index)

    def remove(self, item) -> None:
        """Remove a row or nested group and close its widgets."""
        self.items.remove(item)
        self._relayout()
        item.close_all()
        self._notify()

    def duplicate(self, item):
        """Insert a copy of ``item`` right after it; returns the copy."""
        node = item.node
        copy = self._make(node)
        return self._insert(copy, self.items.index(item) + 1)

    def move(self, item, delta: int) -> None:
        """Move ``item`` ``delta`` places up (negative) or down, within this group."""
        i = self.items.index(item)
        j = max(0, min(len(self.items) - 1, i + delta))
        if i == j:
            return
        self.items.insert(j, self.items.pop(i))
        self._relayout()
        self._notify()

    def clear(self) -> None:
        for item in self.items:
            item.close_all()
        self.items = []
        self._relayout()

    # -- node ------------------------------------------------------------------------------
    def load(self, group: Group) -> None:
        """Show ``group``: rows are reused in place where the kind of child is unchanged."""
        with self.ctx.quiet(), self.hold_sync():
            self.op.value = group.op
            self.negate.value = group.negate
            new_items = []
            old = list(self.items)
            for i, child in enumerate(group.rules):
                reuse = old[i] if i < len(old) else None
                if reuse is not None and isinstance(child, Group) == isinstance(reuse, GroupBox):
                    reuse.load(child)
                    new_items.append(reuse)
                    old[i] = None
                else:
                    new_items.append(self._make(child))
            for item in old:
                if item is not None:
                    item.close_all()
            self.items = new_items
            self._relayout()

    @property
    def tree(self) -> Group:
        return Group(self.op.value, tuple(item.node for item in self.items), self.negate.value)

    node = tree

    def rows(self):
        """Every condition row below this group, depth first (filter rows excluded)."""
        for item in self.items:
            if isinstance(item, GroupBox):
                yield from item.rows()
            else:
                yield item

    def close_all(self) -> None:
        for item in self.items:
            item.close_all()
        self.items = []
        close_all(self)
