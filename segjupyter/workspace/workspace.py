"""The Workspace: one folder of retail data plus its segment catalog."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import duckdb
import pandas as pd

from ..errors import QueryError, WorkspaceError
from .registry import FieldRegistry
from .schema import LOAD_ORDER
from .storage import Storage

SETTINGS_DDL = "CREATE TABLE IF NOT EXISTS catalog.settings (key VARCHAR PRIMARY KEY, value VARCHAR)"


class SQLResult:
    """Rows of a query run with :meth:`Workspace.sql`, already fetched."""

    def __init__(self, frame: pd.DataFrame):
        self._frame = frame

    def df(self) -> pd.DataFrame:
        return self._frame

    def fetchall(self) -> list[tuple]:
        return list(self._frame.itertuples(index=False, name=None))

    def fetchone(self) -> tuple | None:
        rows = self.fetchall()
        return rows[0] if rows else None

    def scalar(self) -> Any:
        row = self.fetchone()
        return None if row is None else row[0]

    def _repr_html_(self) -> str:
        return self._frame._repr_html_()

    def __repr__(self) -> str:
        return repr(self._frame)


class Workspace:
    """A segjupyter workspace. Open one with :func:`segjupyter.open`.

    >>> ws = segjupyter.open(":memory:")
    >>> ws.load(customers=df_customers, orders=df_orders)
    >>> ws.sql("SELECT count(*) FROM orders").df()
    """

    def __init__(self, storage: Storage):
        self.storage = storage
        self._registry: FieldRegistry | None = None
        self._registry_id = None
        self._catalog = None
        if not storage.read_only and not self._has_settings():
            with storage.write() as con:
                con.execute(SETTINGS_DDL)

    def _has_settings(self) -> bool:
        """Whether the catalog exists with its settings table: opening a workspace then
        writes nothing (a write waits for other writers and copies a large catalog)."""
        if not self.storage.catalog_path.exists():
            return False
        with self.storage.read(catalog=True) as con:
            return con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                               "'catalog' AND table_name = 'settings'").fetchone()[0] > 0

    @property
    def read_only(self) -> bool:
        """True for a workspace opened read-only (dashboards): every write raises."""
        return self.storage.read_only

    # -- identity & settings ---------------------------------------------------------------
    @property
    def path(self) -> str:
        return ":memory:" if self.storage.temporary else str(self.storage.root)

    def setting(self, key: str, default: str | None = None) -> str | None:
        # every evaluation reads the time zone and default as_of: opening the catalog for
        # them cost more than an attribute-only count, so they are cached while the
        # catalog files are unchanged (any write, from any process, changes them)
        sig = self.storage.catalog_signature()
        cached = getattr(self, "_settings_cache", None)
        if cached is None or cached[0] != sig:
            with self.storage.read(catalog=True) as con:
                try:
                    rows = dict(con.execute("SELECT key, value FROM catalog.settings"
                                            ).fetchall())
                except duckdb.CatalogException:  # never opened writable: no settings yet
                    rows = {}
            cached = self._settings_cache = (sig, rows)
        value = cached[1].get(key)
        return default if value is None else value

    def set_setting(self, key: str, value: str | None) -> None:
        self._settings_cache = None
        with self.storage.write() as con:
            con.execute("DELETE FROM catalog.settings WHERE key = ?", [key])
            if value is not None:
                con.execute("INSERT INTO catalog.settings VALUES (?, ?)", [key, str(value)])

    @property
    def timezone(self) -> str:
        """IANA time zone of the workspace; relative windows are computed in it."""
        return self.setting("timezone", "UTC")

    @timezone.setter
    def timezone(self, tz: str) -> None:
        import zoneinfo
        try:
            zoneinfo.ZoneInfo(tz)
        except Exception:
            raise WorkspaceError(f"unknown time zone {tz!r} (use an IANA name such as "
                                 "'Europe/Madrid')") from None
        self.set_setting("timezone", tz)

    @property
    def default_as_of(self) -> dt.datetime | None:
        """Fixed evaluation instant, if set (the demo sets its reference date)."""
        v = self.setting("default_as_of")
        return None if v is None else dt.datetime.fromisoformat(v)

    @default_as_of.setter
    def default_as_of(self, value) -> None:
        self.set_setting("default_as_of", None if value is None else
                         pd.Timestamp(value).to_pydatetime().isoformat())

    def now(self) -> dt.datetime:
        """The default ``as_of``: the fixed instant if set, else now in the workspace zone
        (naive local time, as the data's timestamps are)."""
        fixed = self.default_as_of
        if fixed is not None:
            return fixed
        import zoneinfo
        return dt.datetime.now(zoneinfo.ZoneInfo(self.timezone)).replace(tzinfo=None)

    def resolve_as_of(self, as_of=None) -> dt.datetime:
        """Normalise an ``as_of`` argument (None, date, datetime, ISO text) to a datetime.

        A bare date means the end of that day: ``as_of="2026-06-30"`` includes orders of
        June 30."""
        if as_of is None:
            return self.now()
        if isinstance(as_of, str):
            try:
                ts = pd.Timestamp(as_of)
            except (ValueError, TypeError):
                raise WorkspaceError(f"as_of {as_of!r} is not a date (use YYYY-MM-DD or an ISO "
                                     "timestamp)") from None
            if len(as_of.strip()) <= 10:
                return (ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)).to_pydatetime()
            return ts.to_pydatetime().replace(tzinfo=None)
        if isinstance(as_of, dt.datetime):
            return as_of.replace(tzinfo=None)
        if isinstance(as_of, dt.date):
            return dt.datetime.combine(as_of, dt.time.max)
        raise WorkspaceError(f"as_of must be a date, datetime or ISO text, not {type(as_of).__name__}")

    # -- data ------------------------------------------------------------------------------
    def sql(self, query: str, params=None) -> SQLResult:
        """Run SQL against the workspace (retail tables by name; ``catalog.*`` too) and return
        the fetched result. The retail data and catalog are attached read-only.

        >>> ws.sql("SELECT city, count(*) FROM customers WHERE country = ? GROUP BY 1",
        ...        ["ES"]).df()
        """
        # the catalog is attached only when named, so a long query on retail data does not
        # hold the catalog read lock (which every catalog writer must wait for)
        with self.storage.read(catalog="catalog" in query.lower()) as con:
            try:
                frame = con.execute(query, params).df() if params is not None else \
                    con.execute(query).df()
            except duckdb.InvalidInputException as e:
                if "read-only mode" not in str(e):
                    raise
                raise WorkspaceError(f"ws.sql only reads: {e} Change the data with ws.load(...) "
                                     "and segments through ws.segments") from None
            except duckdb.Error as e:
                msg = str(e).strip() or type(e).__name__
                raise QueryError(f"SQL failed: {msg}") from None
        return SQLResult(frame)

    @property
    def fields(self) -> FieldRegistry:
        """The field registry of the current data (rebuilt when the data changes)."""
        with self.storage.read() as con:
            ident = self.storage._retail_id
            if self._registry is None or ident != self._registry_id:
                self._registry = FieldRegistry.from_connection(con)
                self._registry_id = ident
            return self._registry

    @property
    def tables(self) -> dict[str, int]:
        """Available retail tables and their row counts."""
        return dict(self.fields.tables)

    def load(self, customers=None, orders=None, order_lines=None, products=None, stores=None,
             events=None, *, mapping: dict | None = None, strict: bool = False,
             progress="auto"):
        """Load retail data from DataFrames, Arrow tables, CSV or Parquet paths, or DuckDB tables.

        Only customers and orders are required (in this call or already loaded). ``mapping``
        renames source columns: ``{"orders": {"ticket_id": "order_id"}}`` or a flat
        ``{"ticket_id": "order_id"}`` applied to every table. Returns a
        :class:`~segjupyter.workspace.loaders.LoadReport`; rows that fail validation are
        rejected and listed with the reason. With ``strict=True`` any rejected row aborts the
        load (:class:`~segjupyter.errors.LoadError`) and the previous data stays.
        ``progress``: a bar per table in a notebook or terminal (see
        :class:`~segjupyter.progress.Progress`).
        """
        from .loaders import load_tables
        sources = {"customers": customers, "orders": orders, "order_lines": order_lines,
                   "products": products, "stores": stores, "events": events}
        sources = {k: v for k, v in sources.items() if v is not None}
        report = load_tables(self.storage, sources, mapping=mapping or {}, strict=strict,
                             progress=progress)
        self._registry = None
        return report

    def export_parquet(self, folder, tables: list[str] | None = None) -> dict[str, str]:
        """Write the retail tables as ``<folder>/<table>.parquet`` (the canonical schema),
        for Spark and other engines; returns ``{table: path}``.

        >>> spark = SparkEngine(local_spark(), tables=ws.export_parquet("/data/retail"))
        """
        from .parquet import export_parquet
        return export_parquet(self.storage, folder, tables)

    # -- segments (faces above this layer plug in lazily) -----------------------------------
    def segment(self, definition, name: str | None = None, *, params: dict | None = None):
        """A :class:`~segjupyter.rules.segment.Segment` from ``%%segment`` text, a rule tree,
        or its JSON."""
        from ..rules.segment import Segment
        return Segment.from_any(self, definition, name=name, params=params)

    @property
    def segments(self):
        """The segment catalog (:class:`~segjupyter.segments.catalog.Catalog`)."""
        if self._catalog is None:
            from ..segments.catalog import Catalog
            self._catalog = Catalog(self)
        return self._catalog

    @property
    def campaigns(self):
        """Campaigns with control groups (:class:`~segjupyter.segments.campaigns.Campaigns`)."""
        from ..segments.campaigns import Campaigns
        return Campaigns(self)

    def customer_history(self, customer_id):
        """Every segment entry and exit of one customer, newest first."""
        return self.segments.customer_history(customer_id)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.storage.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def summary(self) -> dict:
        """Table counts, order date range and catalog size, as a dict."""
        reg = self.fields
        out: dict[str, Any] = {"path": self.path, "timezone": self.timezone,
                               "tables": dict(reg.tables)}
        if "orders" in reg.tables and reg.tables["orders"]:
            lo, hi = self.sql("SELECT min(ordered_at), max(ordered_at) FROM orders").fetchone()
            out["orders_from"], out["orders_to"] = pd.Timestamp(lo), pd.Timestamp(hi)
        out["custom_fields"] = [f.name for f in reg.customer.values() if f.entity == "custom"]
        try:
            out["segments"] = self.sql("SELECT count(*) FROM catalog.segments").scalar()
        except Exception:
            out["segments"] = 0
        return out

    def __repr__(self) -> str:
        s = self.summary()
        lines = [f"<segjupyter Workspace {s['path']} (time zone {s['timezone']})>"]
        if not s["tables"]:
            lines.append("  no data loaded yet: ws.load(customers=..., orders=...)")
        for t in LOAD_ORDER:
            if t in s["tables"]:
                lines.append(f"  {t:<12} {s['tables'][t]:>12,} rows")
        if "orders_from" in s:
            lines.append(f"  orders from {s['orders_from']:%Y-%m-%d} to {s['orders_to']:%Y-%m-%d}")
        if s["custom_fields"]:
            lines.append(f"  custom fields: {', '.join(s['custom_fields'])}")
        lines.append(f"  saved segments: {s['segments']}")
        return "\n".join(lines)


def open_workspace(path: str | os.PathLike = ":memory:", *, timezone: str | None = None,
                   read_only: bool | None = None) -> Workspace:
    """Open (or create) the workspace folder ``path``; ``":memory:"`` for a throw-away one.

    ``read_only=True`` (default: the ``SEGJUPYTER_READ_ONLY=1`` environment variable, which
    ``segjupyter dashboard`` sets for its kernels) makes every write raise.

    >>> ws = segjupyter.open("~/retail-ws", timezone="Europe/Madrid")
    """
    if read_only is None:
        read_only = os.environ.get("SEGJUPYTER_READ_ONLY") == "1"
    if read_only and str(path) != ":memory:" and not os.path.isdir(os.path.expanduser(str(path))):
        raise WorkspaceError(f"no workspace at {path} (a read-only open does not create one)")
    storage = Storage.for_path(path)
    if read_only:
        storage.read_only = True
    ws = Workspace(storage)
    if timezone is not None:
        ws.timezone = timezone
    return ws
