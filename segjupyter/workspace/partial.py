"""Files written beside their target, then renamed over it: all or nothing on disk.

A process killed while writing leaves only its ``<prefix><pid>`` part file, never a torn
target; the next writer sweeps the part files of processes that are gone.

>>> with atomic_path(Path("members.csv")) as tmp:
...     tmp.write_text("...")
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(folder: Path, prefix: str) -> int:
    """Remove ``folder/<prefix><pid>[.anything]`` files whose process is gone; returns how
    many."""
    removed = 0
    for p in Path(folder).glob(f"{prefix}*"):
        pid = p.name[len(prefix):].split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            p.unlink(missing_ok=True)
            removed += 1
    return removed


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A part file to write instead of ``path``; renamed over ``path`` when the block ends
    without error, removed otherwise."""
    prefix = f".{path.name}.part-"
    sweep(path.parent, prefix)
    tmp = path.with_name(f"{prefix}{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
