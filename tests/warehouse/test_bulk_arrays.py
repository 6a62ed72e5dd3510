"""`bulk_insert_arrays` inserts exactly the rows it is given, on both backends.

On SQLite it puts many rows in one statement and gathers them in blocks: the sizes here are
made small so that full statements, several blocks and a short last statement all occur.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from sqlalchemy import text

from govuk_kpi.warehouse import bulk
from govuk_kpi.warehouse.bulk import bulk_insert_arrays
from govuk_kpi.warehouse.db import make_engine


def _rows(
    url: str, arrays: list[np.ndarray], at: np.ndarray | None, table: str = "t", **kwargs
) -> list[tuple]:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(f"CREATE TABLE {table} (a BIGINT, b BIGINT, c BIGINT, k BIGINT, n BIGINT)")
            )
            if "limit" in kwargs:
                driver = conn.connection.driver_connection
                driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, kwargs["limit"])
            bulk_insert_arrays(conn, table, ("a", "b", "c"), arrays, at, {"k": 5, "n": None})
        with engine.connect() as conn:
            rows = conn.execute(text(f"SELECT a, b, c, k, n FROM {table}"))
            return sorted(tuple(r) for r in rows)
    finally:
        engine.dispose()


def _arrays(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(count)
    return [
        np.arange(count, dtype=np.int64),
        rng.integers(-(2**62), 2**62, size=count),
        rng.integers(0, 300, size=count),
    ]


@pytest.mark.parametrize("count", [0, 1, 6, 7, 8, 50, 1003])
def test_inserts_the_rows_at_the_positions_given(
    db_url: str, count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "_SQLITE_ROWS_PER_STATEMENT", 7)
    monkeypatch.setattr(bulk, "_STATEMENTS_PER_BLOCK", 3)
    arrays = _arrays(count)
    at = np.random.default_rng(1).permutation(count)[: count - count // 3]
    want = sorted((*(int(a[i]) for a in arrays), 5, None) for i in at.tolist())
    assert _rows(db_url, arrays, at) == want
    everything = sorted((*(int(a[i]) for a in arrays), 5, None) for i in range(count))
    assert _rows(db_url, arrays, None, table="t_all") == everything


def test_sqlite_keeps_to_the_parameter_limit(tmp_path) -> None:
    arrays = _arrays(100)
    url = f"sqlite:///{tmp_path}/limit.db"
    want = sorted((*(int(a[i]) for a in arrays), 5, None) for i in range(100))
    assert _rows(url, arrays, None, limit=10) == want  # 3 rows of 3 parameters a statement


def test_arrays_of_different_lengths_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="differ in length"):
        _rows(f"sqlite:///{tmp_path}/bad.db", [np.arange(3), np.arange(2), np.arange(3)], None)
