"""Small operations on stored rule trees: renaming parameters and segment references, the
top-level conditions a refresh names as reasons, and their text."""

from __future__ import annotations

import json
from dataclasses import replace

from ..rules import model
from ..rules.model import (Attribute, Behaviour, Derived, Group, Node, Param, SegmentRef,
                           Window, canonical)

#: At most this many top-level conditions get their own flag (bits of a BIGINT).
MAX_FLAGS = 62


def _map_value(v, fn):
    if isinstance(v, Param):
        return fn(v)
    if isinstance(v, tuple):
        return tuple(_map_value(x, fn) for x in v)
    return v


def map_params(node: Node, fn) -> Node:
    """A copy of ``node`` with every :class:`Param` replaced by ``fn(param)``."""
    if isinstance(node, Group):
        return replace(node, rules=tuple(map_params(r, fn) for r in node.rules))
    if isinstance(node, (Attribute, Derived)):
        return replace(node, value=_map_value(node.value, fn))
    if isinstance(node, Behaviour):
        w = node.window
        window = Window(w.kind, w.n, w.unit, _map_value(w.start, fn), _map_value(w.end, fn))
        filt = None if node.filter is None else map_params(node.filter, fn)
        return replace(node, value=_map_value(node.value, fn), window=window, filter=filt)
    return node


def prefix_params(tree: Group, params: dict, prefix: str) -> tuple[Group, dict]:
    """Rename the parameters of ``tree`` to ``prefix + name`` so that several segments can
    share one compiler without their ``:name`` values clashing."""
    if not params and not model.params_of(tree):
        return tree, {}
    new = canonical(map_params(tree, lambda p: Param(prefix + p.name)))
    return new, {prefix + k: v for k, v in params.items()}


def rename_refs(node: Node, old: str, new: str) -> Node:
    """A copy of ``node`` where ``in_segment(old)`` becomes ``in_segment(new)``."""
    if isinstance(node, Group):
        return replace(node, rules=tuple(rename_refs(r, old, new) for r in node.rules))
    if isinstance(node, SegmentRef) and node.name == old:
        return SegmentRef(new)
    return node


def top_level(tree: Group) -> tuple[str, list[Node]]:
    """How membership follows from the top-level conditions: ``("and", conds)``,
    ``("or", conds)`` or ``("one", [tree])`` (one condition, a negated root, an empty rule,
    or too many conditions to flag)."""
    tree = canonical(tree)
    if not tree.negate and 2 <= len(tree.rules) <= MAX_FLAGS:
        return tree.op, list(tree.rules)
    return "one", [tree]


def describe(node: Node) -> str:
    """The node in the ``%%segment`` language (compact JSON if the printer cannot)."""
    try:
        from ..rules.dsl import to_text
        return to_text(canonical(node) if isinstance(node, Group) else node)
    except Exception:
        try:
            from ..rules.dsl_printer import condition_text
            return condition_text(node)
        except Exception:
            return json.dumps(model.node_to_json(node), ensure_ascii=False, sort_keys=True)


def params_to_json(params: dict) -> str:
    return json.dumps({k: model._value_to_json(model.norm_value(v)) for k, v in params.items()},
                      sort_keys=True)


def params_from_json(text: str | None) -> dict:
    if not text:
        return {}
    return {k: model._value_from_json(v) for k, v in json.loads(text).items()}
