"""Where a workspace lives on disk, and how many processes share it without blocking.

A workspace is a folder::

    retail.duckdb    the retail data; only ever replaced whole (build a new file, os.replace)
    catalog.duckdb   the segment catalog and settings; small, opened per operation
    .gate.lock       writer-priority gate (flock)
    .data.lock       catalog readers share it, the catalog writer holds it alone
    .write.lock      one catalog writer at a time (readers never take it)
    .retail.lock     one loader at a time

DuckDB lets one process write a file or many read it, never both, and any open handle blocks
a writer in another process (NOTES.md). So each process keeps one in-memory DuckDB connection
and

* attaches ``retail.duckdb`` read-only for as long as the file is the same inode (a loader in
  another process replaces the file; readers holding the old one keep a consistent snapshot,
  and the next operation here re-attaches the new file);
* attaches ``catalog.duckdb`` only for the length of one operation: read-only for readers,
  read-write for the writer, behind a two-file flock gate that gives the writer priority
  (readers pass the gate before taking the shared data lock; the writer closes the gate, then
  waits for readers inside to leave). Waits longer than ``lock_timeout`` raise
  :class:`~segjupyter.errors.WorkspaceBusyError`, never a raw DuckDB lock error;
* for a write that may take seconds (the first refresh of many segments at 1M customers),
  ``write(bulk=True)`` copies ``catalog.duckdb``, writes the copy and swaps it in with
  ``os.replace``: readers keep reading the previous state meanwhile and never wait for it.

``open(":memory:")`` uses the same layout in a temporary folder removed when the workspace
is closed or the process ends, so there is one code path.
"""

from __future__ import annotations

import atexit
import fcntl
import itertools
import os
import shutil
import tempfile
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from ..errors import WorkspaceBusyError, WorkspaceError

RETAIL_FILE = "retail.duckdb"
CATALOG_FILE = "catalog.duckdb"

DEFAULT_LOCK_TIMEOUT = float(os.environ.get("SEGJUPYTER_LOCK_TIMEOUT", "10"))
#: A catalog file above this size is always written on a copy: in place, even a small
#: write (deleting a few leavers among millions of members, then the checkpoint on detach)
#: could keep readers out for about a second.
BULK_BYTES = int(os.environ.get("SEGJUPYTER_BULK_BYTES", str(64 * 2**20)))


def duckdb_config() -> dict:
    """Per-process DuckDB limits; every kernel (each Voila viewer is one) should bound them."""
    cfg = {
        "threads": int(os.environ.get("SEGJUPYTER_THREADS", str(os.cpu_count() or 2))),
        "memory_limit": os.environ.get("SEGJUPYTER_MEMORY_LIMIT", "4GB"),
    }
    return cfg


