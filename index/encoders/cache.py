"""Vectors already computed, kept on disk and shared by every build in any process.

A build embeds only the texts this cache lacks: after `python -m index add` of one paragraph, the
next build (in this process, another CLI run, or a bot's `/reload`) embeds that paragraph's
texts and reads every other vector from here. Entries are keyed by (model, SHA-256 of the text);
one SQLite file per model, `<cache_dir>/embeddings/<model key>.sqlite3`, where the model key
covers the model's name and files (sizes and times), so a changed model never meets old vectors. SQLite in WAL mode lets several processes read and add at once, and each
`put` is one transaction: an entry is whole or absent, never half-written.

Paragraphs' token vectors (late interaction, index/search/late.py) come from the same forward
pass as their pooled vectors and are kept here too, int8 with a scale per token exactly as the
index stores them: ~390 bytes a token. Measured on 1 000 synthetic paragraphs (44 tokens each on
average, 2 897 texts with their sentences): 18.8 MB of token vectors and 6.0 MB of pooled
vectors, ~25 MB per 1 000 paragraphs. Being most of the file, token vectors are kept only for
the paragraphs of the latest build (`keep_tokens`): what an incremental build needs, bounded by
the corpus.

Each sentence's token count (how a paragraph's token rows split into its sentences) is kept
too, by text: a rebuild whose texts are all here neither loads the tokenizer nor tokenizes again
(~40 bytes a sentence, never pruned, like the pooled vectors).

The float32 ONNX export and torch give the same vectors to float rounding (cosine 0.99999+, int8
token values equal or one step apart), so one cache serves whichever embedded the passages.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from index.config import IndexSettings
from index.encoders.base import PassageEncoder, model_files
from index.search.late import TokenRows

if TYPE_CHECKING:
    from index.encoders.torch import Encoder

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
        # A rowid table: WITHOUT ROWID rows of 1.5 KB spill to an overflow page each, tripling
        # the file (13.6 MB instead of 4.5 MB of vectors per 1 000 paragraphs). Caches made so
        # have a `vectors` table, moved over once.
        connection.execute(
            "CREATE TABLE IF NOT EXISTS pooled (key BLOB PRIMARY KEY, vector BLOB NOT NULL)"
        )
        with connection:
            if connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vectors'"
            ).fetchone():
                connection.execute("INSERT OR IGNORE INTO pooled SELECT key, vector FROM vectors")
                connection.execute("DROP TABLE vectors")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS tokens (key BLOB PRIMARY KEY, vectors BLOB NOT NULL,"
            " scales BLOB NOT NULL, ids BLOB NOT NULL) WITHOUT ROWID"
        )
        connection.execute(
            "CREATE TABLE IF NOT EXISTS token_counts (key BLOB PRIMARY KEY, count INTEGER NOT NULL)"
        )
        return connection

    def _select(self, table: str, columns: str, texts: Iterable[str]) -> dict[str, tuple[Any, ...]]:
        """The rows of `table` for each of `texts` that has one (columns after the key)."""
        by_key = {text_key(text): text for text in texts}
        keys = list(by_key)
        found: dict[str, tuple[Any, ...]] = {}
        try:
            connection = self._connect()
            try:
                for start in range(0, len(keys), _LOOKUP_BATCH):
                    batch = keys[start : start + _LOOKUP_BATCH]
                    marks = ",".join("?" * len(batch))
                    query = f"SELECT key, {columns} FROM {table} WHERE key IN ({marks})"
                    for key, *values in connection.execute(query, batch):
                        found[by_key[key]] = tuple(values)
            finally:
                connection.close()
        except sqlite3.Error as exc:
            log.warning(
                "embedding cache %s is unreadable (%s); embedding every text", self.path, exc
            )
            return {}
        return found

    def _write(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        """One transaction; a failure is logged and costs only time later."""
        try:
            connection = self._connect()
            try:
                with connection:
                    connection.executemany(statement, rows)
            finally:
                connection.close()
        except sqlite3.Error as exc:
            log.warning("embedding cache %s cannot be written (%s); carrying on", self.path, exc)

    def get(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vector of each of `texts` that has one."""
        found = {}
        for text, (blob,) in self._select("pooled", "vector", texts).items():
            vector = np.frombuffer(blob, dtype=np.float32)
            if vector.shape == (self.dimension,):
                found[text] = vector
        return found

    def put(self, texts: list[str], vectors: np.ndarray) -> None:
        """Remember `vectors` (one row per text)."""
        self._write(
            "INSERT OR REPLACE INTO pooled (key, vector) VALUES (?, ?)",
            [
                (text_key(text), np.ascontiguousarray(vector, dtype=np.float32).tobytes())
                for text, vector in zip(texts, vectors, strict=True)
            ],
        )

    def get_tokens(self, texts: Iterable[str]) -> dict[str, TokenRows]:
        """The cached token rows of each of `texts` that has them."""
        found = {}
        for text, (vectors, scales, ids) in self._select(
            "tokens", "vectors, scales, ids", texts
        ).items():
            count = len(ids) // 4
            if len(scales) == 4 * count and len(vectors) == count * self.dimension:
                found[text] = TokenRows(
                    vectors=np.frombuffer(vectors, dtype=np.int8).reshape(count, self.dimension),
                    scales=np.frombuffer(scales, dtype=np.float32),
                    ids=np.frombuffer(ids, dtype=np.int32),
                )
        return found

    def put_tokens(self, tokens: dict[str, TokenRows]) -> None:
        """Remember paragraphs' token rows."""
        self._write(
            "INSERT OR REPLACE INTO tokens (key, vectors, scales, ids) VALUES (?, ?, ?, ?)",
            [
                (
                    text_key(text),
                    np.ascontiguousarray(rows.vectors, dtype=np.int8).tobytes(),
                    np.ascontiguousarray(rows.scales, dtype=np.float32).tobytes(),
                    np.ascontiguousarray(rows.ids, dtype=np.int32).tobytes(),
                )
                for text, rows in tokens.items()
            ],
        )

    def get_token_counts(self, texts: Iterable[str]) -> dict[str, int]:
        """The cached token count of each of `texts` that has one."""
        rows = self._select("token_counts", "count", texts)
        return {text: count for text, (count,) in rows.items()}

    def put_token_counts(self, counts: dict[str, int]) -> None:
        """Remember texts' token counts."""
        self._write(
            "INSERT OR REPLACE INTO token_counts (key, count) VALUES (?, ?)",
            [(text_key(text), count) for text, count in counts.items()],
        )

    def keep_tokens(self, texts: Iterable[str]) -> None:
        """Forget the token rows of every paragraph but `texts` (the latest build's)."""
        keys = [(text_key(text),) for text in texts]
        try:
            connection = self._connect()
            try:
                with connection:
                    connection.execute("CREATE TEMP TABLE keep (key BLOB PRIMARY KEY)")
                    connection.executemany("INSERT OR IGNORE INTO keep (key) VALUES (?)", keys)
                    connection.execute("DELETE FROM tokens WHERE key NOT IN (SELECT key FROM keep)")
            finally:
                connection.close()
        except sqlite3.Error as exc:
            log.warning("embedding cache %s cannot be pruned (%s); carrying on", self.path, exc)


