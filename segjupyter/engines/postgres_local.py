"""A throw-away PostgreSQL server for trying the PostgreSQL engine, the tests and benchmarks.

It runs the installed server binaries (Debian: ``apt-get install -y postgresql``) on a
fresh data directory in a temporary folder, listening on 127.0.0.1 at a free port only, with
``trust`` authentication for the local superuser, and removes everything on exit. As root,
the server runs as the ``postgres`` system user (PostgreSQL refuses to run as root).

>>> with LocalPostgres() as pg:
...     conn = connect(pg.conninfo)
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

from .base import EngineUnavailableError

INSTALL_POSTGRES = "apt-get install -y postgresql (Debian/Ubuntu)"


def server_binaries() -> str:
    """The folder of ``initdb`` / ``pg_ctl`` (newest installed major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    raise EngineUnavailableError(f"no PostgreSQL server binaries (initdb): {INSTALL_POSTGRES}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    """Start with ``start()`` (or ``with``), stop with ``stop()``; ``conninfo`` connects."""

    def __init__(self, user: str | None = None):
        self.bin = server_binaries()
        self.run_as = user if user is not None else ("postgres" if os.geteuid() == 0 else None)
        self.port = 0
        self.root: str | None = None
        self._started = False

    @property
    def conninfo(self) -> str:
        user = self.run_as or os.environ.get("USER") or "postgres"
        return f"host=127.0.0.1 port={self.port} dbname=postgres user={user}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        out = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                             user=self.run_as, cwd=self.root)
        if out.returncode != 0:
            raise EngineUnavailableError(f"{os.path.basename(args[0])} failed: "
                                         f"{(out.stderr or out.stdout).strip()[-500:]}")

    def start(self) -> "LocalPostgres":
        if self.run_as is not None:
            import pwd
            try:
                pw = pwd.getpwnam(self.run_as)
            except KeyError:
                raise EngineUnavailableError(
                    f"running as root, PostgreSQL needs the {self.run_as!r} system user, "
                    f"which the Debian package creates: {INSTALL_POSTGRES}") from None
        self.root = tempfile.mkdtemp(prefix="sj-pg-")
        if self.run_as is not None:
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.root, "data")
        self._run(os.path.join(self.bin, "initdb"), "-D", data, "--auth=trust",
                  "--encoding=UTF8", "--lc-collate=C", "--lc-ctype=C.UTF-8", "-U", self.run_as or
                  os.environ.get("USER") or "postgres")
        self.port = _free_port()
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories="
                f"{self.root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                f"-c shared_buffers=128MB -c max_connections=20")
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", data, "-o", opts, "-l",
                  os.path.join(self.root, "server.log"), "-w", "-t", "60", "start")
        self._started = True
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise EngineUnavailableError("PostgreSQL did not accept connections within 30 s")

    def stop(self) -> None:
        if self._started:
            self._started = False
            try:
                self._run(os.path.join(self.bin, "pg_ctl"), "-D",
                          os.path.join(self.root, "data"), "-m", "fast", "-w", "stop")
            except (EngineUnavailableError, subprocess.SubprocessError):
                pass
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> "LocalPostgres":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
