"""The embedding cache on disk: a cache an earlier version wrote keeps serving its vectors, and a
rebuild from it repeats no work."""

from __future__ import annotations

import sqlite3

import numpy as np

from index.encoders.cache import EmbeddingCache, text_key
from index.encoders.torch import Encoder
from index.ingest.loaders import load_sources
from index.search import store


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


def test_a_rebuild_from_cached_vectors_tokenizes_nothing(make_settings, encoder, monkeypatch):
    """Building the same sources again (another process, nothing new to embed) neither loads the
    model nor tokenizes a sentence, and splits every paragraph's tokens into its sentences as the
    first build did."""
    settings = make_settings()
    files = store.file_fingerprints(settings.sources_dir)
    first = store.build(load_sources(settings.sources_dir), files, encoder, settings)
    fresh = Encoder(encoder.name, lazy=True)
    tokenized: list[str] = []
    real = fresh.token_counts
    monkeypatch.setattr(fresh, "token_counts", lambda texts: tokenized.extend(texts) or real(texts))
    again = store.build(load_sources(settings.sources_dir), files, fresh, settings, encoder)
    assert again.texts_embedded == 0
    assert tokenized == [] and not fresh.loaded
    np.testing.assert_array_equal(again.tokens.sentence_start, first.tokens.sentence_start)
