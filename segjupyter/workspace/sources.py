"""Where loaded data comes from: DataFrames, CSV / Parquet files, DuckDB tables, and the
column mapping that renames a user's columns to canonical ones."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd
import pyarrow as pa

from ..errors import LoadError
from .schema import TABLES

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
COMPRESSED = {".gz", ".zst"}


@dataclass
class Source:
    """One opened source: SQL that can follow ``FROM``, and how to let it go."""

    table: str
    kind: str  # dataframe | arrow | csv | parquet | duckdb | existing
    description: str
    relation: str
    frame: pd.DataFrame | pa.Table | None = None
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for fn in reversed(self.cleanup):
            try:
                fn()
            except duckdb.Error:
                pass
        self.cleanup.clear()


def ident(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(text: str) -> str:
    """Quote an SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def open_source(con: duckdb.DuckDBPyConnection, table: str, source, retail_path: Path) -> Source:
    """Make ``source`` readable by SQL on ``con``.

    Accepted: a pandas DataFrame or a pyarrow Table; a path (``str`` or ``Path``) ending in
    .csv / .tsv / .txt (optionally .gz / .zst) or .parquet / .pq; a DuckDB table as the tuple
    ``("duckdb", "/path/file.duckdb", "table")`` or the text
    ``"duckdb:/path/file.duckdb:table"``.
    """
    tag = f"_sj_src_{table}"
    if isinstance(source, (pd.DataFrame, pa.Table)):
        # DuckDB 2.0 refuses register() while an earlier result (e.g. after fetchone()) is
        # not fully fetched; a finished statement clears it
        con.execute("SELECT 1").fetchall()
        con.register(tag, source)
        kind, what = ("dataframe", "DataFrame") if isinstance(source, pd.DataFrame) \
            else ("arrow", "Arrow table")
        return Source(table, kind, f"{what} ({len(source):,} rows)", tag, source,
                      [lambda: con.unregister(tag)])
    if isinstance(source, tuple):
        if len(source) != 3 or source[0] != "duckdb":
            raise LoadError(f"{table}: a tuple source must be ('duckdb', path, table_name), "
                            f"not {source!r}")
        return _duckdb_source(con, table, Path(source[1]), str(source[2]), retail_path)
    if isinstance(source, str) and source.startswith("duckdb:"):
        path, sep, name = source[len("duckdb:"):].rpartition(":")
        if not sep or not path or not name:
            raise LoadError(f"{table}: write a DuckDB table as 'duckdb:/path/file.duckdb:table', "
                            f"not {source!r}")
        return _duckdb_source(con, table, Path(path), name, retail_path)
    if isinstance(source, (str, os.PathLike)):
        return _file_source(table, Path(source).expanduser())
    raise LoadError(f"{table}: cannot load from a {type(source).__name__}; give a DataFrame, an "
                    "Arrow table, a CSV or Parquet path, or ('duckdb', path, table)")


def _file_source(table: str, path: Path) -> Source:
    if not path.is_file():
        raise LoadError(f"{table}: file {path} not found")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    lit = literal(str(path))
    if suffix in CSV_SUFFIXES:
        # all_varchar: every value arrives as text, so validation can name the bad ones
        delim = ", delim='\\t'" if suffix == ".tsv" else ""
        rel = f"read_csv({lit}, header=true, all_varchar=true{delim})"
        return Source(table, "csv", str(path), rel)
    if suffix in PARQUET_SUFFIXES:
        return Source(table, "parquet", str(path), f"read_parquet({lit})")
    raise LoadError(f"{table}: cannot tell the format of {path.name}: use a .csv, .tsv, .txt, "
                    ".parquet or .pq file")


