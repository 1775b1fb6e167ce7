"""Held-out figures for `python -m index eval --cv`: grouped k-fold cross-validation on the bank.

Questions are grouped by paragraph: every question about a paragraph is in the same fold, so a
held-out question is about a paragraph the fit never saw answered. The learned method is fitted
on k - 1 folds (`index.training.fit_weights`) and measured on the fold left out; rrf, fitted on
nothing of the bank, is measured on every question. Only held-out figures are printed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index.ingest.text import normalise_for_match
from index.models import Answer
from index.retriever import Retriever
from index.training import (
    ANSWERABLE_KINDS,
    FOLDS,
    NEAR_MISS,
    OFF_TOPIC,
    BankQuestion,
    Example,
    fit_weights,
    verdict,
)

log = logging.getLogger(__name__)


def folds(bank: list[BankQuestion], k: int = FOLDS, seed: int = 0) -> list[int]:
    """A fold per question; every question of a group (paragraph) in the same fold."""
    groups = sorted({q.group for q in bank})
    order = np.random.default_rng(seed).permutation(len(groups))
    fold_of = {groups[g]: i % k for i, g in enumerate(order)}
    return [fold_of[q.group] for q in bank]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one method did with one question."""

    kind: str
    rank: int | None  # of the gold paragraph, for answerable questions
    coverage: str


def held_out(retriever: Retriever, found: list[Example], k: int = FOLDS) -> list[Outcome]:
    """The learned method's outcome on every question, each from the fit that did not see it."""
    data = retriever.data
    assignment = folds([e.question for e in found], k)
    outcomes: list[Outcome | None] = [None] * len(found)
    for fold in range(k):
        train = [e for e, f in zip(found, assignment, strict=True) if f != fold]
        weights = fit_weights(train, data)
        for i, (example, f) in enumerate(zip(found, assignment, strict=True)):
            if f == fold:
                top = example.ranked(weights.ranker)
                outcomes[i] = _outcome(example, top, verdict(example, data, weights, top).coverage)
        log.info("fold %d of %d measured", fold + 1, k)
    return [o for o in outcomes if o is not None]


def _outcome(example: Example, top: np.ndarray, coverage: str) -> Outcome:
    rank = next((i + 1 for i, r in enumerate(top.tolist()) if r in example.gold), None)
    return Outcome(example.question.kind, rank, coverage)


def rrf_outcomes(retriever: Retriever, bank: list[BankQuestion]) -> list[Outcome]:
    """Today's hybrid (rrf): nothing of it is fitted on the bank, so every figure is held out."""
    answers = retriever.search_many([q.text for q in bank], k=10, method="rrf")
    return [_answer_outcome(q, a) for q, a in zip(bank, answers, strict=True)]


def _answer_outcome(question: BankQuestion, answer: Answer) -> Outcome:
    wanted = [normalise_for_match(g) for g in question.gold]
    rank = next(
        (
            i
            for i, hit in enumerate(answer.hits or answer.nearest, 1)
            if any(g in normalise_for_match(hit.passage.text) for g in wanted)
        ),
        None,
    )
    return Outcome(question.kind, rank if wanted else None, answer.coverage)


# --- the report ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    target: str
    measure: Callable[[list[Outcome]], str]


def _recall(kinds: tuple[str, ...]) -> Callable[[list[Outcome]], str]:
    def measure(outcomes: list[Outcome]) -> str:
        ranks = [o.rank for o in outcomes if o.kind in kinds]
        if not ranks:
            return "-"
        at1 = sum(r == 1 for r in ranks) / len(ranks)
        at3 = sum(r is not None and r <= 3 for r in ranks) / len(ranks)
        return f"{at1:.2f} / {at3:.2f}"

    return measure


def _share(kinds: tuple[str, ...], coverages: tuple[str, ...]) -> Callable[[list[Outcome]], str]:
    def measure(outcomes: list[Outcome]) -> str:
        chosen = [o for o in outcomes if o.kind in kinds]
        if not chosen:
            return "-"
        hits = sum(o.coverage in coverages for o in chosen)
        return f"{hits / len(chosen):.1%} ({hits}/{len(chosen)})"

    return measure


ROWS = (
    Row("direct R@1 / R@3", ">= 0.90 / 0.97", _recall(("direct",))),
    Row("paraphrase + casual R@1 / R@3", ">= 0.80 / 0.92", _recall(("paraphrase", "casual"))),
    Row("  paraphrase", "", _recall(("paraphrase",))),
    Row("  casual", "", _recall(("casual",))),
    Row("who R@1 / R@3", "", _recall(("who",))),
    Row("number R@1 / R@3", "", _recall(("number",))),
    Row("clause R@1 / R@3", "", _recall(("clause",))),
    Row("all answerable R@1 / R@3", "", _recall(ANSWERABLE_KINDS)),
    Row("near-miss flagged (partial or none)", ">= 70%", _share((NEAR_MISS,), ("partial", "none"))),
    Row("off-topic abstained", ">= 95%", _share((OFF_TOPIC,), ("none",))),
    Row("answerable wrongly none", "<= 2%", _share(ANSWERABLE_KINDS, ("none",))),
    Row("answerable wrongly partial", "<= 10%", _share(ANSWERABLE_KINDS, ("partial",))),
)


def report(columns: dict[str, list[Outcome]]) -> str:
    """A Markdown table: one row per figure, one column per method, and the target."""
    header = ["figure", *columns, "target"]
    lines = [header] + [
        [row.label, *(row.measure(outcomes) for outcomes in columns.values()), row.target]
        for row in ROWS
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def render(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [render(lines[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [render(line) for line in lines[1:]]
    )
