"""Progress of the steps a user waits for (demo build, load, refresh, backfill, report).

A tqdm bar in a notebook (a widget, via ``tqdm.auto``) or on a terminal; on a pipe or a job
log, plain lines (``[refresh] 2/5 ...``) or nothing, depending on the step.
"""

from __future__ import annotations

import sys
import time


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
        ip = get_ipython()
        return ip is not None and "IPKernelApp" in getattr(ip, "config", {})
    except Exception:
        return False


def _tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Reports ``step(message)`` calls out of ``total``.

    ``mode`` is ``True`` (a tqdm bar in a notebook or terminal, lines on stderr elsewhere),
    ``"auto"`` (a bar in a notebook or terminal, silent elsewhere), ``"bar"`` (always a
    tqdm bar), ``"lines"``, ``False`` (silent), or a callable ``fn(done, total, message)``.

    >>> prog = Progress(True, 3, "load")
    >>> prog.step("customers"); prog.step("orders"); prog.close("done")
    """

    def __init__(self, mode, total: int, title: str = "refresh"):
        self.total = max(total, 1)
        self.done = 0
        self.title = title
        self.start = time.monotonic()
        self._fn = None
        self._bar = None
        if callable(mode):
            self._fn = mode
        elif mode == "bar" or (mode in (True, "auto") and (_in_notebook() or _tty())):
            self._bar = self._make_bar()
        elif mode is True or mode == "lines":
            self._fn = self._line

    @property
    def is_bar(self) -> bool:
        return self._bar is not None

    def _make_bar(self):
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            self._fn = self._line
            return None
        return tqdm(total=self.total, desc=self.title, unit="step", leave=True,
                    file=sys.stderr, bar_format="{desc}: {n}/{total} |{bar}| {elapsed} "
                                                "{postfix}")

    def _line(self, done: int, total: int, message: str) -> None:
        print(f"[{self.title}] {done}/{total} {message} ({time.monotonic() - self.start:.1f} s)",
              file=sys.stderr, flush=True)

    def step(self, message: str, n: int = 1) -> None:
        before = self.done
        self.done = min(self.done + n, self.total)
        self._show(message, self.done - before)

    def note(self, message: str) -> None:
        """A message without advancing."""
        self._show(message, 0)

    def _show(self, message: str, advanced: int) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(message, refresh=False)
            self._bar.update(advanced)
            if not advanced:
                self._bar.refresh()
        elif self._fn is not None:
            self._fn(self.done, self.total, message)

    def close(self, message: str) -> None:
        advanced = self.total - self.done
        self.done = self.total
        self._show(message, advanced)
        if self._bar is not None:
            if "error" in message and hasattr(self._bar, "colour"):
                self._bar.colour = "orange"
            self._bar.close()
