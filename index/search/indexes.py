"""The two searchable indexes a build makes: FAISS over vectors, BM25 over our own tokens."""

from __future__ import annotations

import bm25s
import faiss
import numpy as np

from index.config import IndexSettings
from index.search.threads import every_core
from index.search.tokenize import tokenize


def build_faiss(vectors: np.ndarray, settings: IndexSettings) -> faiss.Index:
    """Exact inner product by default; HNSW once a corpus is large enough that exact search is slow."""
    dimension = vectors.shape[1]
    use_hnsw = settings.faiss_index == "hnsw" or (
        settings.faiss_index == "auto" and len(vectors) >= settings.hnsw_min_vectors
    )
    if use_hnsw:
        index = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.hnsw_ef_construction
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        with every_core():
            index.add(vectors)
    tune_search(index, settings)
    return index


def tune_search(index: faiss.Index, settings: IndexSettings) -> None:
    """Search-time parameters from the config, on a new index or one loaded from the cache."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = settings.hnsw_ef_search


def build_bm25(texts: list[str]) -> bm25s.BM25:
    """A BM25 index over our own tokens (index.search.tokenize), so queries and docs match alike."""
    corpus_tokens = [tokenize(text) or ["\u2205"] for text in texts]
    # bm25s numbers the tokens it is given in set order, which follows the process's string hash
    # seed: its vocabulary and matrices would differ between two builds of the same sources.
    # Numbered here in sorted order, every build writes the same bytes; the scores are the same.
    vocabulary = {token: i for i, token in enumerate(sorted({t for d in corpus_tokens for t in d}))}
    bm25 = bm25s.BM25()
    bm25.index(
        ([[vocabulary[t] for t in d] for d in corpus_tokens], vocabulary), show_progress=False
    )
    return bm25