def _duckdb_source(con, table: str, path: Path, name: str, retail_path: Path) -> Source:
    path = path.expanduser().resolve()
    desc = f"duckdb:{path}:{name}"
    qualified = ".".join(ident(p) for p in name.split("."))
    if path == retail_path.resolve():
        return Source(table, "duckdb", desc, f"retail.{qualified}")
    if not path.is_file():
        raise LoadError(f"{table}: DuckDB file {path} not found")
    alias = f"_sj_db_{table}"
    try:
        con.execute(f"ATTACH {literal(str(path))} AS {alias} (READ_ONLY)")
    except duckdb.Error as e:
        raise LoadError(f"{table}: cannot open DuckDB file {path}: {e}") from None
    src = Source(table, "duckdb", desc, f"{alias}.{qualified}",
                 cleanup=[lambda: con.execute(f"DETACH {alias}")])
    try:
        con.execute(f"SELECT * FROM {src.relation} LIMIT 0")
    except duckdb.Error:
        src.close()
        raise LoadError(f"{table}: DuckDB file {path} has no table {name!r}") from None
    return src


# -- column mapping -----------------------------------------------------------------------

def split_mapping(mapping: dict | None) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Split a mapping into its flat part (every table) and its per-table parts."""
    flat: dict[str, str] = {}
    per: dict[str, dict[str, str]] = {}
    for k, v in (mapping or {}).items():
        if isinstance(v, dict):
            if k not in TABLES:
                near = difflib.get_close_matches(k, list(TABLES), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise LoadError(f"mapping names unknown table {k!r}{hint}; tables are "
                                f"{', '.join(TABLES)}")
            per[k] = {str(a): str(b) for a, b in v.items()}
        elif isinstance(v, str):
            flat[str(k)] = v
        else:
            raise LoadError(f"mapping[{k!r}] must be a column name or a dict of a table's "
                            f"columns, not {type(v).__name__}")
    return flat, per


@dataclass
class ColumnPlan:
    """Which source column becomes which workspace column."""

    used: dict[str, str]  # workspace column -> source column
    ignored: list[str]
    custom: list[str]  # customers columns outside the schema (custom fields)
    found: list[str]  # every source column, for messages


def plan_columns(table: str, columns: list[str], flat: dict[str, str],
                 per: dict[str, str]) -> ColumnPlan:
    """Apply the mapping to the source ``columns`` of ``table`` and match canonical names
    (case-insensitively). Raise :class:`LoadError` on a clash or a mapping of a column the
    source lacks."""
    spec = TABLES[table]
    missing = [c for c in per if c not in columns]
    if missing:
        raise LoadError(f"{table}: the mapping renames {', '.join(map(repr, missing))}, not in "
                        f"the source (columns found: {', '.join(columns)})")
    mapping = {**flat, **per}
    canonical = {c.lower(): c for c in spec.column_names}
    used: dict[str, str] = {}
    ignored: list[str] = []
    custom: list[str] = []
    seen: dict[str, str] = {}  # lower-case target -> source, to catch clashes
    for col in columns:
        target = mapping.get(col, col)
        canon = canonical.get(target.lower())
        if canon is None and table != "customers":
            ignored.append(col)
            continue
        name = canon or target
        if name.startswith("_") or not name.strip():
            ignored.append(col)
            continue
        if name.lower() in seen:
            raise LoadError(f"{table}: columns {seen[name.lower()]!r} and {col!r} both become "
                            f"{name!r}; drop one or map it to another name")
        seen[name.lower()] = col
        if canon is not None and canon in spec.derived:
            ignored.append(col)  # copied from the order instead
            continue
        used[name] = col
        if canon is None:
            custom.append(name)
    return ColumnPlan(used, ignored, custom, list(columns))


def missing_column_error(table: str, column: str, plan: ColumnPlan, hint: str = "") -> LoadError:
    """The error for a required column the source lacks, naming what it has."""
    near = difflib.get_close_matches(column, plan.ignored + plan.custom, n=1, cutoff=0.5)
    suggestion = (f"; to use {near[0]!r}, pass mapping={{{table!r}: {{{near[0]!r}: "
                  f"{column!r}}}}}") if near else ""
    return LoadError(f"{table}: required column {column!r} is missing{hint} (columns found: "
                     f"{', '.join(plan.found) or 'none'}){suggestion}")
