"""How deep a rule may nest, checked before anything recursive touches it.

Parsing, canonicalisation, printing and compiling all walk the tree recursively; a rule
nested a thousand levels deep (``((((...))))``, ``not not not ...``, a JSON document built by
a program) would end in Python's ``RecursionError``. Every entry point therefore checks the
depth first, iteratively, and refuses a deeper rule with one of our errors that says where:
the DSL with line and column, JSON with the path of the node, a tree with its child path.

Real rules nest a handful of levels; :data:`MAX_NESTING` leaves ample room.
"""

from __future__ import annotations

from ..errors import RuleValidationError

#: groups (and ``not``) inside groups, counted from the root
MAX_NESTING = 100


def too_deep_message(what: str = "the rule") -> str:
    return (f"{what} nests groups and 'not' more than {MAX_NESTING} levels deep; flatten it "
            "(a and (b and c) is a and b and c)")


def check_tree(tree) -> None:
    """Raise :class:`RuleValidationError` (with the path of the first node too deep) when
    ``tree`` nests more than :data:`MAX_NESTING` groups; behaviour filters count too."""
    from .model import Behaviour, Group
    stack = [(tree, (), 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, Group):
            depth += 1
            if depth > MAX_NESTING:
                raise RuleValidationError(too_deep_message(), path=path)
            stack.extend((c, path + (i,), depth) for i, c in enumerate(node.rules))
        elif isinstance(node, Behaviour) and node.filter is not None:
            stack.append((node.filter, path, depth))