@dataclass
class Embedded:
    """Every text's pooled vector and every paragraph's token rows, and how many texts a forward
    pass embedded (the rest came from the cache)."""

    vectors: dict[str, np.ndarray]
    tokens: dict[str, TokenRows]
    embedded: int


def cached_vectors(
    texts: list[str], paragraphs: list[str], encoder: PassageEncoder, settings: IndexSettings
) -> Embedded:
    """Pooled vectors of `texts` and token rows of `paragraphs` (some of `texts`): from the
    cache, or from one forward pass of `encoder` over the texts lacking either (then remembered).
    The cache then keeps the token rows of `paragraphs` only."""
    cache = EmbeddingCache.for_model(settings.cache_dir, encoder.name, encoder.dimension)
    known = cache.get(texts)
    wanted = set(paragraphs)
    known_tokens = cache.get_tokens(wanted)
    missing = [t for t in texts if t not in known or (t in wanted and t not in known_tokens)]
    if missing:
        log.info(
            "embedding %d new texts (%d from the cache)", len(missing), len(texts) - len(missing)
        )
        vectors, tokens = _embed(encoder, missing, wanted, settings)
        cache.put(missing, vectors)
        cache.put_tokens(tokens)
        known.update(zip(missing, vectors, strict=True))
        known_tokens.update(tokens)
    cache.keep_tokens(wanted)
    return Embedded(known, known_tokens, len(missing))


def cached_token_counts(
    encoder: Encoder, settings: IndexSettings
) -> Callable[[list[str]], list[int]]:
    """`encoder.token_counts`, answered from the cache where it can be: the tokenizer is loaded
    and run only for texts never counted with this model (then remembered)."""
    # No vector is read here, so no dimension is checked: asking the encoder for one would load
    # the torch model, which a build from cached vectors otherwise never does.
    cache = EmbeddingCache.for_model(settings.cache_dir, encoder.name, dimension=0)

    def token_counts(texts: list[str]) -> list[int]:
        known = cache.get_token_counts(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            counted = dict(zip(missing, encoder.token_counts(missing), strict=True))
            cache.put_token_counts(counted)
            known.update(counted)
        return [known[t] for t in texts]

    return token_counts


def _embed(
    encoder: PassageEncoder, texts: list[str], paragraphs: set[str], settings: IndexSettings
) -> tuple[np.ndarray, dict[str, TokenRows]]:
    """Vectors for `texts`, and token rows for those of them in `paragraphs`, in batches of
    similar length (little padding), with a bar on big builds."""
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    tokens: dict[str, TokenRows] = {}
    with tqdm(
        total=len(texts),
        desc="embedding",
        unit="text",
        disable=len(texts) < settings.progress_bar_min_texts,
    ) as bar:
        for rows, chunk, chunk_tokens in encoder.encode_chunks(texts, settings.encode_batch_size):
            vectors[rows] = chunk
            for row, found in zip(rows, chunk_tokens, strict=True):
                if texts[row] in paragraphs:
                    tokens[texts[row]] = TokenRows.quantise(found.vectors, found.ids)
            bar.update(len(rows))
    return vectors, tokens
