"""Segment definitions as YAML or JSON files, so segments can live in git.

The file::

    format: segjupyter-segments
    version: 1
    segments:
    - name: big_spenders
      kind: dynamic            # or static
      active: true
      description: Spent 500+ in the last year
      tags: [email]
      text: spend(last 12 months) >= 500     # for people; `rule` is what is imported
      rule: {group: and, negate: false, rules: [...]}
      params: {}

``rule`` is the stored JSON tree (lossless); a hand-written entry may give only ``text``
(the ``%%segment`` language), which is parsed on import. Members, history and customer tags
are data, not definitions: they are not in the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..errors import CatalogError, SegjupyterError
from ..rules import model
from ..rules.model import Group
from ..rules.segment import Segment
from .records import KINDS, TAG_KIND, TAG_PREFIX
from .refresh import check_cycles, wall_now
from .rewrite import describe, params_from_json, params_to_json
from .store import next_ids

FORMAT = "segjupyter-segments"
VERSION = 1


def _kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    raise CatalogError(f"{path}: definitions files end in .yaml, .yml or .json")


def export_definitions(cat, path, names=None) -> int:
    path = Path(path).expanduser()
    kind = _kind_of(path)
    records = cat._records()
    chosen = [r for r in records.values() if r.kind != TAG_KIND]
    if names is not None:
        for n in names:
            cat._record(n, records)
        chosen = [r for r in chosen if r.name in set(names)]
    entries = []
    for r in chosen:
        entries.append({
            "name": r.name, "kind": r.kind, "active": r.active, "description": r.description,
            "tags": list(r.labels), "text": describe(r.tree),
            "rule": model.node_to_json(r.tree),
            "params": json.loads(params_to_json(r.params))})
    doc = {"format": FORMAT, "version": VERSION, "segments": entries}
    if kind == "yaml":
        import yaml
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    else:
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(entries)


def _read(path: Path) -> list[dict]:
    kind = _kind_of(path)
    if not path.exists():
        raise CatalogError(f"definitions file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if kind == "yaml":
            import yaml
            doc = yaml.safe_load(text)
        else:
            doc = json.loads(text)
    except Exception as e:
        raise CatalogError(f"{path} is not valid {kind.upper()}: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("segments"), list):
        raise CatalogError(f"{path}: expected a mapping with a 'segments' list")
    version = doc.get("version", VERSION)
    if isinstance(version, bool) or not isinstance(version, int):
        raise CatalogError(f"{path}: 'version' must be a whole number, not {version!r}")
    if version > VERSION:
        raise CatalogError(f"{path}: version {doc['version']} is newer than this segjupyter "
                           f"reads ({VERSION})")
    return doc["segments"]


def _entry(cat, i: int, e, path: Path) -> dict:
    where = f"{path}, segment #{i + 1}"
    if not isinstance(e, dict) or not isinstance(e.get("name"), str):
        raise CatalogError(f"{where}: each segment needs a 'name'")
    where = f"{path}, segment {e['name']!r}"
    kind = e.get("kind", "dynamic")
    if kind not in KINDS:
        raise CatalogError(f"{where}: kind must be 'dynamic' or 'static', not {kind!r}")
    try:
        params = params_from_json(json.dumps(e.get("params") or {}))
        if e.get("rule") is not None:
            tree = model.from_json({"version": model.JSON_VERSION, "rule": e["rule"]})
        elif isinstance(e.get("text"), str):
            from ..rules.dsl import parse
            tree = parse(e["text"], registry=cat.ws.fields, params=params)
        else:
            raise CatalogError(f"{where}: give the rule as 'rule' (JSON tree) or 'text'")
    except SegjupyterError as err:
        raise CatalogError(f"{where}: {err}") from None
    except (ValueError, TypeError, KeyError) as err:
        raise CatalogError(f"{where}: bad rule: {err}") from None
    tags = e.get("tags") or []
    return {"name": e["name"], "kind": kind, "active": bool(e.get("active", True)),
            "description": str(e.get("description") or ""),
            "tags": [str(t) for t in (tags if isinstance(tags, list) else [tags])],
            "tree": tree, "params": params, "where": where}


def import_definitions(cat, path, on_conflict: str = "update") -> pd.DataFrame:
    if on_conflict not in ("update", "skip", "error"):
        raise CatalogError("on_conflict must be 'update', 'skip' or 'error'")
    from .catalog import _check_name
    path = Path(path).expanduser()
    entries = [_entry(cat, i, e, path) for i, e in enumerate(_read(path))]
    names = [e["name"] for e in entries]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CatalogError(f"{path}: segment {dup[0]!r} is defined twice")
    for e in entries:
        _check_name(e["name"])
    records = cat._records()
    known = set(records) | set(names)
    graph = {n: r.uses for n, r in records.items()}
    # customer tags are data, not definitions: a rule may use a tag this catalog has not
    # got yet; it is created empty
    new_tags = sorted({n for e in entries for n in model.segment_refs(e["tree"])
                       if n.startswith(TAG_PREFIX) and n not in known})
    known |= set(new_tags)
    for e in entries:
        missing = sorted(model.segment_refs(e["tree"]) - known)
        if missing:
            raise CatalogError(f"{e['where']}: in_segment({missing[0]!r}) is neither in the "
                               "file nor in the catalog")
        graph[e["name"]] = model.segment_refs(e["tree"])
        _validate(cat, e)
    check_cycles(graph)
    actions = []
    now = wall_now(cat.ws)
    with cat.ws.storage.write() as con:
        for name in new_tags:
            field, _, value = name[len(TAG_PREFIX):].partition("=")
            con.execute(
                "INSERT INTO catalog.segments (id, name, description, rule_json, params_json, "
                "kind, active, labels_json, revision, created_at, updated_at, customers) "
                "VALUES (?, ?, ?, ?, '{}', ?, false, '[]', 1, ?, ?, 0)",
                [next_ids(con, "segment"), name, f"customer tag {field} = {value}",
                 model.to_json(Group()), TAG_KIND, now, now])
            actions.append((name, "created (empty tag)"))
        for e in entries:
            r = records.get(e["name"])
            if r is not None and r.kind == TAG_KIND:
                raise CatalogError(f"{e['where']}: that name holds customer tags")
            rule, params = model.to_json(e["tree"]), params_to_json(e["params"])
            if r is None:
                sid = next_ids(con, "segment")
                con.execute(
                    "INSERT INTO catalog.segments (id, name, description, rule_json, "
                    "params_json, kind, active, labels_json, revision, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                    [sid, e["name"], e["description"], rule, params, e["kind"], e["active"],
                     json.dumps(e["tags"]), now, now])
                actions.append((e["name"], "created"))
                continue
            if on_conflict == "error":
                raise CatalogError(f"{e['where']}: a segment of that name exists "
                                   "(on_conflict='error')")
            if on_conflict == "skip":
                actions.append((e["name"], "skipped"))
                continue
            rule_changed = (e["tree"], e["params"]) != (r.tree, r.params)
            same = (not rule_changed and e["kind"] == r.kind and e["active"] == r.active
                    and e["description"] == r.description and tuple(e["tags"]) == r.labels)
            if same:
                actions.append((e["name"], "unchanged"))
                continue
            if r.locked and (rule_changed or e["kind"] != r.kind):
                raise CatalogError(f"{e['where']}: static segment is locked; its rule and kind "
                                   "cannot change")
            con.execute(
                "UPDATE catalog.segments SET rule_json = ?, params_json = ?, kind = ?, "
                "active = ?, description = ?, labels_json = ?, revision = revision + ?, "
                "updated_at = ? WHERE id = ?",
                [rule, params, e["kind"], e["active"], e["description"], json.dumps(e["tags"]),
                 int(rule_changed or e["kind"] != r.kind), now, r.id])
            actions.append((e["name"], "updated"))
    return pd.DataFrame(actions, columns=["name", "action"])


def _validate(cat, e: dict) -> None:
    """Check the rule against the workspace's fields (segments it uses may be new)."""
    import sqlglot
    seg = Segment(cat.ws, Group(), params=e["params"])
    try:
        c = seg._compiler(None, inline=True)
        c.segment_ref = lambda name: sqlglot.parse_one("SELECT 1")
        c.predicate(e["tree"])
    except SegjupyterError as err:
        raise CatalogError(f"{e['where']}: {err}") from None
