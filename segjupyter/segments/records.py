"""A saved segment as stored in ``catalog.segments``."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass

from ..rules import model
from ..rules.model import Group
from .rewrite import describe, params_from_json

KINDS = ("dynamic", "static")
TAG_KIND = "tag"
TAG_PREFIX = "tag:"

COLUMNS = ("id", "name", "description", "rule_json", "params_json", "kind", "active",
           "labels_json", "revision", "created_at", "updated_at", "last_run_id",
           "last_refresh_at", "last_as_of", "customers", "subscribed", "last_error")


@dataclass(frozen=True)
class SegmentRecord:
    """One saved segment: its definition and the state of its last refresh."""

    id: int
    name: str
    description: str
    tree: Group
    params: dict
    kind: str
    active: bool
    labels: tuple
    revision: int
    created_at: dt.datetime
    updated_at: dt.datetime
    last_run_id: int | None
    last_refresh_at: dt.datetime | None
    last_as_of: dt.datetime | None
    customers: int | None
    subscribed: int | None
    last_error: str | None

    @property
    def evaluated(self) -> bool:
        return self.last_run_id is not None

    @property
    def locked(self) -> bool:
        """A static segment is locked once it has been evaluated."""
        return self.kind == "static" and self.evaluated

    @property
    def due(self) -> bool:
        """Refreshed by ``refresh_all``: active, and dynamic or a static one never evaluated."""
        return self.active and (self.kind == "dynamic" or (self.kind == "static"
                                                           and not self.evaluated))

    @property
    def status(self) -> str:
        """inactive | locked | error | pending (never evaluated) | active."""
        if self.kind == TAG_KIND:
            return "tag"
        if not self.active:
            return "inactive"
        if self.locked:
            return "locked"
        if self.last_error:
            return "error"
        if not self.evaluated:
            return "pending"
        return "active"

    @property
    def text(self) -> str:
        return describe(self.tree)

    @property
    def uses(self) -> set[str]:
        return model.segment_refs(self.tree)

    @classmethod
    def from_row(cls, row) -> "SegmentRecord":
        d = dict(zip(COLUMNS, row))
        return cls(
            id=int(d["id"]), name=d["name"], description=d["description"] or "",
            tree=_tree(d["rule_json"]), params=params_from_json(d["params_json"]),
            kind=d["kind"], active=bool(d["active"]),
            labels=tuple(json.loads(d["labels_json"] or "[]")), revision=int(d["revision"]),
            created_at=d["created_at"], updated_at=d["updated_at"],
            last_run_id=d["last_run_id"], last_refresh_at=d["last_refresh_at"],
            last_as_of=d["last_as_of"], customers=d["customers"], subscribed=d["subscribed"],
            last_error=d["last_error"])


@functools.lru_cache(maxsize=4096)
def _tree(rule_json: str) -> model.Group:
    # trees are immutable; a dashboard lists the segments every few seconds, and decoding
    # 150 stored rules each time was most of a listing's time
    return model.from_json(rule_json)


def load_records(con) -> dict[str, SegmentRecord]:
    """All saved segments by name (``con`` has the catalog attached)."""
    rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM catalog.segments ORDER BY id").fetchall()
    return {r[1]: SegmentRecord.from_row(r) for r in rows}
