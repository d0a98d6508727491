"""Decoding stored / widget JSON rule documents, with the position of what is wrong.

``model.from_json`` delegates here. A document from outside (a file, a widget, an API call)
may be anything; every problem is a :class:`~segjupyter.errors.RuleFormatError` whose
``path`` is a JSON pointer to the node at fault (``/rule/rules/2/value``), and a document
nested deeper than :data:`~.nesting.MAX_NESTING` is refused before anything recurses.
"""

from __future__ import annotations

import json
from dataclasses import replace

from ..errors import RuleFormatError
from .nesting import MAX_NESTING, too_deep_message

_BAD = (ValueError, TypeError, KeyError, IndexError, ArithmeticError, AttributeError)


def _check_depth(doc) -> None:
    """Iteratively: no group nested more than MAX_NESTING levels (filters count)."""
    stack = [(doc, "/rule", 0)]
    while stack:
        node, path, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        if "group" in node:
            depth += 1
            if depth > MAX_NESTING:
                raise RuleFormatError(f"{path}: {too_deep_message('the rule document')}",
                                      path=path)
            rules = node.get("rules")
            if isinstance(rules, list):
                stack.extend((r, f"{path}/rules/{i}", depth) for i, r in enumerate(rules))
        if isinstance(node.get("filter"), dict):
            stack.append((node["filter"], f"{path}/filter", depth))


#: node kind -> keys that must hold text (None allowed for the optional ones)
_TEXT_KEYS = {"attribute": ("attribute", "op"), "behaviour": ("behaviour",),
              "derived": ("derived", "op"), "segment": ("segment",), "sql": ("sql",)}
_OPTIONAL_TEXT = ("op", "event_type")


def _check_types(d: dict) -> None:
    for kind, keys in _TEXT_KEYS.items():
        if kind in d:
            for k in keys:
                if not isinstance(d.get(k), str):
                    raise ValueError(f"'{k}' must be text, not {d.get(k)!r}")
            if kind == "behaviour":
                for k in _OPTIONAL_TEXT:
                    if d.get(k) is not None and not isinstance(d[k], str):
                        raise ValueError(f"'{k}' must be text, not {d[k]!r}")
            return


def _node(d, path: str):
    from .model import Group, node_from_json
    try:
        if isinstance(d, dict):
            _check_types(d)
        if isinstance(d, dict) and "group" in d:
            rules = d.get("rules", [])
            if not isinstance(rules, (list, tuple)):
                raise ValueError(f"'rules' must be a list, not {type(rules).__name__}")
            children = tuple(_node(r, f"{path}/rules/{i}") for i, r in enumerate(rules))
            negate = d.get("negate", False)
            if not isinstance(negate, bool):
                raise ValueError(f"'negate' must be true or false, not {negate!r}")
            return Group(d["group"], children, negate)
        if isinstance(d, dict) and "behaviour" in d and d.get("filter") is not None:
            filt = _node(d["filter"], f"{path}/filter")
            return replace(node_from_json({**d, "filter": None}), filter=filt)
        return node_from_json(d)
    except RuleFormatError:
        raise
    except _BAD as e:
        what = str(e) if not isinstance(e, KeyError) else f"missing or unknown key {e}"
        raise RuleFormatError(f"{path}: {what or type(e).__name__}", path=path) from None


def decode(text):
    """Parse a stored rule document (JSON text or an already-decoded dict) into a canonical
    tree; raises :class:`RuleFormatError` with the path of the first problem."""
    from .model import JSON_VERSION, canonical
    if isinstance(text, (str, bytes)):
        try:
            doc = json.loads(text)
        except RecursionError:
            raise RuleFormatError(too_deep_message("the rule document"), path="") from None
        except ValueError as e:
            raise RuleFormatError(f"not valid JSON: {e}", path="") from None
    else:
        doc = text
    if not isinstance(doc, dict) or "rule" not in doc:
        raise RuleFormatError("a stored rule is an object with 'version' and 'rule'", path="")
    version = doc.get("version", JSON_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise RuleFormatError(f"/version: must be a number, not {version!r}", path="/version")
    if version > JSON_VERSION:
        raise RuleFormatError(f"rule JSON version {version} is newer than this segjupyter "
                              f"understands ({JSON_VERSION}); upgrade segjupyter",
                              path="/version")
    _check_depth(doc["rule"])
    tree = _node(doc["rule"], "/rule")
    try:
        return canonical(tree)
    except _BAD as e:
        raise RuleFormatError(f"/rule: {e}", path="/rule") from None
