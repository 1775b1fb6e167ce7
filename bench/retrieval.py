"""Retrieval benchmarks: one warm question against the bare model, micro-batched concurrency, the
index build, and retrieval quality per query backend."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

from bench.common import (
    Row,
    all_questions,
    distinct_questions,
    p50_p99,
    pct,
    peak_rss_mb,
    progress,
    ratio,
    reset_peak_rss,
    rss_mb,
    synthetic_paragraphs,
    timed_ms,
)
from bot.questions.batcher import Answerer
from bot.settings import BotSettings
from index.config import IndexSettings
from index.encoders.base import QueryEncoder
from index.encoders.torch import Encoder
from index.evaluation import evaluate, load_questions
from index.retriever import Retriever

log = logging.getLogger(__name__)


def latency(retrievers: dict[str, Retriever], repeats: int) -> list[Row]:
    """Warm single questions: `Retriever.search` vs a bare encode + `faiss.search`, per backend.

    The bare path is the model alone (`SentenceTransformer.encode([q])` for torch, the ONNX
    session for onnx) and one exact FAISS search over the same paragraph vectors. Both paths
    alternate question by question, so a noisy neighbour slows them alike.
    """
    rows = []
    encode_p50: dict[str, float] = {}
    for backend, retriever in retrievers.items():
        progress(f"latency: {repeats} warm questions, {backend}")
        bare_ms, search_ms, encode_ms = _single_questions(retriever, repeats)
        encode_p50[backend] = pct(encode_ms, 50)
        rows.append(
            Row(
                f"single question, warm ({backend})",
                "Retriever.search p50 / p99",
                p50_p99(search_ms),
                f"bare encode + faiss.search {p50_p99(bare_ms)}",
                ratio(pct(search_ms, 50), pct(bare_ms, 50)) + " at p50",
                "<= 1.3x at p50",
            )
        )
    for backend, p50 in encode_p50.items():
        if backend != "torch" and "torch" in encode_p50:
            rows.append(
                Row(
                    f"encode one question ({backend})",
                    "encode p50",
                    f"{p50:.2f} ms",
                    f"torch p50 {encode_p50['torch']:.2f} ms",
                    f"{encode_p50['torch'] / p50:.1f}x faster",
                    "1-2 ms vs ~10 ms (int8)" if backend == "onnx-int8" else "",
                )
            )
    return rows


def _single_questions(
    retriever: Retriever, repeats: int
) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds of the bare path, of `Retriever.search` and of the encode alone."""
    qs = all_questions()
    bare_index = faiss.IndexFlatIP(retriever.data.dimension)
    bare_index.add(retriever.data.paragraph_vectors)
    encode = bare_encoder(retriever.query_encoder)
    k = retriever.settings.k
    for q in qs:  # warm up both paths
        bare_index.search(encode(q), k)
        retriever.search(q)
    bare_ms, search_ms, encode_ms = [], [], []
    for i in range(repeats):
        q = qs[i % len(qs)]
        start = time.perf_counter()
        bare_index.search(encode(q), k)
        middle = time.perf_counter()
        retriever.search(q)
        end = time.perf_counter()
        encode(q)
        bare_ms.append((middle - start) * 1000)
        search_ms.append((end - middle) * 1000)
        encode_ms.append((time.perf_counter() - end) * 1000)
    return bare_ms, search_ms, encode_ms


def bare_encoder(encoder: QueryEncoder) -> Callable[[str], np.ndarray]:
    """The model without the retriever: sentence-transformers' encode for torch, ONNX as is."""
    if isinstance(encoder, Encoder):
        model = encoder.model
        return lambda q: np.asarray(
            model.encode([q], normalize_embeddings=True, convert_to_numpy=True), dtype=np.float32
        )
    return lambda q: encoder.encode([q])


