"""segments layer."""
