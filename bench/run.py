"""Every benchmark of issue 5 in one run, printed as one table (figures, baselines, ratios).

    .venv/bin/python bench/run.py            # everything: about 6-9 minutes on 2 cores
    .venv/bin/python bench/run.py --quick    # small sizes, to check the script (~1 minute)
    .venv/bin/python bench/run.py --only latency,concurrency

Progress goes to stderr, the table to stdout; bench/README.md has the latest table and what each
figure means. Nothing here asserts: targets are printed beside the figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # the project root, not bench/, so `bench` imports as a package

from bench import bot_process, ranking, rebuild, retrieval, scale  # noqa: E402
from bench.common import Row, machine, print_table, progress  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from index.encoders.torch import Encoder  # noqa: E402
from index.logs import configure_logging  # noqa: E402

log = logging.getLogger(__name__)

SECTIONS = (
    "latency",
    "ranking",
    "concurrency",
    "chunks",
    "quality",
    "bot",
    "build",
    "build-torch",
    "rebuild",
    "faiss",
)
# Not in a default run: the torch reference build alone takes 4 minutes at 10 000 paragraphs and
# would put the run past its 10 minutes (`--only build-torch`, or with other sections).
OPT_IN = frozenset({"build-torch"})
BACKENDS = ("onnx", "torch", "onnx-int8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="query backends to measure, comma-separated (default: onnx,torch,onnx-int8)",
    )
    parser.add_argument(
        "--paragraphs",
        type=int,
        help="synthetic paragraphs of the build and rebuild sections (default 10 000; 2 000)",
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else set(SECTIONS) - OPT_IN
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {SECTIONS}")
    backends = list(dict.fromkeys(args.backends.split(",")))
    if set(backends) - set(BACKENDS):
        parser.error(f"unknown backend in {args.backends!r}; choose from {', '.join(BACKENDS)}")
    if "torch" not in backends:
        backends.append("torch")  # the reference every ratio is taken against
    configure_logging(None, verbose=False, default="WARNING")
    sizes = {
        "repeats": 60 if args.quick else 200,
        "rounds": 2 if args.quick else 10,
        "e2e": 20 if args.quick else 200,
        "guilds": 100 if args.quick else 1000,
        "paragraphs": args.paragraphs or (300 if args.quick else 10_000),
        # The rebuild's first build only fills the cache: 2 000 paragraphs show its cost clearly.
        "rebuild_paragraphs": args.paragraphs or (300 if args.quick else 2_000),
        "vectors": 100_000 if args.quick else 1_000_000,
        "latency_queries": 30 if args.quick else 100,
        "recall_queries": 100 if args.quick else 200,
    }
    started = time.perf_counter()
    settings = load_settings()
    rows: list[Row] = []
    progress(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="quotebot-bench-") as tmp:
        workdir = Path(tmp)
        progress("loading the torch reference model and indexing the bundled article")
        encoder = Encoder(  # as the bot makes it; progress lines say enough, no bars
            settings.index.model,
            device=settings.index.device,
            batch_size=settings.index.encode_batch_size,
            progress_bar_min_texts=10**9,
        )
        retrievers = retrieval.make_retrievers(encoder, workdir, backends)
        if "latency" in only:
            rows += retrieval.latency(retrievers, sizes["repeats"])
        if "ranking" in only:
            rows += ranking.ranking(retrievers, sizes["repeats"])
        if "concurrency" in only:
            rows += retrieval.concurrency(retrievers, settings.bot, sizes["rounds"])
        if "chunks" in only:
            rows += retrieval.chunk_sizes(retrievers, settings.bot, sizes["rounds"] // 2)
        if "quality" in only:
            rows += retrieval.quality(retrievers)
        if "bot" in only:
            torch = retrievers["torch"].settings
            rows += bot_process.startup_and_e2e(
                torch.sources_dir,
                torch.cache_dir,
                [b for b in backends if b != "onnx-int8"],  # int8 starts as float32 does
                sizes["e2e"],
                sizes["guilds"],
                workdir,
                starts=1 if args.quick else 3,
            )
        if "build" in only or "build-torch" in only:
            rows += retrieval.build(
                encoder, sizes["paragraphs"], workdir, with_torch="build-torch" in only
            )
        if "rebuild" in only:
            rows += rebuild.rebuild(encoder, sizes["rebuild_paragraphs"], workdir)
        del retrievers
    if "faiss" in only:
        rows += scale.faiss_scale(
            sizes["vectors"],
            sizes["latency_queries"],
            sizes["recall_queries"],
            settings.index.hnsw_m,
            settings.index.hnsw_ef_construction,
            settings.index.hnsw_ef_search,
        )
    minutes = (time.perf_counter() - started) / 60
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    rows.append(
        Row(
            "this run",
            "wall time; load average at the end",
            f"{minutes:.1f} min; {load}",
            machine(),
            "",
            "< 10 min",
        )
    )
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
