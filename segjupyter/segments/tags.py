"""Customer tags written from a segment's members, usable in later rules.

Design: the retail data is only ever replaced whole (a new file), so writing a column into
``customers`` would mean rebuilding the whole retail file for every tag. Tags therefore live
in the catalog, as segments of kind ``tag`` named ``tag:<field>=<value>`` whose members are
the customers carrying that value. Rules use them like any saved segment:

    in_segment("tag:loyalty=gold")

A customer has at most one value per tag field: tagging customers with ``loyalty=silver``
removes them from ``tag:loyalty=gold``. Every change is a membership event (reason: the
segment the tag came from), so it shows in ``customer_history``.
"""

from __future__ import annotations

import re

import pandas as pd

from ..errors import CatalogError
from ..rules import model
from ..rules.model import Group
from .evaluate import key_type
from .records import TAG_KIND, TAG_PREFIX
from .rewrite import params_to_json
from .store import next_ids

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def tag_name(field: str, value) -> str:
    return f"{TAG_PREFIX}{field}={value}"


def tag_members(cat, name: str, field: str, value) -> int:
    ws = cat.ws
    if not isinstance(field, str) or not _FIELD.match(field):
        raise CatalogError(f"tag field {field!r} must be a name: letters, digits and _, "
                           "not starting with a digit")
    value = str(value)
    if not value.strip() or any(ch in value for ch in "\n\r"):
        raise CatalogError("a tag value must be non-empty text on one line")
    src = cat._record(name)
    if src.kind == TAG_KIND:
        raise CatalogError(f"{name!r} is itself a tag; tag from a segment")
    if not src.evaluated:
        raise CatalogError(f"segment {name!r} has never been refreshed; refresh it before "
                           "tagging its members")
    from .refresh import wall_now
    now = wall_now(ws)
    target = tag_name(field, value)
    reason = f"tagged {field}={value} from segment {name!r}"
    with ws.storage.write() as con:
        row = con.execute("SELECT id FROM catalog.segments WHERE name = ?", [target]).fetchone()
        if row is None:
            tid = next_ids(con, "segment")
            con.execute(
                "INSERT INTO catalog.segments (id, name, description, rule_json, params_json, "
                "kind, active, labels_json, revision, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, false, '[]', 1, ?, ?)",
                [tid, target, f"customer tag {field} = {value}", model.to_json(Group()),
                 params_to_json({}), TAG_KIND, now, now])
        else:
            tid = row[0]
        siblings = [r[0] for r in con.execute(
            "SELECT id FROM catalog.segments WHERE kind = ? AND starts_with(name, ?) "
            "AND id <> ?", [TAG_KIND, tag_name(field, ""), tid]).fetchall()]
        batch = next_ids(con, "batch")
        run_id = next_ids(con, "run")
        src_members = ("SELECT customer_id FROM catalog.segment_members "
                       f"WHERE segment_id = {int(src.id)}")
        if siblings:
            con.execute(
                "INSERT INTO catalog.membership_events SELECT segment_id, customer_id, 'leave', "
                f"?, ?, ? FROM catalog.segment_members WHERE list_contains(?, segment_id) "
                f"AND customer_id IN ({src_members})", [now, run_id, reason, siblings])
            con.execute(
                "DELETE FROM catalog.segment_members WHERE list_contains(?, segment_id) "
                f"AND customer_id IN ({src_members})", [siblings])
        new = (f"FROM ({src_members}) s WHERE s.customer_id NOT IN (SELECT customer_id FROM "
               f"catalog.segment_members WHERE segment_id = {int(tid)})")
        entered = con.execute(f"SELECT count(*) {new}").fetchone()[0]
        con.execute(f"INSERT INTO catalog.membership_events SELECT ?, customer_id, 'enter', ?, "
                    f"?, ? {new}", [tid, now, run_id, reason])
        con.execute(f"INSERT INTO catalog.segment_members SELECT ?, customer_id, ?, ? {new}",
                    [tid, now, run_id])
        for sid in [tid] + siblings:
            con.execute(
                "UPDATE catalog.segments SET customers = (SELECT count(*) FROM "
                "catalog.segment_members WHERE segment_id = ?), last_run_id = ?, "
                "last_refresh_at = ?, last_as_of = ? WHERE id = ?", [sid, run_id, now, now, sid])
        n = con.execute(f"SELECT count(*) FROM ({src_members})").fetchone()[0]
        con.execute("INSERT INTO catalog.refresh_runs VALUES (?, ?, ?, ?, 'tag', ?, ?, 0, ?, ?, "
                    "0, NULL, NULL)", [run_id, batch, tid, target, now, now, n, entered])
    return int(n)


def customer_tags(cat, field: str | None = None) -> pd.DataFrame:
    """``customer_id, field, value, tagged_at`` of every tag (of one field)."""
    args: list = [TAG_KIND]
    where = ""
    if field is not None:
        where, args = " AND starts_with(s.name, ?)", args + [tag_name(field, "")]
    with cat.ws.storage.read(catalog=True) as con:
        return con.execute(
            f"SELECT TRY_CAST(m.customer_id AS {key_type(cat.ws)}) AS customer_id, "
            "split_part(substr(s.name, 5), '=', 1) AS field, "
            "substr(s.name, 6 + length(split_part(substr(s.name, 5), '=', 1))) AS value, "
            "m.entered_at AS tagged_at FROM catalog.segments s JOIN catalog.segment_members m "
            f"ON m.segment_id = s.id WHERE s.kind = ?{where} ORDER BY 2, 3, 1", args).df()
