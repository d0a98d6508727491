"""Progress of a refresh: a bar in a notebook (ipywidgets), lines on the command line."""

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


class Progress:
    """Reports ``step(message)`` calls out of ``total``.

    ``mode`` is ``True`` (a widget bar in a notebook kernel, lines on stderr elsewhere),
    ``False`` (silent), ``"lines"``, or a callable ``fn(done, total, message)``.
    """

    def __init__(self, mode, total: int, title: str = "refresh"):
        self.total = max(total, 1)
        self.done = 0
        self.title = title
        self.start = time.monotonic()
        self._fn = None
        self._bar = None
        self._label = None
        if callable(mode):
            self._fn = mode
        elif mode is True and _in_notebook():
            try:
                import ipywidgets as w
                from IPython.display import display
                self._bar = w.IntProgress(value=0, min=0, max=self.total, description=title,
                                          layout=w.Layout(width="320px"))
                self._label = w.Label("")
                display(w.HBox([self._bar, self._label]))
            except ImportError:
                self._fn = self._line
        elif mode is True or mode == "lines":
            self._fn = self._line

    def _line(self, done: int, total: int, message: str) -> None:
        print(f"[{self.title}] {done}/{total} {message} ({time.monotonic() - self.start:.1f} s)",
              file=sys.stderr, flush=True)

    def step(self, message: str, n: int = 1) -> None:
        self.done = min(self.done + n, self.total)
        self._show(message)

    def note(self, message: str) -> None:
        """A message without advancing."""
        self._show(message)

    def _show(self, message: str) -> None:
        if self._bar is not None:
            self._bar.value = self.done
            self._label.value = f"{self.done}/{self.total} {message}"
        elif self._fn is not None:
            self._fn(self.done, self.total, message)

    def close(self, message: str) -> None:
        self.done = self.total
        self._show(message)
        if self._bar is not None:
            self._bar.bar_style = "success" if "error" not in message else "warning"
