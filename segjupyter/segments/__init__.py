"""The segment catalog: saved segments, refresh, history, triggers, snapshots, exports,
customer tags, definitions files and templates. Reach it as ``ws.segments``
(:class:`~segjupyter.segments.catalog.Catalog`); see ``docs/catalog.md``."""
