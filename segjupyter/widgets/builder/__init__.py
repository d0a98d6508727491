"""The rule builder: a tree of small composite widgets, each owning one rule node."""

from .builder import RuleBuilder
from .conditions import ConditionRow
from .group import GroupBox

__all__ = ["RuleBuilder", "GroupBox", "ConditionRow"]
