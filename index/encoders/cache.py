"""Vectors already computed, kept on disk and shared by every build in any process.

A build embeds only the texts this cache lacks: after `python -m index add` of one paragraph, the
next build (in this process, another CLI run, or a bot's `/reload`) embeds that paragraph's
texts and reads every other vector from here. Entries are keyed by (model, SHA-256 of the text);
one SQLite file per model, `<cache_dir>/embeddings/<model key>.sqlite3`, where the model key
covers the model's name and files (sizes and times), so a changed model never meets old vectors. SQLite in WAL mode lets several processes read and add at once, and each
`put` is one transaction: an entry is whole or absent, never half-written.

The float32 ONNX export and torch give the same vectors to float rounding (cosine 0.99999+), so
one cache serves whichever embedded the passages.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.config import IndexSettings
from index.encoders.base import PassageEncoder, chunk_by_length, model_files

log = logging.getLogger(__name__)

# SQLite allows 32 766 host parameters a statement; far fewer keep each query short.
_LOOKUP_BATCH = 900


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def model_key(model: str) -> str:
    """The model's name and files: another model, or the same one changed, gets another file."""
    return hashlib.sha256(f"{model}{model_files(model)}".encode()).hexdigest()[:16]


class EmbeddingCache:
    """`get` the vectors known for some texts, `put` new ones; errors only ever cost a re-embed."""

    def __init__(self, path: Path, dimension: int) -> None:
        self.path = path
        self.dimension = dimension

    @classmethod
    def for_model(cls, cache_dir: Path, model: str, dimension: int) -> EmbeddingCache:
        return cls(cache_dir / "embeddings" / f"{model_key(model)}.sqlite3", dimension)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)"
            " WITHOUT ROWID"
        )
        return connection

    def get(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vector of each of `texts` that has one."""
        by_key = {text_key(text): text for text in texts}
        found: dict[str, np.ndarray] = {}
        keys = list(by_key)
        try:
            connection = self._connect()
            try:
                for start in range(0, len(keys), _LOOKUP_BATCH):
                    batch = keys[start : start + _LOOKUP_BATCH]
                    rows = connection.execute(
                        f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(batch))})",
                        batch,
                    )
                    for key, blob in rows:
                        vector = np.frombuffer(blob, dtype=np.float32)
                        if vector.shape == (self.dimension,):
                            found[by_key[key]] = vector
            finally:
                connection.close()
        except sqlite3.Error as exc:
            log.warning(
                "embedding cache %s is unreadable (%s); embedding every text", self.path, exc
            )
            return {}
        return found

    def put(self, texts: list[str], vectors: np.ndarray) -> None:
        """Remember `vectors` (one row per text); a failure is logged and costs only time later."""
        rows = [
            (text_key(text), np.ascontiguousarray(vector, dtype=np.float32).tobytes())
            for text, vector in zip(texts, vectors, strict=True)
        ]
        try:
            connection = self._connect()
            try:
                with connection:
                    connection.executemany(
                        "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows
                    )
            finally:
                connection.close()
        except sqlite3.Error as exc:
            log.warning("embedding cache %s cannot be written (%s); carrying on", self.path, exc)


def cached_vectors(
    texts: list[str], encoder: PassageEncoder, settings: IndexSettings
) -> tuple[dict[str, np.ndarray], int]:
    """Every text's vector: from the cache, or embedded by `encoder` (then remembered). Returns
    them by text, and how many were embedded."""
    cache = EmbeddingCache.for_model(settings.cache_dir, encoder.name, encoder.dimension)
    known = cache.get(texts)
    missing = [t for t in texts if t not in known]
    if missing:
        log.info("embedding %d new texts (%d from the cache)", len(missing), len(known))
        vectors = _embed(encoder, missing, settings)
        cache.put(missing, vectors)
        known.update(zip(missing, vectors, strict=True))
    return known, len(missing)


def _embed(encoder: PassageEncoder, texts: list[str], settings: IndexSettings) -> np.ndarray:
    """Vectors for `texts` in batches of similar length (little padding), with a bar on big
    builds."""
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    with tqdm(
        total=len(texts),
        desc="embedding",
        unit="text",
        disable=len(texts) < settings.progress_bar_min_texts,
    ) as bar:
        for rows in chunk_by_length([len(t) for t in texts], settings.encode_batch_size):
            vectors[rows] = encoder.encode([texts[row] for row in rows])
            bar.update(len(rows))
    return vectors
