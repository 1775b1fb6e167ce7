"""Retrieval benchmarks: one warm question against the bare model, micro-batched concurrency, the
index build, and retrieval quality per query backend."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
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
from index.encoders.base import PassageEncoder, QueryEncoder, QueryTokens, unit_rows
from index.encoders.torch import Encoder
from index.evaluation import evaluate, load_questions
from index.ingest.loaders import load_sources
from index.retriever import Retriever
from index.search import store
from index.search.store import IndexData, file_fingerprints

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


class TorchTwoPasses:
    """Passages as builds embedded them before token vectors came from the pooling pass: every
    text pooled by torch, then the paragraphs run through torch again for their token vectors
    (the "before" of the build benchmark)."""

    def __init__(self, reference: Encoder, paragraphs: set[str]) -> None:
        self.reference = reference
        self.paragraphs = paragraphs
        self.name = reference.name
        self.texts_encoded = 0

    @property
    def dimension(self) -> int:
        return self.reference.dimension

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.reference.encode(texts)

    def encode_chunks(
        self, texts: list[str], size: int | None = None
    ) -> Iterator[tuple[list[int], np.ndarray, list[QueryTokens]]]:
        vectors = self.reference.encode(texts)
        wanted = [row for row, text in enumerate(texts) if text in self.paragraphs]
        none = QueryTokens(
            np.zeros((0, self.dimension), np.float32), np.zeros((0, 2), np.int64), np.zeros(0), 0
        )
        tokens = [none] * len(texts)
        for rows, _, found in self.reference.encode_chunks([texts[r] for r in wanted], size):
            for row, one in zip(rows, found, strict=True):
                tokens[wanted[row]] = one
        yield list(range(len(texts))), vectors, tokens


def build(encoder: Encoder, paragraphs: int, workdir: Path, with_torch: bool) -> list[Row]:
    """A full index build of synthetic paragraphs, passages embedded by the float32 ONNX export
    (the default), and with `with_torch` also by torch (as before), their vectors compared; then
    one added paragraph, built by a new Retriever as a new process would (only the embedding
    cache on disk is shared).

    Each build starts with an empty cache folder, so every text is embedded; the ONNX export is
    made before the clock starts (it is made once per model, like downloading the model). A build
    also splits sentences, builds both FAISS and both BM25 indexes and saves everything.
    """
    from index.encoders.onnx_export import cached_encoder

    twice = ", twice (the slowest part)" if with_torch else ""
    progress(f"build: {paragraphs} synthetic paragraphs{twice}")
    sources = workdir / "build-sources"
    sources.mkdir()
    texts = synthetic_paragraphs(paragraphs)
    (sources / "synthetic.txt").write_text("Synthetic corpus\n\n" + "\n\n".join(texts) + "\n")

    def settings_for(backend: str) -> IndexSettings:
        return IndexSettings(
            sources_dir=sources,
            cache_dir=workdir / f"build-{backend}",
            progress_bar_min_texts=10**9,
            passage_backend=backend,
        )

    loads: dict[str, str] = {}

    def full_build(backend: str) -> tuple[IndexData, float]:
        """What `Retriever` does on a first build (read the sources, embed, index, save), with
        the passage encoder of `backend` ("torch": today's two torch passes, see TorchTwoPasses)."""
        settings = settings_for(backend)
        onnx = cached_encoder(settings.cache_dir, encoder, "float32")  # outside the clock
        before = os.getloadavg()[0]
        start = time.perf_counter()
        found = load_sources(sources)
        passages: PassageEncoder = onnx
        if backend == "torch":
            passages = TorchTwoPasses(encoder, {p.text for s in found for p in s.passages})
        data = store.build(found, file_fingerprints(sources), encoder, settings, passages=passages)
        store.save(data, settings)
        seconds = time.perf_counter() - start
        loads[backend] = f"{before:.1f}-{os.getloadavg()[0]:.1f}"
        progress(f"build: {backend} {seconds:.0f} s, load average {loads[backend]}")
        return data, seconds

    by_torch, torch_s = None, 0.0
    if with_torch:
        progress("build: passages by torch, pooled then token vectors (the reference, as before)")
        by_torch, torch_s = full_build("torch")
    progress("build: passages by the float32 ONNX export, one pass (the default)")
    before = rss_mb()
    resettable = reset_peak_rss()
    built, onnx_s = full_build("onnx")
    peak = peak_rss_mb()
    embedded = built.texts_embedded
    n = len(built.passages)
    against_torch = _against_torch(built, by_torch, n, onnx_s, torch_s, loads) if by_torch else []
    del by_torch

    progress("build: one paragraph added, built by a new Retriever")
    (sources / "added.txt").write_text(
        "Added article\n\nA paragraph added later. It has two sentences.\n", encoding="utf-8"
    )
    start = time.perf_counter()
    again = Retriever(settings_for("onnx"), encoder=encoder)
    added_s = time.perf_counter() - start
    report = again.last_report

    progress("build: latency of one question on the built index")
    qs = all_questions()
    for q in qs:
        again.search(q)
    big_ms = [timed_ms(lambda q=q: again.search(q)) for q in qs * 2]
    return [
        Row(
            f"index build, {n} synthetic paragraphs",
            "passages/s (full build), passages by ONNX float32",
            f"{n / onnx_s:.1f} passages/s ({onnx_s:.0f} s)",
            f"{embedded} texts: paragraphs + sentences, deduplicated; load average "
            f"{loads['onnx']}" + ("" if with_torch else "; torch beside it: --only build-torch"),
            "",
            "",
        ),
        *against_torch,
        Row(
            f"index build, {n} + 1 paragraphs (new Retriever)",
            "texts embedded; build time",
            f"{report.texts_embedded}; {added_s:.1f} s",
            f"{report.texts_cached} from the embedding cache; {report.summary.split(';')[0]}",
            f"{onnx_s / added_s:.0f}x faster than a full build",
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
            f"single question on the {n}-paragraph index",
            "Retriever.search p50 / p99",
            p50_p99(big_ms),
            "18-paragraph article: see first row",
            "",
            "",
        ),
    ]


def _against_torch(
    built: IndexData,
    by_torch: IndexData,
    n: int,
    onnx_s: float,
    torch_s: float,
    loads: dict[str, str],
) -> list[Row]:
    """The ONNX build next to torch's: speed, and how close their vectors are."""
    agreement = min(
        float((by_torch.paragraph_vectors * built.paragraph_vectors).sum(axis=1).min()),
        float((by_torch.sentence_vectors * built.sentence_vectors).sum(axis=1).min()),
    )
    ours, theirs = built.tokens, by_torch.tokens
    steps = np.abs(ours.vectors.astype(np.int16) - theirs.vectors.astype(np.int16))
    token_cosine = float(
        (
            unit_rows(ours.rows(np.arange(len(ours.ids))))
            * unit_rows(theirs.rows(np.arange(len(theirs.ids))))
        )
        .sum(axis=1)
        .min()
    )
    return [
        Row(
            f"index build, {n} synthetic paragraphs",
            "passages/s: ONNX float32 against torch",
            f"{n / onnx_s:.1f} passages/s ({onnx_s:.0f} s)",
            f"passages by torch (before) {n / torch_s:.1f} passages/s ({torch_s:.0f} s); load "
            f"average torch {loads['torch']}, onnx {loads['onnx']}",
            f"{torch_s / onnx_s:.2f}x",
            ">= 2x",
        ),
        Row(
            f"index build, {n} synthetic paragraphs",
            "ONNX vs torch vectors, min cosine",
            f"{agreement:.7f}",
            "every paragraph and sentence vector",
            "",
            ">= 0.9999",
        ),
        Row(
            f"index build, {n} synthetic paragraphs",
            "ONNX vs torch token vectors (int8 as stored): min cosine; int8 steps apart",
            f"{token_cosine:.5f}; at most {int(steps.max())}, "
            f"{float((steps == 0).mean()) * 100:.2f} % equal",
            f"{len(ours.ids)} tokens, same token ids: {np.array_equal(ours.ids, theirs.ids)}",
            "",
            ">= 0.9999; <= 1 step",
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
