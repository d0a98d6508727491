"""Exception types of segjupyter.

Every error a user can cause is one of these, raised at the boundary with a message that says
what is wrong and where. Notebooks show them as one readable line (see ``magic.py``), not a
traceback.
"""

from __future__ import annotations


class SegjupyterError(Exception):
    """Base class of every error segjupyter raises on purpose."""


class WorkspaceError(SegjupyterError):
    """A workspace cannot be opened or used (missing file, bad layout, closed workspace)."""


class WorkspaceBusyError(WorkspaceError):
    """Another process held the workspace lock for longer than the allowed wait."""


class QueryError(SegjupyterError):
    """SQL given to :meth:`Workspace.sql` failed; the message is DuckDB's first line."""


class LoadError(SegjupyterError):
    """Data could not be loaded; the previous data of the workspace is unchanged.

    ``report`` holds the :class:`~segjupyter.workspace.loaders.LoadReport` when there is one.
    """

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


class UnavailableFieldError(SegjupyterError):
    """A field exists in the canonical model but the workspace lacks the table it needs."""


class UnknownFieldError(SegjupyterError):
    """A rule names a field the registry does not know; carries a did-you-mean suggestion."""

    def __init__(self, message: str, field: str | None = None, suggestion: str | None = None):
        super().__init__(message)
        self.field = field
        self.suggestion = suggestion


class SegmentSyntaxError(SegjupyterError):
    """The ``%%segment`` text does not parse.

    Carries ``line`` and ``column`` (1-based), the offending ``token`` text and an optional
    ``suggestion``; ``str()`` gives a one-paragraph message with a caret under the column.
    """

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 token: str | None = None, suggestion: str | None = None, text: str | None = None):
        self.message = message
        self.line = line
        self.column = column
        self.token = token
        self.suggestion = suggestion
        self.text = text
        super().__init__(self._format())

    def _format(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line is not None else ""
        out = f"{where}{self.message}"
        if self.suggestion:
            out += f" (did you mean {self.suggestion!r}?)" if not self.suggestion.startswith(
                "did you") else f" ({self.suggestion})"
        if self.text is not None and self.line is not None and self.column is not None:
            lines = self.text.splitlines() or [""]
            if 1 <= self.line <= len(lines):
                src = lines[self.line - 1]
                out += f"\n    {src}\n    {' ' * (self.column - 1)}^"
        return out


class RuleValidationError(SegjupyterError):
    """A rule tree is well formed but does not fit the workspace (type mismatch, operator a
    type does not allow, field of a missing table, unknown saved segment, ...).

    ``path`` is the position of the condition in the tree (tuple of child indexes) and
    ``condition`` its text in the segment language, when known.
    """

    def __init__(self, message: str, path: tuple[int, ...] = (), condition: str | None = None):
        self.path = tuple(path)
        self.condition = condition
        text = message if condition is None else f"{message} (in: {condition})"
        super().__init__(text)


class RuleFormatError(SegjupyterError, ValueError):
    """A JSON rule document (stored, from a widget or a file) is malformed; ``path`` is the
    JSON pointer of the node at fault, e.g. ``/rule/rules/2/op``."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.path = path


class SandboxError(SegjupyterError):
    """Advanced SQL was refused or failed in the sandbox (not one SELECT, no customer_id
    column, forbidden access, time limit)."""


class StatementLimitError(SandboxError):
    """Advanced SQL ran past its wall-clock timeout or memory limit and was stopped.
    ``limit`` is ``"time"`` or ``"memory"``, ``value`` the limit that applied."""

    def __init__(self, message: str, limit: str, value):
        super().__init__(message)
        self.limit = limit
        self.value = value


class CatalogError(SegjupyterError):
    """A segment catalog operation failed (unknown segment, duplicate name, locked static
    segment, dependency cycle, ...)."""


class AnalyticsError(SegjupyterError, ValueError):
    """An analytics argument is not valid: a period that does not parse or ends before it
    starts, an unknown frequency, ranking, attribution or metric."""


class NotebookError(SegjupyterError):
    """A curated notebook run (papermill: report, refresh job) failed; the message names the
    notebook and carries the error raised in it."""


class PredictionError(SegjupyterError):
    """The customer-value models cannot be fitted (too little purchase history) or a
    predicted field cannot be computed; nothing is cached or written."""


class CampaignError(CatalogError):
    """A campaign cannot be created or measured (holdout outside (0, 1), too few members for
    a control group, unknown campaign, ...); nothing is written."""
