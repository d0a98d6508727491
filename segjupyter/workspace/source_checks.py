"""Questions about an in-memory source (DataFrame or Arrow table) answered from its integer
columns in NumPy, so that a load can skip SQL work that cannot change its result: the
duplicate-key check (no key repeats in the source, so none repeats among the accepted rows).
An answer is either a proof or "cannot tell" (None), and the loader then checks in SQL as
before. At demo L (30M lines) this costs ~0.5 s against ~4-6 s in SQL.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

#: Dense keys are used when their span is at most this many times the number of rows (the
#: bitmap is then at most a few bytes per row).
SPAN_PER_ROW = 8


def int_column(frame, column: str | None) -> np.ndarray | None:
    """``column`` of ``frame`` as a NumPy integer array, or None when it is absent, not of an
    integer type or has missing values."""
    if column is None:
        return None
    if isinstance(frame, pd.DataFrame):
        if column not in frame.columns:
            return None
        col = frame[column]
        return col.to_numpy() if col.dtype.kind in "iu" else None
    if isinstance(frame, pa.Table):
        if column not in frame.column_names:
            return None
        col = frame.column(column)
        if not pa.types.is_integer(col.type) or col.null_count:
            return None
        return col.to_numpy()
    return None


def _dense(columns: list[np.ndarray]) -> tuple[np.ndarray, int] | None:
    """The keys of ``columns`` (equal lengths) as one int64 in ``[0, span)``, or None when the
    span is too wide for a bitmap."""
    n = len(columns[0])
    span, parts = 1, []
    for c in columns:
        lo, hi = int(c.min()), int(c.max())
        parts.append((c, lo, span))
        span *= hi - lo + 1
        if span > SPAN_PER_ROW * n + 1024:
            return None
    key = np.zeros(n, dtype=np.int64)
    for c, lo, mult in parts:
        key += (c.astype(np.int64) - lo) * mult
    return key, span


def unique_keys(columns: list[np.ndarray]) -> bool | None:
    """True when no row's key (the tuple of ``columns``) repeats another row's; None when that
    cannot be told cheaply (the keys spread too wide)."""
    if not columns or len(columns[0]) == 0:
        return True
    dense = _dense(columns)
    if dense is None:
        return None
    key, span = dense
    seen = np.zeros(span, dtype=np.bool_)
    seen[key] = True  # repeated keys land on the same flag
    return int(np.count_nonzero(seen)) == len(key)
