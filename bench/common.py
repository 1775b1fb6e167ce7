"""What every benchmark shares: the result table, percentiles, questions, synthetic text, memory."""

from __future__ import annotations

import json
import logging
import random
import resource
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: a figure, what it is compared with, and the target if any."""

    benchmark: str
    figure: str
    measured: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""


def print_table(rows: Iterable[Row]) -> None:
    """The one table, as Markdown (it reads in a terminal and pastes into bench/README.md)."""
    header = ("benchmark", "figure", "measured", "compared with", "ratio", "target")
    lines = [
        header,
        *((r.benchmark, r.figure, r.measured, r.baseline, r.ratio, r.target) for r in rows),
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def fmt(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(fmt(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines[1:]:
        print(fmt(line))


def progress(message: str) -> None:
    """A progress line on stderr, so stdout is the table alone."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def p50_p99(samples: list[float], unit: str = "ms") -> str:
    return f"{pct(samples, 50):.2f} / {pct(samples, 99):.2f} {unit}"


def timed_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def ratio(measured: float, baseline: float) -> str:
    return f"{measured / baseline:.2f}x" if baseline else "-"


def questions(*names: str) -> list[str]:
    """The `q` of every line of eval/<name>.jsonl."""
    out = []
    for name in names:
        for line in (EVAL / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["q"])
    return out


def all_questions() -> list[str]:
    """Every eval question, answerable or not (44 distinct)."""
    return questions("dev-questions", "dev-unanswerable", "extra-questions", "extra-unanswerable")


def distinct_questions(n: int) -> list[str]:
    """`n` different questions: the eval ones, then the same asked "according to the article"."""
    base = all_questions()
    variants = [f"According to the article, {q[0].lower()}{q[1:]}" for q in base]
    pool = base + variants
    if n > len(pool):
        raise ValueError(f"only {len(pool)} distinct questions available, {n} asked")
    return pool[:n]


def synthetic_paragraphs(n: int, seed: int = 7) -> list[str]:
    """Paragraphs shaped like the bundled article's (1-3 sentences of 8-26 of its words)."""
    words = (ROOT / "sources" / "putin-needs-xi.txt").read_text(encoding="utf-8").split()
    rng = random.Random(seed)

    def sentence() -> str:
        text = " ".join(rng.choices(words, k=rng.randint(8, 26))).rstrip(".!?")
        return text[0].upper() + text[1:] + "."

    return [" ".join(sentence() for _ in range(rng.choice((1, 2, 2, 3)))) for _ in range(n)]


def rss_mb() -> float:
    """Resident memory of this process now."""
    return _status_kb("VmRSS") / 1024


def reset_peak_rss() -> bool:
    """Start a new peak-memory window (Linux: /proc/self/clear_refs); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident memory since the last reset (or since start)."""
    kb = _status_kb("VmHWM")
    return (kb or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def _status_kb(key: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine() -> str:
    """`nproc`, CPU model and RAM, for the README."""
    import os

    cpu = "unknown CPU"
    ram = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return f"{len(os.sched_getaffinity(0))} cores (nproc), {cpu}, {ram:.1f} GiB RAM"
