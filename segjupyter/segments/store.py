"""Catalog tables (DESIGN.md section 6), created in ``catalog.duckdb`` on first use.

No PRIMARY KEY / UNIQUE constraints: DuckDB implements them with indexes that make updates
of the key column fragile, and every catalog write already runs alone behind the workspace's
writer lock, so uniqueness is checked in code inside the write transaction.

Customer ids are stored as VARCHAR whatever the key type of the retail data, so the catalog
survives a reload that changes the type; ``in_segment`` casts them back (``rules/segment.py``).
Instants (``as_of``, ``at``) are naive local timestamps of the workspace time zone, like the
retail data.
"""

from __future__ import annotations

SCHEMA_VERSION = "1"

DDL = [
    """CREATE TABLE IF NOT EXISTS catalog.counters (
        name VARCHAR, value BIGINT)""",
    """CREATE TABLE IF NOT EXISTS catalog.segments (
        id INTEGER NOT NULL,
        name VARCHAR NOT NULL,
        description VARCHAR,
        rule_json VARCHAR NOT NULL,
        params_json VARCHAR,
        kind VARCHAR NOT NULL,            -- dynamic | static | tag
        active BOOLEAN NOT NULL,
        labels_json VARCHAR,              -- the segment's own tags, e.g. ["email", "q3"]
        revision INTEGER NOT NULL,        -- +1 on every change of the definition
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        last_run_id BIGINT,               -- run that last changed the members
        last_refresh_at TIMESTAMP,        -- wall clock of the last successful refresh
        last_as_of TIMESTAMP,             -- as_of of that refresh
        customers BIGINT,
        subscribed BIGINT,
        last_error VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS catalog.segment_members (
        segment_id INTEGER NOT NULL,
        customer_id VARCHAR NOT NULL,
        entered_at TIMESTAMP,             -- as_of of the run that added the customer
        run_id BIGINT)""",
    """CREATE TABLE IF NOT EXISTS catalog.membership_events (
        segment_id INTEGER NOT NULL,
        customer_id VARCHAR NOT NULL,
        event VARCHAR NOT NULL,           -- enter | leave
        event_at TIMESTAMP NOT NULL,      -- as_of of the run
        run_id BIGINT,
        reason VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS catalog.refresh_runs (
        run_id BIGINT NOT NULL,
        batch_id BIGINT NOT NULL,         -- runs of one refresh_all share it
        segment_id INTEGER,
        segment VARCHAR,
        action VARCHAR NOT NULL,          -- refresh | duplicate | tag
        as_of TIMESTAMP,
        started_at TIMESTAMP NOT NULL,
        duration_s DOUBLE,
        customers BIGINT,
        entered BIGINT,
        "left" BIGINT,
        subscribed BIGINT,
        error VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS catalog.size_history (
        segment_id INTEGER NOT NULL,
        as_of TIMESTAMP NOT NULL,
        customers BIGINT,
        subscribed BIGINT,
        source VARCHAR NOT NULL,          -- refresh | backfill
        recorded_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS catalog.snapshots (
        snapshot_id BIGINT NOT NULL,
        segment_id INTEGER,
        segment VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        as_of TIMESTAMP,
        run_id BIGINT,
        customers BIGINT,
        note VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS catalog.snapshot_rows (
        snapshot_id BIGINT NOT NULL,
        position INTEGER NOT NULL,        -- order of the rows (by customer id)
        customer_id VARCHAR NOT NULL,
        name VARCHAR,
        first_name VARCHAR,
        last_name VARCHAR,
        email VARCHAR,
        date_registered DATE,
        country VARCHAR,
        postal_code VARCHAR,
        lifetime_spend DECIMAL(18,2))""",
    """CREATE TABLE IF NOT EXISTS catalog.trigger_errors (
        failed_at TIMESTAMP NOT NULL,
        segment_id INTEGER,
        segment VARCHAR,
        run_id BIGINT,
        event VARCHAR,
        callback VARCHAR,
        error VARCHAR)""",
    # plain-SQL access: SELECT customer_id FROM catalog.segment_membership WHERE segment = 'x'
    """CREATE VIEW IF NOT EXISTS catalog.segment_membership AS
        SELECT s.name AS segment, s.id AS segment_id, s.kind, m.customer_id, m.entered_at
        FROM segments AS s JOIN segment_members AS m ON m.segment_id = s.id""",
]


def ensure_schema(storage) -> None:
    """Create the catalog tables if this catalog does not have them yet."""
    with storage.read(catalog=True) as con:
        row = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'catalog' "
            "AND table_name = 'snapshot_rows'").fetchone()
    if row[0]:
        return
    if storage.read_only:
        from ..errors import WorkspaceError
        raise WorkspaceError(f"workspace {storage.root} has no segment catalog yet and is open "
                           "read-only; open it once read-write (e.g. `segjupyter refresh`) "
                           "to create it")
    with storage.write() as con:
        for stmt in DDL:
            con.execute(stmt)
        con.execute("CREATE TABLE IF NOT EXISTS catalog.settings "
                    "(key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute("DELETE FROM catalog.settings WHERE key = 'catalog_schema'")
        con.execute("INSERT INTO catalog.settings VALUES ('catalog_schema', ?)", [SCHEMA_VERSION])


def next_ids(con, name: str, n: int = 1) -> int:
    """Reserve ``n`` consecutive ids of the counter ``name`` (inside a write); returns the
    first. Ids are never reused, even after a delete."""
    row = con.execute("SELECT value FROM catalog.counters WHERE name = ?", [name]).fetchone()
    first = 1 if row is None else int(row[0]) + 1
    if row is None:
        con.execute("INSERT INTO catalog.counters VALUES (?, ?)", [name, first + n - 1])
    else:
        con.execute("UPDATE catalog.counters SET value = ? WHERE name = ?", [first + n - 1, name])
    return first


def insert_rows(con, table: str, rows, row: str | None = None, chunk: int = 500) -> None:
    """``INSERT INTO table VALUES row, row, ...`` for ``rows``, as one statement per
    ``chunk`` rows: DuckDB's ``executemany`` runs a statement per row, 5-7x slower for
    the fifty rows of a refresh. ``row`` is the template of one row (default
    ``(?, ?, ...)``, one placeholder per value); it may hold literals, as in
    ``(?, 'refresh', ?)``."""
    rows = [tuple(r) for r in rows]
    if not rows:
        return
    row = row or "(" + ", ".join("?" * len(rows[0])) + ")"
    for i in range(0, len(rows), chunk):
        part = rows[i:i + chunk]
        con.execute(f"INSERT INTO {table} VALUES " + ", ".join([row] * len(part)),
                    [v for r in part for v in r])
