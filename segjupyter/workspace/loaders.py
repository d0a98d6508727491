"""Loading retail data: read the sources, map and type their columns, validate every row in
DuckDB SQL, and swap the new data in whole (:meth:`Storage.replace_retail`).

Rules a user can rely on (see :func:`load_tables`):

* A row that fails validation is *rejected*: it is not loaded, it is counted under its first
  failing reason in the :class:`~segjupyter.workspace.load_report.LoadReport`, and
  ``report.rejected(table)`` gives it back. Reasons, in the order they are checked: a missing
  key or required value, a required value that cannot be read (unparsable date, non-numeric
  amount or quantity), a reference to a row that is not there (order of an unknown customer,
  line of an unknown order or product, event of an unknown customer), a duplicate id.
* Of several rows with the same id, the first (in source order) that passes the other checks
  is loaded; later copies are rejected as duplicates.
* A value of an optional column that cannot be read (e.g. a birth date "1985-02-30") does not
  reject the row: the value is set to NULL and reported as a warning. Negative money (returns)
  is loaded and reported as a warning too.
* Tables not given are kept; those that refer to a reloaded table are validated again (reload
  customers, and orders of customers no longer present are rejected, and so on down).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pyarrow as pa

from ..errors import LoadError
from ..progress import Progress
from . import casts, source_checks
from .load_report import EXAMPLES, Issue, LoadReport, TableReport
from .schema import LOAD_ORDER, MONEY, TABLES
from .sources import (ColumnPlan, Source, ident, missing_column_error, open_source,
                      plan_columns, split_mapping)
from .storage import Storage
from .validation import mark_duplicates, typed_rows

__all__ = ["load_tables", "LoadReport"]

#: The table whose key an id column refers to.
KEY_OWNERS = {"customer_id": "customers", "order_id": "orders", "product_id": "products",
              "store_id": "stores"}
#: A table must be validated again when one of these is reloaded.
DEPENDS = {"orders": ("customers", "stores"), "order_lines": ("orders", "products"),
           "events": ("customers",)}
SORT_KEY = {"orders": "customer_id", "order_lines": "customer_id"}


def load_tables(storage: Storage, sources: dict, mapping: dict | None = None,
                strict: bool = False, progress="auto", release: bool = False) -> LoadReport:
    """Validate ``sources`` ({table: source}) and make them the workspace's retail data.

    A source is a pandas DataFrame or pyarrow Table, a CSV path (.csv / .tsv / .txt, read as
    text so bad values can be reported), a Parquet path (.parquet / .pq), or an existing
    DuckDB table written ``("duckdb", "/path/file.duckdb", "table")`` or
    ``"duckdb:/path/file.duckdb:table"``.
    ``mapping`` renames source columns: ``{"orders": {"ticket": "order_id"}}`` for one table,
    ``{"ticket": "order_id"}`` for all. Ids are BIGINT when every id of the key is an integer,
    VARCHAR otherwise. ``order_lines`` may omit ``line_no`` (numbered in source order) and
    ``amount`` (quantity * unit_price); ``orders`` may omit ``total`` when lines are loaded
    (sum of the lines). Raises :class:`~segjupyter.errors.LoadError` for a missing required
    column or unreadable source, and with ``strict=True`` for any rejected row; the previous
    data is then unchanged. ``progress`` is a :class:`~segjupyter.progress.Progress` mode
    (one step per table) or an open ``Progress`` to advance. ``release=True`` removes each
    source from ``sources`` once its table is written, so that a caller handing over its
    only references (the demo build) frees those tables early. A source may also be a
    function of no arguments returning one: it is called when the table is read, and for
    ``events`` (the last table, nothing refers to it) only once the others are written, so
    that a caller can make it then (the demo build makes its 25M events after the lines are
    written and freed).

    >>> report = load_tables(ws.storage, {"customers": "c.csv", "orders": orders_df})
    """
    started = time.perf_counter()
    unknown = [t for t in sources if t not in TABLES]
    if unknown:
        raise LoadError(f"unknown table(s) {', '.join(map(repr, unknown))}; tables are "
                        f"{', '.join(TABLES)}")
    if not sources:
        raise LoadError("nothing to load: give at least one table, e.g. ws.load(customers=df)")
    flat, per = split_mapping(mapping)
    tz = _timezone(storage)
    own = not isinstance(progress, Progress)
    prog = Progress(progress, len(LOAD_ORDER) + 1, "load") if own else progress
    with storage.replace_retail() as con:
        job = _LoadJob(con, storage, tz, flat, per, prog)
        job.release = sources if release else None
        try:
            report = job.run(sources, strict, started)
        except duckdb.Error as e:
            raise LoadError(f"loading {job.current or 'the data'} failed: {e}") from None
        finally:
            job.cleanup()
    report.committed = True
    report.seconds = time.perf_counter() - started
    if own:
        prog.close(f"{report.rows_loaded:,} rows loaded in {report.seconds:.1f} s")
    return report


def _timezone(storage: Storage) -> str:
    try:
        with storage.read(catalog=True) as con:
            row = con.execute("SELECT value FROM catalog.settings WHERE key = 'timezone'"
                              ).fetchall()
    except duckdb.CatalogException:
        return "UTC"
    return row[0][0] if row else "UTC"


@dataclass
class _Stage:
    """A table's rows as a temp table or view: ``_row`` (1-based source row) and the used
    columns under their workspace names, still with their source types."""

    table: str
    name: str
    description: str
    plan: ColumnPlan
    types: dict[str, str]
    rows: int
    frame: pd.DataFrame | pa.Table | None = None
    kind: str = "existing"  # dataframe | arrow | csv | parquet | duckdb | existing
    existing: bool = False
    notes: list[str] = field(default_factory=list)
    custom_types: dict[str, str] = field(default_factory=dict)  # custom column -> target
    flagged: str = ""  # temp table: _row, _reason, _w<i> of rejected or warned rows

    @property
    def typed(self) -> str:
        return f"temp.main._sj_typed_{self.table}"


class _LoadJob:
    def __init__(self, con, storage: Storage, tz: str, flat: dict, per: dict, prog=None):
        self.con = con
        self.release: dict | None = None
        self.prog = prog
        self.storage = storage
        self.tz = tz
        self.flat, self.per = flat, per
        self.temps: list[tuple[str, str]] = []  # (TABLE | VIEW, name), dropped at the end
        self.sources: list[Source] = []
        self.staged: dict[str, _Stage] = {}
        self.current: str | None = None
        self.issues: dict[str, list[Issue]] = {}
        self.warn_conds: dict[str, list[tuple[str, Issue]]] = {}
        self.computed_total = False
        self.existing: dict[str, dict[str, str]] = {}
        for t, col, typ in con.execute(
                "SELECT table_name, column_name, data_type FROM duckdb_columns() "
                "WHERE database_name = 'retail' ORDER BY table_name, column_index").fetchall():
            if t in TABLES:
                self.existing.setdefault(t, {})[col] = typ

    # -- the steps -------------------------------------------------------------------------
    def run(self, sources: dict, strict: bool, started: float) -> LoadReport:
        final = set(sources) | set(self.existing)
        for t in ("customers", "orders"):
            if t not in final:
                raise LoadError(f"{t} are required: give {t}=... (the workspace has none yet)")
        for t in LOAD_ORDER:
            if t in sources and not (t == "events" and callable(sources[t])):
                self.current = t
                source = sources[t]() if callable(sources[t]) else sources[t]
                self.staged[t] = self._stage_source(t, source, final)
        dirty = set(sources)
        for t in LOAD_ORDER:
            if t not in dirty and t in self.existing and any(
                    p in dirty for p in DEPENDS.get(t, ())):
                dirty.add(t)
                self.current = t
                self.staged[t] = self._stage_existing(t, [p for p in DEPENDS[t] if p in dirty])
        self.id_types = self._decide_id_types()
        if "customers" in self.staged:
            self._infer_custom(self.staged["customers"])
        report = LoadReport()
        # table by table, parents first: validate, write the accepted rows, and only keep
        # the (few) rejected or warned rows in memory; children check their references
        # against the parent already written
        for t in LOAD_ORDER:
            self.current = t
            if t in sources and t not in self.staged:  # events made only now
                self.staged[t] = self._stage_source(t, sources[t](), final)
            if t in self.staged:
                self._validate_and_write(self.staged[t], final)
                report.tables[t] = self._table_report(self.staged[t])
                if not (t == "orders" and self.computed_total):  # _fill_totals reads it
                    self._drop_temps(t)
                    self._release_source(t)
            elif t in self.existing:
                self.con.execute(f"CREATE TABLE retail_new.{t} AS SELECT * FROM retail.{t}")
            if self.prog is not None:
                self.prog.step(f"{t} validated and written")
        if self.computed_total:
            self.current = "orders"
            self._fill_totals(report.tables["orders"])
        report.kept = {t: None for t in LOAD_ORDER if t in self.existing and t not in dirty}
        for t in report.kept:
            report.kept[t] = self.con.execute(f"SELECT count(*) FROM retail_new.{t}"
                                              ).fetchall()[0][0]
        if strict and report.rows_rejected:
            # nothing is committed: the new file is discarded with the exception
            report.seconds = time.perf_counter() - started
            per_table = "; ".join(
                f"{t.table}: " + ", ".join(f"{i.count:,} {i.message}" for i in t.reasons.values())
                for t in report.tables.values() if t.reasons)
            raise LoadError(f"load refused (strict=True): {report.rows_rejected:,} rows would be "
                            f"rejected ({per_table}); the previous data is unchanged",
                            report=report)
        self.current = None
        return report

    def cleanup(self) -> None:
        for kind, name in reversed(self.temps):
            try:
                self.con.execute(f"DROP {kind} IF EXISTS {name}")
            except duckdb.Error:
                pass
        for src in self.sources:
            src.close()

    # -- staging ---------------------------------------------------------------------------
    def _stage_source(self, table: str, source, final: set[str]) -> _Stage:
        src: Source = open_source(self.con, table, source, self.storage.retail_path)
        # DataFrames, Arrow tables, Parquet files and DuckDB tables are scanned in place (a
        # view; the source stays open until the end); CSV is parsed once into a temp table
        lazy = src.kind in ("dataframe", "arrow", "parquet", "duckdb")
        self.sources.append(src)
        try:
            cols = [r[0] for r in self.con.execute(
                f"DESCRIBE SELECT * FROM {src.relation}").fetchall()]
        except duckdb.Error as e:
            raise LoadError(f"{table}: cannot read {src.description}: {e}") from None
        if src.kind == "csv" and len(cols) == 1 and any(d in cols[0] for d in ",;|\t"):
            raise LoadError(f"{table}: cannot work out the layout of {src.description}: its "
                            f"header reads as one column {cols[0]!r}; check that every row has "
                            "as many fields as the header")
        plan = plan_columns(table, cols, self.flat, self.per.get(table, {}))
        notes = self._check_required(table, plan, final)
        select = "".join(f", {ident(s)} AS {ident(n)}" for n, s in plan.used.items())
        name = self._temp(f"_sj_stage_{table}", view=lazy)
        try:
            self.con.execute(f"CREATE TEMP {'VIEW' if lazy else 'TABLE'} {_bare(name)} AS "
                             f"SELECT row_number() OVER () AS _row{select} FROM {src.relation}")
        except duckdb.Error as e:
            raise LoadError(f"{table}: cannot read {src.description}: {e}") from None
        if not lazy:
            src.close()
        st = self._stage_info(table, name, src.description, plan, src.frame)
        st.kind, st.notes = src.kind, notes
        return st

    def _stage_existing(self, table: str, because: list[str]) -> _Stage:
        cols = [c for c in self.existing[table] if c not in TABLES[table].derived]
        name = self._temp(f"_sj_stage_{table}", view=True)
        self.con.execute(f"CREATE TEMP VIEW {_bare(name)} AS SELECT row_number() OVER () AS _row"
                         + "".join(f", {ident(c)}" for c in cols) + f" FROM retail.{table}")
        plan = ColumnPlan({c: c for c in cols}, [], [], cols)
        st = self._stage_info(table, name, f"previous load, checked against the new "
                                           f"{' and '.join(because)}", plan, None)
        st.existing = True
        return st

    def _stage_info(self, table, name, description, plan, frame) -> _Stage:
        types = {r[0]: r[1] for r in self.con.execute(f"DESCRIBE {name}").fetchall()}
        rows = len(frame) if frame is not None else \
            self.con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
        return _Stage(table, name, description, plan, types, rows, frame)

    def _temp(self, bare: str, view: bool = False) -> str:
        name = f"temp.main.{bare}"
        kind = "VIEW" if view else "TABLE"
        self.con.execute(f"DROP {kind} IF EXISTS {name}")
        self.temps.append((kind, name))
        return name

    def _check_required(self, table: str, plan: ColumnPlan, final: set[str]) -> list[str]:
        """Raise for a required column the source lacks; notes on the ones computed."""
        notes: list[str] = []
        spec = TABLES[table]
        for c in spec.columns:
            if not c.required or c.name in plan.used or c.name in spec.derived:
                continue
            if table == "orders" and c.name == "total":
                if "order_lines" in final:
                    notes.append("total computed as the sum of each order's line amounts")
                    self.computed_total = True
                    continue
                raise missing_column_error("orders", "total", plan,
                                           " (it can be computed when order_lines are loaded)")
            if table == "order_lines" and c.name == "line_no":
                notes.append("line_no numbered in source order within each order")
                continue
            if table == "order_lines" and c.name == "amount" and {
                    "quantity", "unit_price"} <= set(plan.used):
                notes.append("amount computed as quantity * unit_price")
                continue
            raise missing_column_error(table, c.name, plan)
        return notes

    # -- types -----------------------------------------------------------------------------
    def _decide_id_types(self) -> dict[str, str]:
        types: dict[str, str] = {}
        for key, owner in KEY_OWNERS.items():
            if owner in self.staged and key in self.staged[owner].types:
                cols = [(owner, key)]
            elif owner in self.existing:
                types[key] = "BIGINT" if casts.family(self.existing[owner][key]) == "int" \
                    else "VARCHAR"
                continue
            else:
                cols = [(t, key) for t, st in self.staged.items() if key in st.types]
            types[key] = "BIGINT" if all(self._integral(self.staged[t], c) for t, c in cols) \
                else "VARCHAR"
        return types

    def _integral(self, st: _Stage, col: str) -> bool:
        fam = casts.family(st.types[col])
        if fam == "int":
            return True
        c = ident(col)
        if fam == "float":
            sql = f"SELECT bool_and({c} = trunc({c})) FROM {st.name}"
        elif fam == "text":
            v = casts.value(c, st.types[col])
            sql = f"SELECT {casts.fits(v, 'BIGINT')} FROM {st.name}"
        else:
            return False
        return self.con.execute(sql).fetchall()[0][0] is not False

    def _infer_custom(self, st: _Stage) -> None:
        text_cols = []
        for col in st.plan.custom:
            fam = casts.family(st.types[col])
            if fam == "text" and st.kind == "csv":
                text_cols.append(col)
            else:
                st.custom_types[col] = casts.custom_type(st.types[col]) or st.types[col]
        if not text_cols:
            return
        aggs = [casts.fits(casts.value(ident(c), "VARCHAR"), t)
                for c in text_cols for t in casts.TEXT_INFERENCE]
        row = self.con.execute(f"SELECT {', '.join(aggs)} FROM {st.name}").fetchall()[0]
        n = len(casts.TEXT_INFERENCE)
        for i, col in enumerate(text_cols):
            ok = row[i * n:(i + 1) * n]
            st.custom_types[col] = next((t for t, fit in zip(casts.TEXT_INFERENCE, ok) if fit),
                                        "VARCHAR")

    # -- validation ------------------------------------------------------------------------
    def _validate_and_write(self, st: _Stage, final: set[str]) -> None:
        """Type and check ``st``'s rows (a view) and write the accepted ones to
        ``retail_new``, then keep the rejected and warned rows in a small temp table. When
        every row was written, none was rejected and the warned rows are read from the stage
        alone (no joins); otherwise the view is evaluated a second time. Duplicate ids are
        rare: only when the written table may have some is the typed table materialised to
        reject the later copies."""
        parents = {p: (f"retail_new.{p}" if p in self.staged else f"retail.{p}")
                   for p in final}
        plan = typed_rows(st.table, st.name, st.types, st.custom_types, parents, self.id_types,
                          self.tz)
        self.issues[st.table] = plan.issues
        self.warn_conds[st.table] = plan.warnings
        typed = self._temp(_bare(st.typed), view=True)
        self.con.execute(f"CREATE TEMP VIEW {_bare(typed)} AS {plan.sql}")
        self._write(st, typed)
        written = self.con.execute(f"SELECT count(*) FROM retail_new.{st.table}"
                                   ).fetchall()[0][0]
        self._keep_flagged(st, typed if written != st.rows else None, plan.warned_sql)
        key = TABLES[st.table].key
        if plan.duplicate is not None and not self._unique_in_source(st, key) \
                and self._has_duplicates(st.table, key):
            self.con.execute(f"DROP TABLE retail_new.{st.table}")
            self.con.execute(f"DROP VIEW {typed}")
            self.temps.remove(("VIEW", typed))
            table = self._temp(_bare(st.typed))
            self.con.execute(f"CREATE TEMP TABLE {_bare(table)} AS {plan.sql}")
            mark_duplicates(self.con, table, key, plan.duplicate)
            self._write(st, table)
            self._keep_flagged(st, table)

    def _keep_flagged(self, st: _Stage, typed: str | None, warned_sql: str = "") -> None:
        """The rejected and warned rows of ``typed``; with ``typed=None`` (no row rejected)
        the warned rows of ``warned_sql``."""
        warns = [f"_w{i}" for i in range(len(self.warn_conds[st.table]))]
        flagged = self._temp(f"_sj_flagged_{st.table}")
        if typed is None:
            self.con.execute(f"CREATE TEMP TABLE {_bare(flagged)} AS {warned_sql}")
        else:
            self.con.execute(
                f"CREATE TEMP TABLE {_bare(flagged)} AS SELECT _row, _reason"
                + "".join(f", {w}" for w in warns) + f" FROM {typed} WHERE _reason IS NOT NULL"
                + "".join(f" OR {w}" for w in warns))
        st.flagged = flagged

    def _unique_in_source(self, st: _Stage, key: tuple[str, ...]) -> bool:
        """Whether the key never repeats in ``st``'s in-memory source, read with NumPy (then
        no accepted rows repeat it either: integer ids keep their values when typed)."""
        if st.frame is None or not key:
            return False
        cols = [source_checks.int_column(st.frame, st.plan.used.get(k)) for k in key]
        if any(c is None for c in cols):
            return False
        return source_checks.unique_keys(cols) is True

    def _has_duplicates(self, table: str, key: tuple[str, ...]) -> bool:
        """Whether a key may repeat: distinct hashes of the key are counted (~40% cheaper
        than grouping by it on 30M lines); a collision only sends the table down the exact
        (slower) path, which rejects true duplicates only."""
        keys = ", ".join(ident(k) for k in key)
        return bool(self.con.execute(
            f"SELECT count(*) - count(DISTINCT hash({keys})) FROM retail_new.{table}"
        ).fetchall()[0][0])

    def _release_source(self, table: str) -> None:
        """Let go of a written table's source when asked to (``release``): at demo L the
        orders and lines frames are 1.7 GB that the events write does not need."""
        if self.release is None or table not in self.release:
            return
        st = self.staged[table]
        for kind, name in [x for x in self.temps if x[1] == st.name]:
            self.con.execute(f"DROP {kind} IF EXISTS {name}")
            self.temps.remove((kind, name))
        for src in [s for s in self.sources if s.table == table]:
            src.close()
            src.frame = None
            self.sources.remove(src)
        st.frame = None
        del self.release[table]

    def _drop_temps(self, table: str) -> None:
        """The typed view and flagged rows of a written table are no longer needed (the
        stage stays: rejected rows are read from it for the report)."""
        for kind, name in [x for x in self.temps if x[1].endswith(
                (f"_sj_typed_{table}", f"_sj_flagged_{table}"))]:
            self.con.execute(f"DROP {kind} IF EXISTS {name}")
            self.temps.remove((kind, name))

    # -- reporting -------------------------------------------------------------------------
    def _table_report(self, st: _Stage) -> TableReport:
        t = st.table
        rep = TableReport(t, st.description, rows_read=st.rows,
                          ignored_columns=list(st.plan.ignored), notes=list(st.notes))
        issues = self.issues[t]
        rejected = self.con.execute(f"SELECT _row, _reason FROM {st.flagged} "
                                    "WHERE _reason IS NOT NULL ORDER BY _row").df()
        if len(rejected):
            rows = self._source_rows(st, rejected["_row"].tolist())
            rows.insert(1, "_reason", [issues[int(i)].message for i in rejected["_reason"]])
            rep.rejected_rows = rows
            for idx, n in sorted(rejected["_reason"].value_counts().items()):
                issue = issues[int(idx)]
                issue.count = int(n)
                issue.examples = rows[rows["_reason"] == issue.message].head(EXAMPLES) \
                    .reset_index(drop=True)
                rep.reasons[issue.message] = issue
        else:
            rep.rejected_rows = pd.DataFrame(columns=["_row", "_reason"])
        rep.rows_loaded = st.rows - len(rejected)
        warns = self.warn_conds[t]
        if warns:
            counts = self.con.execute("SELECT " + ", ".join(
                f"count(*) FILTER (WHERE _w{i})" for i in range(len(warns)))
                + f" FROM {st.flagged} WHERE _reason IS NULL").fetchall()[0]
            for i, ((_, issue), n) in enumerate(zip(warns, counts)):
                if n:
                    ex = [r[0] for r in self.con.execute(
                        f"SELECT _row FROM {st.flagged} WHERE _reason IS NULL AND _w{i} "
                        f"ORDER BY _row LIMIT {EXAMPLES}").fetchall()]
                    issue.count = int(n)
                    issue.examples = self._source_rows(st, ex)
                    rep.warnings[issue.message] = issue
        return rep

    def _source_rows(self, st: _Stage, rows: list[int]) -> pd.DataFrame:
        """The source rows ``rows`` (1-based) as given, with a leading ``_row`` column."""
        if isinstance(st.frame, pa.Table):
            out = st.frame.take([r - 1 for r in rows]).to_pandas()
        elif st.frame is not None:
            out = st.frame.iloc[[r - 1 for r in rows]].copy()
        else:
            out = self.con.execute(f"SELECT * EXCLUDE (_row) FROM {st.name} WHERE _row IN "
                                   "(SELECT unnest(?::BIGINT[])) ORDER BY _row", [rows]).df()
            out = out.rename(columns=st.plan.used)
        out.insert(0, "_row", rows)
        return out

    # -- writing ---------------------------------------------------------------------------
    def _write(self, st: _Stage, typed: str) -> None:
        t, spec = st.table, TABLES[st.table]
        cols = [ident(c) for c in spec.column_names] + [ident(c) for c in st.custom_types]
        if t == "orders" and self.computed_total and "total" not in st.types:
            # filled from the lines once they are validated (_fill_totals)
            cols[spec.column_names.index("total")] = f"CAST(NULL AS {MONEY}) AS total"
        # joins do not keep the source order (DuckDB), so always sort: a source already in
        # customer order (the demo's) makes the sort cheap
        order = f" ORDER BY {SORT_KEY[t]}" if t in SORT_KEY else ""
        # events are the biggest table and nothing reads them in source order: letting
        # threads write in any order saves ~40% of their write
        loose = t == "events"
        if loose:
            self.con.execute("SET preserve_insertion_order = false")
        try:
            self.con.execute(f"CREATE TABLE retail_new.{t} AS SELECT {', '.join(cols)} "
                             f"FROM {typed} o WHERE o._reason IS NULL{order}")
        finally:
            if loose:
                self.con.execute("RESET preserve_insertion_order")


    def _fill_totals(self, rep: TableReport) -> None:
        """``orders.total`` computed as the sum of the order's accepted lines."""
        self.con.execute(
            f"UPDATE retail_new.orders SET total = l._t FROM (SELECT order_id AS _k, "
            f"CAST(sum(amount) AS {MONEY}) AS _t FROM retail_new.order_lines GROUP BY 1) l "
            "WHERE retail_new.orders.order_id = l._k")
        n = self.con.execute("SELECT count(*) FROM retail_new.orders WHERE total IS NULL"
                             ).fetchall()[0][0]
        if n:
            st = self.staged["orders"]
            ex = self.con.execute(
                f"SELECT o._row FROM retail_new.orders n JOIN {st.typed} o USING (order_id) "
                f"WHERE n.total IS NULL AND o._reason IS NULL ORDER BY o._row "
                f"LIMIT {EXAMPLES}").fetchall()
            issue = Issue("no_total", "total", "order without lines: total unknown (NULL)",
                          int(n), self._source_rows(st, [r[0] for r in ex]))
            rep.warnings[issue.message] = issue

def _bare(name: str) -> str:
    return name.split(".")[-1]
