"""An answer as posted, in JSON: what its buttons need to redraw it after any restart.

Passages are stored by id and looked up in the current index when a button is clicked, so the
record stays small; an answer whose passages a reload removed cannot be redrawn (None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass
from typing import Any

from index.models import Answer, Hit, Passage, Scores


@dataclass(frozen=True, slots=True)
class ShownAnswer:
    """A posted answer and how it was posted."""

    answer: Answer
    question: str  # as the user asked it (the answer's query may be the resolved follow-up)
    per_page: int
    private: bool
    following: str | None = None  # the previous question, when this one followed it up


def _hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "passage": hit.passage.id,
        "score": hit.score,
        "highlight": list(hit.highlight_indices),
        "scores": list(astuple(hit.scores)),
    }


def to_json(shown: ShownAnswer) -> dict[str, Any]:
    answer = shown.answer
    return {
        "question": shown.question,
        "per_page": shown.per_page,
        "private": shown.private,
        "following": shown.following,
        "query": answer.query,
        "abstained": answer.abstained,
        "threshold": answer.threshold,
        "evidence": answer.evidence,
        "source": answer.source,
        "coverage": answer.coverage,
        "missing": list(answer.missing),
        "reason": answer.reason,
        "hits": [_hit_json(h) for h in answer.hits],
        "nearest": [_hit_json(h) for h in answer.nearest],
    }


def _hit(data: dict[str, Any], passage: Passage) -> Hit:
    indices = tuple(int(i) for i in data["highlight"] if 0 <= int(i) < len(passage.sentences))
    return Hit(
        passage=passage,
        score=float(data["score"]),
        highlight=" ".join(passage.sentences[i] for i in indices),
        highlight_indices=indices,
        scores=Scores(*(float(v) for v in data["scores"])),
    )


def from_json(
    data: dict[str, Any], passage_by_id: Callable[[str], Passage | None]
) -> ShownAnswer | None:
    """The answer again, over the current index; None when one of its passages is gone."""
    groups: list[tuple[Hit, ...]] = []
    for key in ("hits", "nearest"):
        hits = []
        for item in data[key]:
            passage = passage_by_id(item["passage"])
            if passage is None:
                return None
            hits.append(_hit(item, passage))
        groups.append(tuple(hits))
    answer = Answer(
        query=data["query"],
        hits=groups[0],
        abstained=bool(data["abstained"]),
        threshold=float(data["threshold"]),
        nearest=groups[1],
        source=data["source"],
        evidence=float(data["evidence"]),
        coverage=data.get("coverage", "none" if data["abstained"] else "full"),
        missing=tuple(data.get("missing", ())),
        reason=data.get("reason", ""),
    )
    return ShownAnswer(
        answer=answer,
        question=data["question"],
        per_page=int(data["per_page"]),
        private=bool(data["private"]),
        following=data.get("following"),
    )
