"""Workspace layer: DuckDB storage, canonical schema, loaders, field registry."""

from .load_report import LoadReport
from .registry import Field, FieldRegistry
from .workspace import SQLResult, Workspace, open_workspace

__all__ = ["Field", "FieldRegistry", "LoadReport", "SQLResult", "Workspace", "open_workspace"]