class _FileLock:
    """A flock on one file, acquired by polling so that a deadline can be kept."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)

    def acquire(self, exclusive: bool, deadline: float, what: str) -> float:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        start = time.monotonic()
        delay = 0.001
        while True:
            try:
                fcntl.flock(self.fd, mode)
                return time.monotonic() - start
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WorkspaceBusyError(
                        f"workspace {self.path.parent} is busy: could not {what} within "
                        f"{time.monotonic() - start:.1f} s (another process holds it); "
                        "try again, or raise SEGJUPYTER_LOCK_TIMEOUT") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.02)

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


_old_names = itertools.count()
_storages: dict[str, "Storage"] = {}
_storages_lock = threading.Lock()


class Storage:
    """The files of one workspace and this process's connection to them.

    Use :meth:`for_path` (one instance per folder and process: DuckDB refuses to attach one
    file twice in a process). All access goes through :meth:`read`, :meth:`write` and
    :meth:`replace_retail`.
    """

    def __init__(self, root: Path, temporary: bool = False):
        self.root = root
        self.temporary = temporary
        self.lock_timeout = DEFAULT_LOCK_TIMEOUT
        root.mkdir(parents=True, exist_ok=True)
        self.retail_path = root / RETAIL_FILE
        self.catalog_path = root / CATALOG_FILE
        self._gate = _FileLock(root / ".gate.lock")
        self._data = _FileLock(root / ".data.lock")
        self._retail_lock = _FileLock(root / ".retail.lock")
        self._writer = _FileLock(root / ".write.lock")
        self._bulk_tmp: Path | None = None
        #: seconds each catalog write kept readers out (gate closed), newest last
        self.lock_holds: list[float] = []
        self._held_since = 0.0
        self._mutex = threading.RLock()
        self._con = duckdb.connect(":memory:", config=duckdb_config())
        # long loads would otherwise draw progress bars into notebooks and job logs
        self._con.execute("SET enable_progress_bar = false")
        self._retail_id: tuple[int, int] | None = None
        self._catalog_mode: str | None = None  # None | "ro" | "rw"
        self._depth = 0
        self.closed = False
        self._scratch: list[str] = []  # temp tables to drop after the operation
        self.read_only = False  # set by open(..., read_only=True): dashboards never write
        self.last_wait = 0.0  # seconds the last operation waited on locks (for tests/benchmarks)
        if not self.retail_path.exists():
            self._create_empty(self.retail_path)
        if not self.catalog_path.exists():
            self._create_empty(self.catalog_path)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def for_path(cls, path: str | os.PathLike) -> "Storage":
        if str(path) == ":memory:":
            root = Path(tempfile.mkdtemp(prefix="segjupyter-"))
            st = cls(root, temporary=True)
            weakref.finalize(st, shutil.rmtree, str(root), True)
            return st
        root = Path(path).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise WorkspaceError(
                f"{root} is a file; a workspace is a folder (holding {RETAIL_FILE} and "
                f"{CATALOG_FILE})")
        key = str(root)
        with _storages_lock:
            st = _storages.get(key)
            if st is None or st.closed:
                st = cls(root)
                _storages[key] = st
            return st

    def _create_empty(self, path: Path) -> None:
        tmp = path.with_name(f"{path.name}.new-{os.getpid()}")
        con = duckdb.connect(str(tmp))
        con.close()
        try:
            os.link(tmp, path)  # atomic: never overwrite a file another process made meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)

    # -- connection state -----------------------------------------------------------------
    def _ensure_retail(self) -> None:
        st = os.stat(self.retail_path)
        ident = (st.st_ino, st.st_mtime_ns)
        if ident == self._retail_id:
            return
        if self._retail_id is not None:
            self._con.execute("USE memory")
            self._con.execute("DETACH retail")
        self._attach(f"ATTACH '{_q(self.retail_path)}' AS retail (READ_ONLY)")
        self._con.execute("USE retail")
        self._retail_id = ident

    def _attach(self, stmt: str) -> None:
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        while True:
            try:
                self._con.execute(stmt)
                return
            except duckdb.IOException as e:  # a process outside our gate holds the file
                if "lock" not in str(e).lower() or time.monotonic() >= deadline:
                    raise WorkspaceBusyError(f"workspace {self.root} is busy: {e}") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def _open_catalog(self, mode: str, deadline: float) -> None:
        waited = 0.0
        if mode == "bulk":
            waited += self._writer.acquire(True, deadline, "wait for another catalog writer")
            try:
                waited += self._fold_wal(deadline)
                tmp = self._copy_catalog()
            except BaseException:
                self._writer.release()
                raise
            self._attach_copy(tmp)
        elif mode == "rw":
            waited += self._writer.acquire(True, deadline, "wait for another catalog writer")
            try:
                waited += self._gate.acquire(True, deadline, "close the writer gate")
            except BaseException:
                self._writer.release()
                raise
            self._held_since = time.monotonic()
            try:
                waited += self._data.acquire(True, deadline, "get the catalog write lock")
            except BaseException:
                self._gate.release()
                self._writer.release()
                raise
            try:
                self._attach(f"ATTACH '{_q(self.catalog_path)}' AS catalog")
            except BaseException:
                self._data.release()
                self._gate.release()
                self._writer.release()
                raise
        else:
            waited += self._gate.acquire(False, deadline, "pass the writer gate")
            try:
                waited += self._data.acquire(False, deadline, "get the catalog read lock")
            finally:
                self._gate.release()
            try:
                self._attach(f"ATTACH '{_q(self.catalog_path)}' AS catalog (READ_ONLY)")
            except BaseException:
                self._data.release()
                raise
        self._catalog_mode = mode
        self.last_wait = waited

    def _fold_wal(self, deadline: float) -> float:
        """Fold a WAL left beside the catalog into it, in place (readers wait meanwhile);
        returns the seconds waited. A writer killed between its commit and the checkpoint
        leaves committed changes there; a copy written and swapped in beside that older
        WAL would no longer open ("WAL checkpoint iteration does not match")."""
        if not Path(f"{self.catalog_path}.wal").exists():
            return 0.0
        waited = self._gate.acquire(True, deadline, "close the writer gate")
        try:
            waited += self._data.acquire(True, deadline, "get the catalog write lock")
            try:
                self._attach(f"ATTACH '{_q(self.catalog_path)}' AS catalog")
                try:
                    self._con.execute("CHECKPOINT catalog")
                finally:
                    self._con.execute("DETACH catalog")
            finally:
                self._data.release()
        finally:
            self._gate.release()
        return waited

    def _new_catalog_path(self) -> Path:
        """``catalog.duckdb.new-PID``, empty, for a copy to be swapped in; the copies of
        writers that were killed (or exited first) are swept. The caller holds
        ``.write.lock``."""
        from .partial import sweep
        for left in (".new-", ".old-"):
            sweep(self.root, f"{CATALOG_FILE}{left}")
        tmp = self.catalog_path.with_name(f"{CATALOG_FILE}.new-{os.getpid()}")
        for f in (tmp, Path(f"{tmp}.wal")):
            f.unlink(missing_ok=True)
        return tmp

    def _copy_catalog(self) -> Path:
        """Copy the catalog beside it; returns the copy. The caller holds ``.write.lock``
        (writers are serialised, so the file is stable) and has folded any WAL into it
        (:meth:`_fold_wal`)."""
        tmp = self._new_catalog_path()
        shutil.copyfile(self.catalog_path, tmp)
        return tmp

    def _attach_copy(self, tmp: Path) -> None:
        """Attach a copy made by :meth:`_copy_catalog` read-write as ``catalog``."""
        try:
            self._con.execute(f"ATTACH '{_q(tmp)}' AS catalog")
        except BaseException:
            self._discard_copy(tmp)
            raise
        self._bulk_tmp = tmp

    def _discard_copy(self, tmp: Path) -> None:
        """Remove a copy (if still there) and let the next writer in."""
        for f in (tmp, Path(f"{tmp}.wal")):
            f.unlink(missing_ok=True)
        self._writer.release()

    def compact_catalog(self) -> tuple[int, int]:
        """Rewrite ``catalog.duckdb`` without its free space; returns its size in bytes
        before and after. DuckDB reuses the blocks that deleted rows free but never gives
        them back, and every write on a copy copies the whole file. The new file is built
        beside the old one and swapped in: readers go on reading meanwhile, writers wait."""
        if self.read_only:
            raise WorkspaceError(f"workspace {self.root} is open read-only: nothing can be "
                                 "changed from here")
        with self._mutex:
            if self._catalog_mode is not None:
                raise WorkspaceError("cannot compact the catalog inside a catalog operation")
            if not self.catalog_path.exists():
                return 0, 0
            deadline = time.monotonic() + self.lock_timeout
            self._writer.acquire(True, deadline, "wait for another catalog writer")
            tmp = None
            try:
                self._fold_wal(deadline)
                before = self._catalog_bytes()
                tmp = self._new_catalog_path()
                self._attach(f"ATTACH '{_q(self.catalog_path)}' AS catalog (READ_ONLY)")
                try:
                    self._con.execute(f"ATTACH '{_q(tmp)}' AS catalog_compact")
                    try:
                        self._con.execute("COPY FROM DATABASE catalog TO catalog_compact")
                        self._con.execute("CHECKPOINT catalog_compact")
                    finally:
                        self._con.execute("DETACH catalog_compact")
                finally:
                    self._con.execute("DETACH catalog")
                self._replace_catalog(tmp)
                return before, self._catalog_bytes()
            finally:
                if tmp is not None:
                    self._discard_copy(tmp)
                else:
                    self._writer.release()

    def _replace_catalog(self, tmp: Path) -> None:
        """Rename the written copy over the catalog. The old file gets a second name first
        and is unlinked by a thread: freeing its hundreds of megabytes takes the file
        system a tenth of a second, which the refresh need not wait for."""
        old = self.catalog_path.with_name(
            f"{CATALOG_FILE}.old-{os.getpid()}.{next(_old_names)}")
        try:
            os.link(self.catalog_path, old)
        except OSError:
            old = None
        os.replace(tmp, self.catalog_path)
        if old is not None:
            threading.Thread(target=old.unlink, kwargs={"missing_ok": True},
                             name="segjupyter-unlink", daemon=True).start()

    def _close_catalog(self, committed: bool = False) -> None:
        mode = self._catalog_mode
        self._catalog_mode = None
        if mode == "bulk":
            tmp, self._bulk_tmp = self._bulk_tmp, None
            try:
                if committed:
                    self._con.execute("CHECKPOINT catalog")
                self._con.execute("DETACH catalog")
                if committed:  # atomic: readers see the old file or the new one, whole
                    self._replace_catalog(tmp)
            finally:
                self._discard_copy(tmp)
            return
        try:
            self._con.execute("DETACH catalog")
        finally:
            self._data.release()
            if mode == "rw":
                self._gate.release()
                self.lock_holds.append(time.monotonic() - self._held_since)
                del self.lock_holds[:-1000]
                self._writer.release()

    @contextmanager
    def _operation(self, catalog: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
        if self.closed:
            raise WorkspaceError("this workspace is closed")
        if catalog in ("rw", "bulk") and self.read_only:
            raise WorkspaceError(f"workspace {self.root} is open read-only: nothing can be "
                                 "changed from here")
        with self._mutex:
            outer = self._depth == 0
            opened = False
            if outer:
                self._ensure_retail()
            if catalog in ("rw", "bulk") and self._catalog_mode == "ro":
                raise WorkspaceError("cannot start a catalog write inside a catalog read")
            if catalog is not None and self._catalog_mode is None:
                if catalog == "rw" and self._catalog_bytes() > BULK_BYTES:
                    catalog = "bulk"
                self._open_catalog(catalog, time.monotonic() + self.lock_timeout)
                opened = True
            self._depth += 1
            committed = False
            try:
                if opened and catalog in ("rw", "bulk"):
                    self._con.execute("BEGIN TRANSACTION")
                    try:
                        yield self._con
                    except BaseException:
                        self._con.execute("ROLLBACK")
                        raise
                    else:
                        self._con.execute("COMMIT")
                        committed = True
                else:
                    yield self._con
            finally:
                self._depth -= 1
                if opened:
                    self._close_catalog(committed)
                if outer:
                    self._drop_scratch()

    def _catalog_bytes(self) -> int:
        try:
            return os.stat(self.catalog_path).st_size
        except FileNotFoundError:
            return 0

    def catalog_signature(self) -> tuple:
        """Changes whenever the catalog's content may have: identity, size and time of
        ``catalog.duckdb`` and of its WAL."""
        out = []
        for f in (self.catalog_path, Path(f"{self.catalog_path}.wal")):
            try:
                s = os.stat(f)
                out.append((s.st_ino, s.st_size, s.st_mtime_ns))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def drop_after_operation(self, temp_table: str) -> None:
        """Drop ``temp.main.<temp_table>`` when the current outermost operation ends (the
        ids of an advanced-SQL condition live for one evaluation only)."""
        self._scratch.append(temp_table)

    def _drop_scratch(self) -> None:
        while self._scratch:
            name = self._scratch.pop().replace('"', '""')
            self._con.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')

    # -- public ---------------------------------------------------------------------------
    def read(self, catalog: bool = False) -> "contextmanager[duckdb.DuckDBPyConnection]":
        """Connection for reading: ``retail`` attached (and the default database);
        ``catalog`` attached read-only when asked."""
        return self._operation("ro" if catalog else None)

    def write(self, bulk: bool = False) -> "contextmanager[duckdb.DuckDBPyConnection]":
        """Connection with ``catalog`` attached read-write inside one transaction: all or
        nothing. Keep it short: every catalog reader in every process waits for it; or,
        with ``bulk=True`` (a write of millions of rows), on a copy of the catalog swapped
        in at commit, so readers never wait (the copy costs a file copy). Every write to a
        catalog larger than ``BULK_BYTES`` (64 MB) is made that way."""
        return self._operation("bulk" if bulk else "rw")

    @contextmanager
    def replace_retail(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Build a new retail file and swap it in whole.

        Yields the connection with the current data as ``retail`` and an empty new database
        attached as ``retail_new``; fill it completely. On success the new file replaces the
        old one atomically; on any error the old data stays as it was.
        """
        if self.read_only:
            raise WorkspaceError(f"workspace {self.root} is open read-only: data cannot be "
                                 "loaded from here")
        deadline = time.monotonic() + max(self.lock_timeout, 60.0)
        self._retail_lock.acquire(True, deadline, "get the retail load lock")
        tmp = self.retail_path.with_name(f"{RETAIL_FILE}.new-{os.getpid()}")
        from .partial import sweep
        sweep(self.root, f"{RETAIL_FILE}.new-")  # left by loaders that were killed
        try:
            with self._mutex:
                tmp.unlink(missing_ok=True)
                with self.read() as con:
                    con.execute(f"ATTACH '{_q(tmp)}' AS retail_new")
                    try:
                        yield con
                        con.execute("CHECKPOINT retail_new")
                    finally:
                        con.execute("DETACH retail_new")
                os.replace(tmp, self.retail_path)
        finally:
            tmp.unlink(missing_ok=True)
            Path(str(tmp) + ".wal").unlink(missing_ok=True)
            self._retail_lock.release()

    def sandbox_connection(self, config: dict) -> duckdb.DuckDBPyConnection:
        """A separate read-only connection to the retail file (for advanced SQL)."""
        return duckdb.connect(str(self.retail_path), read_only=True, config=config)

    def close(self) -> None:
        with self._mutex:
            if self.closed:
                return
            self.closed = True
            try:
                self._con.close()
            finally:
                for lk in (self._gate, self._data, self._retail_lock, self._writer):
                    lk.close()
                with _storages_lock:
                    if _storages.get(str(self.root)) is self:
                        del _storages[str(self.root)]
                if self.temporary:
                    shutil.rmtree(self.root, ignore_errors=True)


def _q(path: Path) -> str:
    """Quote a file path for a DuckDB string literal."""
    return str(path).replace("'", "''")


@atexit.register
def _close_all() -> None:
    for st in list(_storages.values()):
        try:
            st.close()
        except Exception:
            pass
