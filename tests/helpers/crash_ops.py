"""The operations of the crash matrix (tests/test_crash_matrix.py), one line each.

Each entry names an operation and the function that performs it on an open workspace; the
matrix kills a process running it at random moments and checks what is left. Adding an
operation is one more line in :data:`OPS`: the state the matrix
compares (every catalog table, the retail data, the files under ``out/``) is generic.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

N_CUSTOMERS = 3000
A, B = "2026-01-31", "2026-03-02"


def customers(version: int) -> pd.DataFrame:
    rng = np.random.default_rng(version)
    ids = np.arange(1, N_CUSTOMERS + 1)
    return pd.DataFrame({"customer_id": ids, "city": rng.choice(["Madrid", "Paris"], len(ids)),
                         "email": [f"c{i}@example.com" for i in ids],
                         "subscribed": rng.random(len(ids)) < 0.5})


def orders() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    ids = np.arange(1, 2 * N_CUSTOMERS + 1)
    return pd.DataFrame({
        "order_id": ids, "customer_id": rng.integers(1, N_CUSTOMERS + 1, len(ids)),
        "ordered_at": pd.Timestamp("2026-01-01 12:00")
        + pd.to_timedelta(rng.integers(0, 60, len(ids)), unit="D"),
        "total": rng.integers(10, 500, len(ids)).astype(str)})


def prepare(ws) -> None:
    """The starting point of every run: data, saved segments refreshed as of A."""
    assert ws.load(customers=customers(1), orders=orders()).ok
    cat = ws.segments
    for days in range(10, 40, 6):
        cat.save(f"orders(last {days} days) > 0", name=f"recent_{days}")
        cat.save(f'orders(last {days} days) = 0 and city = "Madrid"', name=f"quiet_{days}")
    cat.refresh_all(as_of=A, progress=False)
    ws.campaigns.create("recent_28", "winter", holdout=0.2, seed=3, send_date=A)
    (Path(ws.path) / "out").mkdir()


def create_campaign(ws) -> None:
    """Create the campaign unless it exists: a create is retried the way a scheduler retries
    it, and finding it already there (the killed run had committed) is success."""
    if "spring" not in ws.campaigns.names():
        ws.campaigns.create("recent_22", "spring", holdout=0.2, seed=3, send_date=B)


def refresh_on_a_copy(ws) -> None:
    """``refresh_all`` with its write made on a copy of the catalog swapped in, as every
    write to a catalog above 64 MB is (the copy, its checkpoint, the rename)."""
    from segjupyter.workspace import storage
    kept, storage.BULK_BYTES = storage.BULK_BYTES, 0
    try:
        ws.segments.refresh_all(as_of=B, progress=False)
    finally:
        storage.BULK_BYTES = kept


#: operation -> what it does to an open workspace
OPS = {
    "refresh_all": lambda ws: ws.segments.refresh_all(as_of=B, progress=False),
    "refresh_all_on_a_copy": refresh_on_a_copy,
    "load": lambda ws: ws.load(customers=customers(2), orders=orders()),
    "snapshot": lambda ws: ws.segments.snapshot("recent_22", note="crash matrix"),
    "export": lambda ws: ws.segments.export_csv("quiet_10", Path(ws.path) / "out" / "q.csv"),
    "campaign": lambda ws: create_campaign(ws),
    "campaign_export": lambda ws: ws.campaigns.export_target_csv(
        "winter", Path(ws.path) / "out" / "send.csv"),
}

#: wall-clock columns: they differ between two runs of the same operation
VOLATILE = {"created_at", "updated_at", "last_refresh_at", "started_at", "duration_s",
            "recorded_at", "failed_at", "requested_at", "finished_at",
            "data_version"}  # the retail file's inode: differs between copies
RETAIL = ("customers", "orders")


def state(ws) -> dict:
    """Everything an operation may change, comparable between runs: each catalog table
    (sorted, wall-clock columns left out), a digest of each retail table, the files under
    ``out/`` (part files of killed writers are reported apart)."""
    out = {}
    tables = ws.sql("SELECT table_name FROM duckdb_tables() WHERE database_name = 'catalog' "
                    "ORDER BY 1").df()["table_name"]
    for t in tables:
        df = ws.sql(f"SELECT * FROM catalog.{t}").df()
        df = df[[c for c in df.columns if c not in VOLATILE]]
        out[f"catalog.{t}"] = df.sort_values(list(df.columns)).reset_index(drop=True) \
            .to_csv(index=False)
    for t in RETAIL:
        text = ws.sql(f"SELECT * FROM {t} ORDER BY ALL").df().to_csv(index=False)
        out[f"retail.{t}"] = hashlib.sha256(text.encode()).hexdigest()
    folder = Path(ws.path) / "out"
    for f in sorted(folder.iterdir()) if folder.exists() else ():
        if not f.name.startswith("."):
            out[f"file.{f.name}"] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out
