"""segjupyter: customer segmentation that lives inside Jupyter.

>>> import segjupyter as sj
>>> ws = sj.demo.build("/tmp/demo-ws", size="S")
>>> seg = ws.segment('city = "Madrid" and spend(last 12 months) >= 500')
>>> seg.count()
"""

from __future__ import annotations

from . import errors
from .errors import (CatalogError, LoadError, RuleValidationError, SandboxError,
                     SegjupyterError, SegmentSyntaxError, UnknownFieldError, WorkspaceBusyError,
                     WorkspaceError)
from .workspace import Workspace
from .workspace import open_workspace as open  # noqa: A001  (segjupyter.open is the API)

__version__ = "0.1.0"

__all__ = ["open", "Workspace", "demo", "errors", "SegjupyterError", "WorkspaceError",
           "WorkspaceBusyError", "LoadError", "UnknownFieldError", "SegmentSyntaxError",
           "RuleValidationError", "SandboxError", "CatalogError", "load_ipython_extension"]


def __getattr__(name):
    # heavy or optional modules load on first use, so `import segjupyter` stays fast
    # import_module, not "from . import x": that form calls this hook again (recursion)
    import importlib
    if name == "demo":
        return importlib.import_module(f"{__name__}.demo")
    if name == "ui":
        return importlib.import_module(f"{__name__}.widgets").ui
    raise AttributeError(f"module 'segjupyter' has no attribute {name!r}")


def load_ipython_extension(ipython):
    """``%load_ext segjupyter``: register the ``%%segment`` magics."""
    from .magic import load_ipython_extension as _load
    _load(ipython)
