"""Exact, faster equivalents of the NumPy sampling steps the generator repeats on tens of
millions of values (demo L: 30M lines, 25M events).

* :func:`search_right` is ``np.searchsorted(table, values, side="right")`` for a short sorted
  table: a guide table answers most values in O(1) and every answer is checked against the
  table (the few that fail are searched exactly), so the result is the same, bit for bit.
* :func:`pick`, :func:`choice` and :func:`below` draw their uniforms in chunks: PCG64 gives
  ``random(a + b)`` == ``random(a)`` then ``random(b)``, so the values are those of one big
  draw, without its 240 MB temporary array (and its page faults).
"""

from __future__ import annotations

import numpy as np

CHUNK = 1 << 18


def search_right(table: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.searchsorted(table, values, side="right")`` (int64) for a sorted float ``table``
    of up to a few thousand entries and finite ``values``."""
    table = np.asarray(table, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    out = np.empty(len(values), dtype=np.int64)
    n = len(table)
    lo, hi = (float(table[0]), float(table[-1])) if n else (0.0, 0.0)
    if n <= 8 or not hi > lo or not np.isfinite(hi - lo):  # a few entries: as fast plain
        out[:] = np.searchsorted(table, values, side="right")
        return out
    size = 1 << max(10, min(18, (32 * n).bit_length()))
    scale = size / (hi - lo)
    # the answer at each bucket's lower edge; right for every value in a bucket that holds
    # no table entry, and checked below for all
    guide = np.searchsorted(table, lo + np.arange(size) / scale, side="right").astype(np.int32)
    padded = np.concatenate(([-np.inf], table, [np.inf]))  # padded[r] = table[r - 1]
    for i in range(0, len(values), CHUNK):
        v = values[i:i + CHUNK]
        b = (v - lo) * scale
        np.clip(b, 0, size - 1, out=b)
        r = guide[b.astype(np.int32)]
        # r is the answer exactly when table[r - 1] <= v < table[r]
        bad = np.flatnonzero((padded[r] > v) | (padded[r + 1] <= v))
        if len(bad):
            r[bad] = np.searchsorted(table, v[bad], side="right")
        out[i:i + len(v)] = r
    return out


def pick(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """Index drawn by a cumulative distribution: the same values as
    ``np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)``."""
    out = np.empty(n, dtype=np.int64)
    for i in range(0, n, CHUNK):
        out[i:i + CHUNK] = search_right(cdf, rng.random(min(CHUNK, n - i)))
    np.minimum(out, len(cdf) - 1, out=out)
    return out


def choice(rng: np.random.Generator, a: np.ndarray, n: int, p) -> np.ndarray:
    """``rng.choice(a, n, p=p)`` (with replacement), the same values: NumPy's algorithm is
    the normalised cumulative sum of ``p`` searched with ``random(n)``."""
    cdf = np.asarray(p, dtype=np.float64).cumsum()
    cdf /= cdf[-1]
    out = np.empty(n, dtype=a.dtype)
    for i in range(0, n, CHUNK):
        out[i:i + CHUNK] = a[search_right(cdf, rng.random(min(CHUNK, n - i)))]
    return out


def below(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """``rng.random(n) < p``, drawn in chunks."""
    out = np.empty(n, dtype=np.bool_)
    for i in range(0, n, CHUNK):
        np.less(rng.random(min(CHUNK, n - i)), p, out=out[i:i + CHUNK])
    return out
