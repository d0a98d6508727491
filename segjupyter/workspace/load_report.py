"""What a load did: rows read, loaded and rejected per table, with reasons and examples.

:func:`~segjupyter.workspace.loaders.load_tables` fills a :class:`LoadReport`; notebooks show
it as a table (``_repr_html_``) and ``report.rejected("orders")`` gives the rejected rows back
as a DataFrame, so that nothing is ever dropped silently.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

#: Rejection codes (``Issue.code``) a load can report.
REJECTION_CODES = ("missing_key", "missing_value", "duplicate_id", "unknown_reference",
                   "unparsable_date", "non_numeric", "unparsable_value")
#: Warning codes: the rows are loaded, but the user should look at them.
WARNING_CODES = ("negative_amount", "unparsable_optional", "no_total")

EXAMPLES = 5


@dataclass
class Issue:
    """One reason for rejecting rows, or one warning about loaded rows.

    ``examples`` holds up to five of the rows concerned, as they were in the source, with
    their 1-based source row number in the ``_row`` column."""

    code: str
    column: str
    message: str
    count: int = 0
    examples: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def example_rows(self) -> list[int]:
        return [] if self.examples.empty else [int(r) for r in self.examples["_row"]]


@dataclass
class TableReport:
    """The load of one table."""

    table: str
    source: str
    rows_read: int = 0
    rows_loaded: int = 0
    reasons: dict[str, Issue] = field(default_factory=dict)  # message -> rejection
    warnings: dict[str, Issue] = field(default_factory=dict)  # message -> warning
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejected_rows: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def rows_rejected(self) -> int:
        return sum(i.count for i in self.reasons.values())

    def reason(self, code: str, column: str | None = None) -> Issue | None:
        """The rejection with this code (and column), or None."""
        return _find(self.reasons, code, column)

    def warning(self, code: str, column: str | None = None) -> Issue | None:
        """The warning with this code (and column), or None."""
        return _find(self.warnings, code, column)


def _find(issues: dict[str, Issue], code: str, column: str | None) -> Issue | None:
    for i in issues.values():
        if i.code == code and (column is None or i.column == column):
            return i
    return None


class LoadReport:
    """Result of :meth:`Workspace.load <segjupyter.workspace.Workspace.load>`.

    >>> report = ws.load(customers="customers.csv", orders=orders_df)
    >>> report.ok, report.to_frame()
    >>> report.rejected("orders")      # the rejected rows, with _row and _reason
    """

    def __init__(self, tables: dict[str, TableReport] | None = None, seconds: float = 0.0,
                 committed: bool = False):
        self.tables: dict[str, TableReport] = tables or {}
        self.seconds = seconds
        self.committed = committed  # the new data replaced the old
        self.kept: dict[str, int | None] = {}  # tables kept as they were -> rows

    def __getitem__(self, table: str) -> TableReport:
        return self.tables[table]

    @property
    def ok(self) -> bool:
        """True when no row was rejected (warnings do not count)."""
        return self.rows_rejected == 0

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.tables.values())

    @property
    def rows_rejected(self) -> int:
        return sum(t.rows_rejected for t in self.tables.values())

    @property
    def warnings(self) -> list[tuple[str, Issue]]:
        return [(t.table, w) for t in self.tables.values() for w in t.warnings.values()]

    def rejected(self, table: str) -> pd.DataFrame:
        """Every rejected row of ``table`` as it was in the source, with ``_row`` (1-based
        source row number) and ``_reason``. Empty when none was rejected."""
        if table not in self.tables:
            return pd.DataFrame(columns=["_row", "_reason"])
        return self.tables[table].rejected_rows

    def to_frame(self) -> pd.DataFrame:
        """One row per table: source, rows read / loaded / rejected, warnings, ignored
        columns."""
        rows = [{"table": t.table, "source": t.source, "read": t.rows_read,
                 "loaded": t.rows_loaded, "rejected": t.rows_rejected,
                 "warnings": sum(w.count for w in t.warnings.values()),
                 "ignored_columns": ", ".join(t.ignored_columns)}
                for t in self.tables.values()]
        return pd.DataFrame(rows, columns=["table", "source", "read", "loaded", "rejected",
                                           "warnings", "ignored_columns"])

    def summary(self) -> str:
        state = "loaded" if self.committed else "NOT loaded (previous data kept)"
        return (f"LoadReport: {self.rows_loaded:,} rows {state}, {self.rows_rejected:,} "
                f"rejected, {sum(w.count for _, w in self.warnings):,} warnings "
                f"({self.seconds:.1f} s)")

    def __repr__(self) -> str:
        out = [self.summary()]
        for t in self.tables.values():
            out.append(f"  {t.table:<12} read {t.rows_read:>10,}  loaded {t.rows_loaded:>10,}"
                       f"  rejected {t.rows_rejected:>8,}   <- {t.source}")
            for i in t.reasons.values():
                out.append(f"      rejected {i.count:,}: {i.message}{_rows(i)}")
            for w in t.warnings.values():
                out.append(f"      warning {w.count:,}: {w.message}{_rows(w)}")
            if t.ignored_columns:
                out.append(f"      ignored columns: {', '.join(t.ignored_columns)}")
            for n in t.notes:
                out.append(f"      note: {n}")
        if self.kept:
            out.append("  kept as they were: " + ", ".join(
                t if n is None else f"{t} ({n:,} rows)" for t, n in self.kept.items()))
        return "\n".join(out)

    def _repr_html_(self) -> str:
        e = html.escape
        parts = [f"<div class='segjupyter-load-report'><b>{e(self.summary())}</b>",
                 self.to_frame().to_html(index=False)]
        for t in self.tables.values():
            items = [(i, "rejected") for i in t.reasons.values()] + \
                    [(w, "warning") for w in t.warnings.values()]
            if not items and not t.notes:
                continue
            parts.append(f"<p><b>{e(t.table)}</b></p><ul>")
            for issue, kind in items:
                parts.append(f"<li>{kind} {issue.count:,}: {e(issue.message)}<details>"
                             f"<summary>examples</summary>"
                             f"{issue.examples.to_html(index=False)}</details></li>")
            for n in t.notes:
                parts.append(f"<li>note: {e(n)}</li>")
            parts.append("</ul>")
        parts.append("</div>")
        return "".join(parts)


def _rows(issue: Issue) -> str:
    rows = issue.example_rows()
    return f"  (e.g. rows {', '.join(map(str, rows))})" if rows else ""
