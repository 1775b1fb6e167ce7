"""Query latency and index build throughput of the retriever against the bare model + FAISS.

    .venv/bin/python bench/retrieval.py [--repeats 200] [--build-paragraphs 2000]

Prints p50/p99 of `Retriever.search` (single), `search_many` (batch of 16, per question) and of a
bare `model.encode([q])` + `faiss.IndexFlatIP.search` on the same queries in the same run, with
their ratio; then index build throughput (passages/s) on synthetic paragraphs against
`model.encode` alone on the same texts, and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.config import IndexSettings  # noqa: E402
from index.embedding import Encoder  # noqa: E402
from index.retriever import Retriever  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def timed(fn, items, repeats):  # type: ignore[no-untyped-def]
    samples = []
    for i in range(repeats):
        item = items[i % len(items)]
        start = time.perf_counter()
        fn(item)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def questions() -> list[str]:
    lines = (ROOT / "eval" / "dev-questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()]


def synthetic_paragraphs(n: int, seed: int = 7) -> list[str]:
    words = (ROOT / "sources" / "putin-needs-xi.txt").read_text(encoding="utf-8").split()
    rng = random.Random(seed)
    return [" ".join(rng.choices(words, k=rng.randint(30, 90))) + "." for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--build-paragraphs", type=int, default=2000)
    args = parser.parse_args()

    encoder = Encoder()
    with tempfile.TemporaryDirectory() as tmp:
        settings = IndexSettings(sources_dir=ROOT / "sources", cache_dir=Path(tmp) / "cache")
        retriever = Retriever(settings, encoder=encoder)
        qs = questions()
        bare_index = faiss.IndexFlatIP(encoder.dimension)
        bare_index.add(retriever.data.paragraph_vectors)
        model = encoder._model  # the same SentenceTransformer, called bare

        def bare(q: str) -> None:
            v = model.encode([q], normalize_embeddings=True, convert_to_numpy=True)
            bare_index.search(np.asarray(v, dtype=np.float32), 3)

        for q in qs:  # warm up both paths
            bare(q)
            retriever.search(q)
        rows = []
        bare_ms = timed(bare, qs, args.repeats)
        single_ms = timed(retriever.search, qs, args.repeats)
        batches = [qs[i : i + 16] for i in range(0, len(qs), 16)]
        batch_ms = [
            t / 16 for t in timed(retriever.search_many, batches, max(args.repeats // 16, 5))
        ]
        for name, samples in (
            ("bare encode+faiss", bare_ms),
            ("Retriever.search", single_ms),
            ("search_many(16) per q", batch_ms),
        ):
            rows.append((name, percentile(samples, 50), percentile(samples, 99)))
        print(f"query latency over {args.repeats} queries (ms)")
        print(f"{'path':<24}{'p50':>8}{'p99':>8}{'p50 ratio':>11}")
        for name, p50, p99 in rows:
            print(f"{name:<24}{p50:>8.2f}{p99:>8.2f}{p50 / rows[0][1]:>11.2f}")

        texts = synthetic_paragraphs(args.build_paragraphs)
        start = time.perf_counter()
        model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        encode_s = time.perf_counter() - start
        big = Path(tmp) / "big"
        big.mkdir()
        (big / "synthetic.txt").write_text("\n\n".join(texts), encoding="utf-8")
        build_settings = IndexSettings(sources_dir=big, cache_dir=Path(tmp) / "big-cache")
        start = time.perf_counter()
        built = Retriever(build_settings, encoder=encoder)
        build_s = time.perf_counter() - start
        n = len(built.data.passages)
        sentences = len(built.data.sentence_owner)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nindex build on {n} synthetic paragraphs ({sentences} sentences)")
    print(f"{'model.encode paragraphs only':<34}{n / encode_s:>10.1f} passages/s")
    print(f"{'full build (paras+sents+FAISS+BM25)':<34}{n / build_s:>10.1f} passages/s")
    print(f"{'ratio build / bare encode':<34}{(n / build_s) / (n / encode_s):>10.2f}")
    print(f"peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
