"""Shaping result frames: safe ratios and typed empty frames."""

from __future__ import annotations

import numpy as np
import pandas as pd


def ratio(a, b) -> np.ndarray:
    """``a / b`` element-wise as floats, 0 where ``b`` is 0 (an empty bucket has an average
    ticket of 0, not NaN, so charts and tables stay plain numbers)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = np.broadcast_arrays(a, b)
    out = np.zeros(a.shape)
    np.divide(a, b, out=out, where=b != 0)
    return out


def empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its rows (same columns and dtypes)."""
    return frame.iloc[0:0].reset_index(drop=True)
