"""State shared by every row and group of one rule builder."""

from __future__ import annotations

from contextlib import contextmanager

from .fields import FieldCatalogue


class BuilderContext:
    """The workspace, its pickable fields, the read-only flag and the change callback.

    Rows call :meth:`changed` on every edit; while :meth:`quiet` is active (loading a tree,
    building many rows) the calls are dropped and the owner refreshes once at the end.
    """

    def __init__(self, ws, read_only: bool = False, on_change=None):
        self.ws = ws
        self.catalogue = FieldCatalogue(ws)
        self.read_only = read_only
        self.on_change = on_change
        self.as_of = ws.now()  # for checking rows as they are edited; Calculate uses now
        self._quiet = 0

    def check(self, node, params: dict) -> None:
        """Validate one condition against the workspace as the compiler does, without a
        database round trip (rows are checked on every edit); raises
        :class:`~segjupyter.errors.RuleValidationError` / ``SandboxError``."""
        import sqlglot
        from sqlglot import exp

        from ...errors import RuleValidationError
        from ...rules.compile import Compiler
        from ...rules.sandbox import single_select
        from ...workspace.registry import suggest

        names = self.catalogue.segment_names()

        def segment_ref(name: str):
            if name not in names:
                s = suggest(name, names)
                raise RuleValidationError(f"in_segment({name!r}): no saved segment of that "
                                          "name" + (f" — did you mean {s!r}?" if s else ""))
            return exp.select(exp.Literal.number(1))

        def sql_ref(query: str):
            return sqlglot.parse_one(single_select(query), read="duckdb")

        def predicted_ref(field: str, horizon):  # fitted when the segment is evaluated
            return exp.select(exp.Literal.number(1).as_("customer_id"),
                              exp.Literal.number(1).as_("value"))

        Compiler(self.catalogue.registry, self.as_of, params, inline=True,
                 segment_ref=segment_ref, sql_ref=sql_ref,
                 predicted_ref=predicted_ref).predicate(node)

    @contextmanager
    def quiet(self):
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    @property
    def is_quiet(self) -> bool:
        return self._quiet > 0

    def changed(self, source=None) -> None:
        if self._quiet or self.on_change is None:
            return
        self.on_change(source)
