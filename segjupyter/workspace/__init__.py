"""Workspace layer: DuckDB storage, canonical schema, loaders, field registry."""

from .registry import Field, FieldRegistry
from .workspace import SQLResult, Workspace, open_workspace

__all__ = ["Field", "FieldRegistry", "SQLResult", "Workspace", "open_workspace"]
