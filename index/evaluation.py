"""Retrieval quality on a question set: recall, MRR and abstention, per ranking method."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from index.errors import QuotebotError
from index.ingest.text import normalise_for_match
from index.models import Answer
from index.retriever import Retriever
from index.search.rank import Method

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Question:
    """An eval question; `gold` is empty for questions the article cannot answer."""

    text: str
    gold: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Figures for one method over one answerable and one unanswerable set."""

    method: str
    answerable: int
    unanswerable: int
    recall_at_1: float
    recall_at_3: float
    mrr_at_5: float
    abstained_correctly: int
    false_abstentions: int
    answerable_evidence: tuple[float, ...]
    unanswerable_evidence: tuple[float, ...]
    misses: tuple[str, ...]  # answerable questions whose gold was not ranked first
    threshold: float  # the evidence under which the method abstains

    @property
    def suggested_threshold(self) -> float | None:
        """Midway between the weakest answerable and the strongest unanswerable evidence."""
        if not self.answerable_evidence or not self.unanswerable_evidence:
            return None
        low, high = max(self.unanswerable_evidence), min(self.answerable_evidence)
        return round((low + high) / 2, 3) if low < high else None


def load_questions(path: Path) -> list[Question]:
    """JSONL with `{"q": ..., "gold": [...]}` per line (gold optional)."""
    questions = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise QuotebotError(f"cannot read {path} ({exc.strerror}): check the path") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            questions.append(Question(str(item["q"]), tuple(str(g) for g in item.get("gold", []))))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise QuotebotError(
                f'{path}:{number} is not a JSON object with a "q" field: fix that line'
            ) from None
    return questions


def gold_rank(answer: Answer, gold: tuple[str, ...]) -> int | None:
    """1-based rank of the first hit whose paragraph holds a gold phrase (quotes/spaces folded)."""
    wanted = [normalise_for_match(g) for g in gold]
    for rank, hit in enumerate(answer.hits or answer.nearest, 1):
        text = normalise_for_match(hit.passage.text)
        if any(g in text for g in wanted):
            return rank
    return None


def evaluate(
    retriever: Retriever,
    answerable: list[Question],
    unanswerable: list[Question],
    method: Method = "learned",
) -> EvalReport:
    """Search every question once (batched) and score the ranking and the abstentions."""
    answers = retriever.search_many([q.text for q in answerable], k=5, method=method)
    refusals = retriever.search_many([q.text for q in unanswerable], k=5, method=method)
    ranks = [gold_rank(a, q.gold) for a, q in zip(answers, answerable, strict=True)]
    n = max(len(answerable), 1)
    return EvalReport(
        method=method,
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        recall_at_1=sum(r == 1 for r in ranks) / n,
        recall_at_3=sum(r is not None and r <= 3 for r in ranks) / n,
        mrr_at_5=sum(1 / r for r in ranks if r is not None) / n,
        abstained_correctly=sum(a.abstained for a in refusals),
        false_abstentions=sum(a.abstained for a in answers),
        answerable_evidence=tuple(a.evidence for a in answers),
        unanswerable_evidence=tuple(a.evidence for a in refusals),
        misses=tuple(q.text for q, r in zip(answerable, ranks, strict=True) if r != 1),
        threshold=(answers or refusals)[0].threshold if answers or refusals else 0.0,
    )


def plot_evidence(report: EvalReport, threshold: float, path: Path) -> None:
    """Both evidence distributions and the threshold, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    for y, values, label, colour in (
        (1, report.answerable_evidence, "answerable", "tab:green"),
        (0, report.unanswerable_evidence, "unanswerable", "tab:red"),
    ):
        ax.scatter(values, [y] * len(values), label=label, color=colour, alpha=0.7)
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.2f}")
    ax.set_yticks([0, 1], ["unanswerable", "answerable"])
    ax.set_xlabel("evidence score of the best paragraph")
    ax.set_ylim(-0.6, 1.6)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"Abstention ({report.method})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