def concurrency(retrievers: dict[str, Retriever], bot: BotSettings, rounds: int) -> list[Row]:
    """64 questions at once through `Answerer.ask` (what every cog calls) vs one at a time.

    One at a time is `Retriever.search` called directly, question after question: the cost of
    answering without micro-batching, with the same backend and with the torch reference.
    Concurrent: 64 `ask` calls gathered at once, `rounds` times; latency is per question, from its
    `ask` to its answer.
    """
    rows = []
    qs = distinct_questions(64)
    sequential_qps: dict[str, float] = {}
    for backend, retriever in retrievers.items():  # first, so every row can compare with torch
        progress(f"concurrency: {rounds} x 64 questions one at a time, {backend}")
        # What the cogs ask for (bot/questions/pipeline.py).
        k = retriever.settings.k * bot.max_pages
        sequential_s = []
        for _ in range(rounds):
            start = time.perf_counter()
            for q in qs:
                retriever.search(q, k=k)
            sequential_s.append(time.perf_counter() - start)
        sequential_qps[backend] = len(qs) / float(np.median(sequential_s))
    for backend, retriever in retrievers.items():
        progress(f"concurrency: 64 questions at once x {rounds} rounds, {backend}")
        k = retriever.settings.k * bot.max_pages
        latencies, wall, batches = asyncio.run(_gathered(retriever, bot, qs, k, rounds))
        seq_qps = sequential_qps[backend]
        qps = len(qs) / float(np.median(wall))
        default = backend == IndexSettings().backend
        rows.append(
            Row(
                f"64 concurrent questions ({backend})",
                "Answerer.ask questions/s",
                f"{qps:.0f} q/s in {batches / rounds:.0f} forward passes",
                f"sequential search, same backend {seq_qps:.0f} q/s",
                ratio(qps, seq_qps),
                ">= 4x" if backend in ("torch", IndexSettings().backend) else "",
            )
        )
        if backend != "torch" and "torch" in sequential_qps:
            rows.append(
                Row(
                    f"64 concurrent questions ({backend})",
                    "Answerer.ask questions/s",
                    f"{qps:.0f} q/s",
                    f"sequential search, torch reference {sequential_qps['torch']:.0f} q/s",
                    ratio(qps, sequential_qps["torch"]),
                    "",
                )
            )
        rows.append(
            Row(
                f"64 concurrent questions ({backend})",
                "per-question latency p50 / p99",
                p50_p99(latencies),
                f"batch <= {bot.batch_max_size}, wait <= {bot.batch_max_wait_ms:g} ms",
                "",
                "p99 <= 150 ms" if default or backend == "torch" else "",
            )
        )
    return rows


def chunk_sizes(retrievers: dict[str, Retriever], bot: BotSettings, rounds: int) -> list[Row]:
    """A burst of 64 through `Answerer.ask` with each question chunk size: why the defaults."""
    rows = []
    qs = distinct_questions(64)
    for backend in ("onnx", "torch"):
        retriever = retrievers.get(backend)
        if retriever is None:
            continue
        encoder = retriever.query_encoder
        chosen = encoder.question_chunk
        progress(f"chunks: 64 questions at once, chunks of 8-64, {backend}")
        medians = {}
        try:
            for size in (8, 16, 32, 64):
                encoder.question_chunk = size
                k = retriever.settings.k * bot.max_pages
                _, wall, _ = asyncio.run(_gathered(retriever, bot, qs, k, rounds))
                medians[size] = float(np.median(wall)) * 1000
        finally:
            encoder.question_chunk = chosen
        rows.append(
            Row(
                f"question chunk size ({backend})",
                "64 at once: median burst by chunk",
                ", ".join(f"{size}: {ms:.0f} ms" for size, ms in medians.items()),
                f"configured chunk {chosen}",
                ratio(medians[64], min(medians.values())) + " (one pass / best)",
                "",
            )
        )
    return rows


async def _gathered(
    retriever: Retriever, bot: BotSettings, qs: list[str], k: int, rounds: int
) -> tuple[list[float], list[float], int]:
    answerer = Answerer(
        retriever, max_batch=bot.batch_max_size, max_wait=bot.batch_max_wait_ms / 1000
    )
    latencies: list[float] = []
    wall: list[float] = []

    async def one(q: str) -> None:
        start = time.perf_counter()
        await answerer.ask(q, k=k)
        latencies.append((time.perf_counter() - start) * 1000)

    try:
        await asyncio.gather(*(one(q) for q in qs[:8]))  # warm the worker and the thread
        latencies.clear()
        answerer.batches = 0
        for _ in range(rounds):
            start = time.perf_counter()
            await asyncio.gather(*(one(q) for q in qs))
            wall.append(time.perf_counter() - start)
        return latencies, wall, answerer.batches
    finally:
        await answerer.close()


def quality(retrievers: dict[str, Retriever]) -> list[Row]:
    """Dev-set R@1, MRR@5 and abstention per backend (`python -m index eval` on the dev set)."""
    progress("quality: dev set per backend")
    from bench.common import EVAL

    answerable = load_questions(EVAL / "dev-questions.jsonl")
    unanswerable = load_questions(EVAL / "dev-unanswerable.jsonl")
    rows = []
    for backend, retriever in retrievers.items():
        folder = getattr(retriever.query_encoder, "folder", None)
        if folder is not None:
            meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
            rows.append(
                Row(
                    f"ONNX export, {meta['precision']} (once per model, cached)",
                    "export (+ int8 quantisation) + check",
                    f"{meta['export_seconds']:.1f} s",
                    "agreement with torch on probe sentences",
                    f"cosine >= {meta['agreement_min_cosine']:.3f}",
                    "",
                )
            )
        report = evaluate(retriever, answerable, unanswerable)
        rows.append(
            Row(
                f"dev set, 16 + 4 questions ({backend})",
                "R@1 / MRR@5; abstentions",
                f"{report.recall_at_1:.3f} / {report.mrr_at_5:.3f}; "
                f"{report.abstained_correctly}/{report.unanswerable} right, "
                f"{report.false_abstentions} false",
                "torch is the reference" if backend != "torch" else "",
                "",
                "onnx default only if equal to torch" if backend != "torch" else "",
            )
        )
    return rows


