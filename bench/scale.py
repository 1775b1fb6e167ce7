"""FAISS at scale: exact (flat) vs HNSW vs IVF-PQ on a million synthetic 384-d vectors.

Synthetic vectors stand in for MiniLM embeddings: 2 000 topic centres in a 64-dimensional latent
space, points scattered around them, projected to 384 dimensions, a little noise added and every
vector L2-normalised. Like real embeddings they have a low intrinsic dimension and near
neighbours that are clearly nearer than the rest (mean cosine of a query's top 1: ~0.8, of a
random pair: ~0), which is what approximate indexes exploit; unstructured Gaussian noise would
make every index look bad, real data usually looks a little better.

Every figure is for one query at a time, as the bot searches. Recall@10 is the share of the exact
top 10 (flat) that an index returns in its own top 10. Memory is the serialised index: vectors
(or their codes) and the index's own structures, as held in RAM and written to disk.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

import faiss
import numpy as np

from bench.common import Row, pct, progress
from index.search.threads import every_core

log = logging.getLogger(__name__)

DIMENSION = 384
LATENT = 64
TOPICS = 2000
FLAT_QUERIES = 30


def synthetic_vectors(n: int, seed: int) -> np.ndarray:
    """`n` unit vectors shaped like sentence embeddings (see the module docstring)."""
    layout = np.random.default_rng(0)
    projection = layout.standard_normal((LATENT, DIMENSION), dtype=np.float32) / np.sqrt(LATENT)
    topics = layout.standard_normal((TOPICS, LATENT), dtype=np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIMENSION), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        latent = topics[rng.integers(TOPICS, size=size)]
        latent += rng.standard_normal((size, LATENT), dtype=np.float32) * 0.6
        block = latent @ projection
        block += rng.standard_normal((size, DIMENSION), dtype=np.float32) * 0.02
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + size] = block
    return out


def _single_query_ms(index: faiss.Index, queries: np.ndarray, k: int = 10) -> list[float]:
    samples = []
    for vector in queries:
        start = time.perf_counter()
        index.search(vector.reshape(1, -1), k)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _recall(index: faiss.Index, queries: np.ndarray, truth: np.ndarray) -> float:
    _, found = index.search(queries, truth.shape[1])
    hits = [len(set(row) & set(expected)) for row, expected in zip(found, truth, strict=True)]
    return sum(hits) / truth.size


def _built(
    make: Callable[[], faiss.Index], vectors: np.ndarray
) -> tuple[faiss.Index, float, float]:
    """Build with `make()`, train if needed (on 50 000 vectors), add all; seconds and size in MB.

    The size is the serialised index: what it holds in memory and on disk, vectors included.
    """
    start = time.perf_counter()
    index = make()
    with every_core():  # as `indexes.build_faiss` builds; searches stay on one core
        if not index.is_trained:
            sample = vectors[np.random.default_rng(3).choice(len(vectors), 50_000, replace=False)]
            index.train(sample)
        index.add(vectors)
    seconds = time.perf_counter() - start
    size = faiss.serialize_index(index).nbytes / 2**20
    gc.collect()
    return index, seconds, size


def faiss_scale(
    n: int,
    latency_queries: int,
    recall_queries: int,
    hnsw_m: int,
    ef_construction: int,
    ef_search: int,
) -> list[Row]:
    """Flat vs HNSW vs IVF-PQ on `n` vectors; flat also on a tenth, to show how it grows.

    HNSW is built as the index builds it (the config's M and efConstruction) and searched at
    several efSearch values, the config's marked: the default must keep recall@10 >= 0.97.
    """
    progress(f"faiss: generating {n} synthetic {DIMENSION}-d vectors")
    vectors = synthetic_vectors(n, seed=1)
    queries = synthetic_vectors(max(latency_queries, recall_queries), seed=2)
    rows = []

    progress("faiss: flat (exact) and the ground truth")
    flat, flat_s, flat_mb = _built(lambda: faiss.IndexFlatIP(DIMENSION), vectors)
    _, truth = flat.search(queries[:recall_queries], 10)
    flat_ms = _single_query_ms(flat, queries[:FLAT_QUERIES])  # ~0.15 s each: a few suffice
    tenth = faiss.IndexFlatIP(DIMENSION)
    tenth.add(vectors[: n // 10])
    tenth_ms = _single_query_ms(tenth, queries[:FLAT_QUERIES])
    del flat, tenth
    rows.append(
        Row(
            f"FAISS, {n:,} x {DIMENSION}-d: flat",
            "search p50; recall@10; memory; build",
            f"{pct(flat_ms, 50):.1f} ms; 1.000; {flat_mb:,.0f} MB; {flat_s:.1f} s",
            f"flat on {n // 10:,}: {pct(tenth_ms, 50):.1f} ms p50",
            "",
            "",
        )
    )

    progress(f"faiss: HNSW (M={hnsw_m}, efConstruction {ef_construction}) — several minutes")

    def hnsw() -> faiss.Index:
        index = faiss.IndexHNSWFlat(DIMENSION, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        return index

    graph, graph_s, graph_mb = _built(hnsw, vectors)
    for ef in sorted({64, 128, 256, ef_search}):
        graph.hnsw.efSearch = ef
        graph_ms = _single_query_ms(graph, queries[:latency_queries])
        default = ef == ef_search
        rows.append(
            Row(
                f"FAISS, {n:,}: HNSW M={hnsw_m}, efC {ef_construction}, efSearch {ef}"
                + (" (default)" if default else ""),
                "search p50; recall@10; memory; build",
                f"{pct(graph_ms, 50):.2f} ms; {_recall(graph, queries[:recall_queries], truth):.3f}; "
                f"{graph_mb:,.0f} MB; {graph_s:.0f} s",
                f"flat {pct(flat_ms, 50):.1f} ms",
                f"{pct(flat_ms, 50) / pct(graph_ms, 50):.0f}x faster",
                "recall@10 >= 0.97" if default else "",
            )
        )
    del graph

    nlist, subquantizers = 1024, 48
    progress(f"faiss: IVF{nlist},PQ{subquantizers} (48 bytes a vector)")

    def ivfpq() -> faiss.Index:
        quantizer = faiss.IndexFlatIP(DIMENSION)
        # faiss' Python wrapper keeps the quantizer alive as long as the index.
        return faiss.IndexIVFPQ(
            quantizer, DIMENSION, nlist, subquantizers, 8, faiss.METRIC_INNER_PRODUCT
        )

    compressed, compressed_s, compressed_mb = _built(ivfpq, vectors)
    for nprobe in (16, 64):
        compressed.nprobe = nprobe
        compressed_ms = _single_query_ms(compressed, queries[:latency_queries])
        rows.append(
            Row(
                f"FAISS, {n:,}: IVF{nlist},PQ{subquantizers}, nprobe {nprobe}",
                "search p50; recall@10; memory; build",
                f"{pct(compressed_ms, 50):.2f} ms; "
                f"{_recall(compressed, queries[:recall_queries], truth):.3f}; "
                f"{compressed_mb:,.0f} MB; {compressed_s:.0f} s",
                f"flat {pct(flat_ms, 50):.1f} ms",
                f"{pct(flat_ms, 50) / pct(compressed_ms, 50):.0f}x faster",
                "",
            )
        )

    def reranked(query: np.ndarray, candidates: int) -> np.ndarray:
        # PQ codes find candidates; their exact vectors (RAM here, a disk file at scale) decide.
        _, ids = compressed.search(query.reshape(1, -1), candidates)
        ids = ids[0][ids[0] >= 0]
        return ids[np.argsort(-(vectors[ids] @ query), kind="stable")[:10]]

    for candidates in (100, 1000):
        rerank_ms = []
        for query in queries[:latency_queries]:
            start = time.perf_counter()
            reranked(query, candidates)
            rerank_ms.append((time.perf_counter() - start) * 1000)
        found = [set(reranked(q, candidates).tolist()) for q in queries[:recall_queries]]
        recall = sum(len(f & set(t)) for f, t in zip(found, truth, strict=True)) / truth.size
        rows.append(
            Row(
                f"FAISS, {n:,}: IVF-PQ nprobe 64, top {candidates} re-ranked exactly",
                "search p50; recall@10; memory",
                f"{pct(rerank_ms, 50):.2f} ms; {recall:.3f}; {compressed_mb:,.0f} MB + vectors on disk",
                f"flat {pct(flat_ms, 50):.1f} ms",
                f"{pct(flat_ms, 50) / pct(rerank_ms, 50):.0f}x faster",
                "",
            )
        )
    return rows
