"""Progress of a refresh: see :mod:`segjupyter.progress` (shared by load, build and report)."""

from ..progress import Progress

__all__ = ["Progress"]