def build(encoder: Encoder, paragraphs: int, workdir: Path) -> list[Row]:
    """Index build throughput on synthetic paragraphs vs `model.encode` alone, and peak memory.

    `model.encode` alone is timed inside the build: the one `SentenceTransformer.encode` call on
    exactly the texts the build embeds (every paragraph and every sentence, deduplicated). The
    build also splits sentences, builds both FAISS and both BM25 indexes and saves everything.
    """
    progress(f"build: {paragraphs} synthetic paragraphs (the slowest part)")
    sources = workdir / "build-sources"
    sources.mkdir()
    texts = synthetic_paragraphs(paragraphs)
    (sources / "synthetic.txt").write_text("Synthetic corpus\n\n" + "\n\n".join(texts) + "\n")
    model = encoder.model
    original = model.encode
    spent = {"seconds": 0.0, "texts": 0}

    def timed_encode(sentences: list[str], *args: object, **kwargs: object) -> np.ndarray:
        start = time.perf_counter()
        out = original(sentences, *args, **kwargs)
        spent["seconds"] += time.perf_counter() - start
        spent["texts"] += len(sentences)
        return out

    settings = IndexSettings(
        sources_dir=sources, cache_dir=workdir / "build-cache", progress_bar_min_texts=10**9
    )
    before = rss_mb()
    resettable = reset_peak_rss()
    model.encode = timed_encode
    try:
        start = time.perf_counter()
        built = Retriever(settings, encoder=encoder)
        seconds = time.perf_counter() - start
    finally:
        del model.encode  # back to the class's method
    peak = peak_rss_mb()
    n = len(built.data.passages)
    sentences = len(built.data.sentence_owner)
    progress("build: latency of one question on the built index")
    qs = all_questions()
    for q in qs:
        built.search(q)
    big_ms = [timed_ms(lambda q=q: built.search(q)) for q in qs * 2]
    return [
        Row(
            f"index build, {n} synthetic paragraphs",
            "passages/s (full build)",
            f"{n / seconds:.1f} passages/s ({seconds:.0f} s)",
            f"model.encode alone {n / spent['seconds']:.1f} passages/s "
            f"({spent['texts']} texts: paragraphs + {sentences} sentences, deduplicated)",
            f"{spent['seconds'] / seconds:.2f} of the time in encode",
            "",
        ),
        Row(
            f"index build, {n} synthetic paragraphs",
            "peak memory" + ("" if resettable else " (process lifetime)"),
            f"{peak:.0f} MB RSS",
            f"{before:.0f} MB before the build (model loaded)",
            f"+{peak - before:.0f} MB",
            "",
        ),
        Row(
            f"single question on the {n}-paragraph index (torch)",
            "Retriever.search p50 / p99",
            p50_p99(big_ms),
            "18-paragraph article: see first row",
            "",
            "",
        ),
    ]


def make_retrievers(encoder: Encoder, workdir: Path, backends: list[str]) -> dict[str, Retriever]:
    """The bundled article indexed once (by the torch reference), searched by each backend.

    ONNX exports are kept in the project's cache (made once, reused by every run) and copied into
    this run's cache, so every retriever, and the bot processes, read the same index files.
    """
    cache = workdir / "cache"
    sources = Path(tempfile.mkdtemp(dir=workdir, prefix="sources-"))
    from bench.common import ROOT

    for path in (ROOT / "sources").iterdir():
        (sources / path.name).write_bytes(path.read_bytes())
    base = {"sources_dir": sources, "cache_dir": cache}
    retrievers = {"torch": Retriever(IndexSettings(**base, backend="torch"), encoder=encoder)}
    for backend in backends:
        if backend != "torch":
            from index.encoders.onnx_export import cached_encoder

            precision = "int8" if backend == "onnx-int8" else "float32"
            cached_encoder(IndexSettings().cache_dir, encoder, precision)  # the kept one
            retrievers[backend] = Retriever(IndexSettings(**base, backend=backend), encoder=encoder)
    return {backend: retrievers[backend] for backend in backends}
