"""The embedding cache on disk: a cache an earlier version wrote keeps serving its vectors."""

from __future__ import annotations

import sqlite3

import numpy as np

from index.encoders.cache import EmbeddingCache, text_key


def test_vectors_an_earlier_version_cached_are_still_found(tmp_path):
    """Pooled vectors in the earlier `vectors` table (WITHOUT ROWID, three times the size on
    disk) are moved to the compact table once, not embedded again."""
    path = tmp_path / "model.sqlite3"
    vector = np.linspace(-1, 1, 8, dtype=np.float32)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID"
        )
        connection.execute(
            "INSERT INTO vectors VALUES (?, ?)", (text_key("A paragraph."), vector.tobytes())
        )
    connection.close()
    cache = EmbeddingCache(path, dimension=8)
    found = cache.get(["A paragraph.", "Another one."])
    assert list(found) == ["A paragraph."]
    np.testing.assert_array_equal(found["A paragraph."], vector)
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    connection.close()
    assert "vectors" not in tables
