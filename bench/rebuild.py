"""A rebuild whose every vector is already in the embedding cache (a source removed, a format
bump, another process building the same texts): what a build costs besides embedding."""

from __future__ import annotations

import logging
import os
import statistics
import time
from pathlib import Path

from bench.common import Row, progress, synthetic_paragraphs
from index.config import IndexSettings
from index.encoders.onnx_export import cached_encoder
from index.encoders.torch import Encoder
from index.ingest.loaders import load_sources
from index.search import store
from index.search.store import file_fingerprints

log = logging.getLogger(__name__)


def rebuild(encoder: Encoder, paragraphs: int, workdir: Path, repeats: int = 5) -> list[Row]:
    """One full build of synthetic paragraphs to fill the embedding cache, then `repeats` builds
    of the same sources that read every vector from it, each timed as `Retriever` builds (read
    the sources, build, save). Beside them: tokenizing every sentence alone, as builds did to
    count each sentence's tokens."""
    sources = workdir / "rebuild-sources"
    sources.mkdir()
    texts = synthetic_paragraphs(paragraphs)
    (sources / "synthetic.txt").write_text("Synthetic corpus\n\n" + "\n\n".join(texts) + "\n")
    settings = IndexSettings(
        sources_dir=sources, cache_dir=workdir / "rebuild", progress_bar_min_texts=10**9
    )
    # The kept export (made once per model, reused by every run), as make_retrievers does.
    passages = cached_encoder(IndexSettings().cache_dir, encoder, "float32")

    def build() -> tuple[store.IndexData, float]:
        start = time.perf_counter()
        found = load_sources(sources)
        data = store.build(found, file_fingerprints(sources), encoder, settings, passages)
        store.save(data, settings)
        return data, time.perf_counter() - start

    progress(f"rebuild: {paragraphs} synthetic paragraphs, first build fills the embedding cache")
    first, first_s = build()
    loads = [os.getloadavg()[0]]
    seconds, embedded = [], []
    for _ in range(repeats):
        data, took = build()
        seconds.append(took)
        embedded.append(data.texts_embedded)
    loads.append(os.getloadavg()[0])
    sentences = [s for p in first.passages for s in p.sentences]
    start = time.perf_counter()
    encoder.token_counts(sentences)
    tokenize_s = time.perf_counter() - start
    progress(
        f"rebuild: median {statistics.median(seconds):.2f} s, load {loads[0]:.1f}-{loads[1]:.1f}"
    )
    return [
        Row(
            f"index rebuild, {len(first.passages)} synthetic paragraphs, every vector cached",
            f"build time, median of {repeats} (min-max); texts embedded",
            f"{statistics.median(seconds):.2f} s ({min(seconds):.2f}-{max(seconds):.2f}); "
            f"{max(embedded)}",
            f"first build {first_s:.0f} s ({first.texts_embedded} texts embedded); tokenizing "
            f"its {len(sentences)} sentences alone {tokenize_s:.2f} s; load average "
            f"{loads[0]:.1f}-{loads[1]:.1f}",
            f"{first_s / statistics.median(seconds):.0f}x faster than the first build",
            "",
        )
    ]
