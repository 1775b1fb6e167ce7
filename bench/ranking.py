"""The learned ranking (late interaction + coverage) next to rrf: latency and memory."""

from __future__ import annotations

import time

from bench.common import Row, all_questions, p50_p99, pct, progress, ratio, rss_mb
from bench.retrieval import bare_encoder
from index.retriever import Retriever


def ranking(retrievers: dict[str, Retriever], repeats: int) -> list[Row]:
    """Per backend: `Retriever.search` with the learned method and with rrf, and the query
    encoder alone, question by question in turn so a noisy neighbour slows all three alike;
    then what the token vectors cost in memory."""
    rows = []
    for backend, retriever in retrievers.items():
        progress(f"ranking: {repeats} warm questions, learned vs rrf, {backend}")
        learned, rrf, encode = _timings(retriever, repeats)
        rows.append(
            Row(
                f"learned ranking vs rrf ({backend})",
                "Retriever.search p50 / p99",
                f"learned {p50_p99(learned)}",
                f"rrf {p50_p99(rrf)}",
                ratio(pct(learned, 50), pct(rrf, 50)) + " at p50",
                "",
            )
        )
        rows.append(
            Row(
                f"learned ranking vs the encoder alone ({backend})",
                "search p50 / encode p50",
                f"{pct(learned, 50):.2f} ms",
                f"query encoder alone {pct(encode, 50):.2f} ms",
                ratio(pct(learned, 50), pct(encode, 50)) + " at p50",
                "<= 1.5x at p50",
            )
        )
    rows.append(_memory(next(iter(retrievers.values()))))
    return rows


def _timings(retriever: Retriever, repeats: int) -> tuple[list[float], list[float], list[float]]:
    qs = all_questions()
    encode = bare_encoder(retriever.query_encoder)
    for q in qs:  # warm every path
        retriever.search(q)
        retriever.search(q, method="rrf")
        encode(q)
    learned, rrf, encoded = [], [], []
    for i in range(repeats):
        q = qs[i % len(qs)]
        for samples, run in (
            (learned, lambda q=q: retriever.search(q)),
            (rrf, lambda q=q: retriever.search(q, method="rrf")),
            (encoded, lambda q=q: encode(q)),
        ):
            start = time.perf_counter()
            run()
            samples.append((time.perf_counter() - start) * 1000)
    return learned, rrf, encoded


def _memory(retriever: Retriever) -> Row:
    """The token store: its size, a token's share, and the growth per million paragraphs."""
    data = retriever.data
    tokens = data.tokens
    count = len(tokens.vectors)
    store = tokens.vectors.nbytes + tokens.ids.nbytes + tokens.start.nbytes
    per_token = store / max(count, 1)
    per_paragraph = count / max(len(data.passages), 1)
    million = per_token * per_paragraph * 1_000_000 / 1e9
    before = rss_mb()
    for q in all_questions() * 5:
        retriever.search(q)
    grew = rss_mb() - before
    vectors = data.paragraph_vectors.nbytes + data.sentence_vectors.nbytes
    return Row(
        "late-interaction token store (int8 + scale, memory-mapped)",
        "size; per token; at a million paragraphs",
        f"{store / 1024:.0f} KB for {count} tokens ({per_paragraph:.0f} a paragraph); "
        f"{per_token:.0f} B a token; {million:.0f} GB",
        f"paragraph + sentence vectors {vectors / 1024:.0f} KB (float32)",
        f"{store / max(vectors, 1):.1f}x the sentence-level vectors",
        f"RSS +{max(grew, 0.0):.1f} MB over {len(all_questions()) * 5} searches",
    )
