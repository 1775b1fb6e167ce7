"""Follow-up questions measured: each pair's second question with and without the first as context.

A pair is `{"first", "followup", "gold", "kind"}`: `kind` is "followup" when the second question
leans on the first, "new" when it stands alone (and must not be bent by the context). The first
question is searched alone; its answer is the context of the second, as in a conversation.
Choosing a strategy is a fit, so `cross_validate` chooses it on some groups of pairs (all pairs
sharing a first question form a group) and scores it on the others.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.errors import QuotebotError
from index.evaluation import gold_rank
from index.retriever import Retriever
from index.search.followups import STRATEGIES, Context, Strategy, leans_on_context, resolve

KINDS = ("followup", "new")


@dataclass(frozen=True, slots=True)
class Pair:
    first: str
    followup: str
    gold: tuple[str, ...]
    kind: str


@dataclass(frozen=True, slots=True)
class PairResult:
    """Where each strategy ranked a pair's gold paragraph (None: not in the top 5)."""

    pair: Pair
    ranks: dict[Strategy, int | None]
    detected: bool  # whether the second question was taken as a follow-up


@dataclass(frozen=True, slots=True)
class Recall:
    n: int
    at_1: float
    at_3: float


def load_pairs(path: Path) -> list[Pair]:
    """JSONL of pairs; QuotebotError names the line that is not one."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise QuotebotError(f"cannot read {path} ({exc.strerror}): check the path") from None
    pairs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            pair = Pair(
                str(item["first"]),
                str(item["followup"]),
                tuple(str(g) for g in item["gold"]),
                str(item.get("kind", "followup")),
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise QuotebotError(
                f'{path}:{number} is not a JSON object with "first", "followup" and "gold": '
                "fix that line"
            ) from None
        if pair.kind not in KINDS:
            raise QuotebotError(f'{path}:{number}: "kind" must be one of {", ".join(KINDS)}')
        pairs.append(pair)
    return pairs


def run_pairs(retriever: Retriever, pairs: Sequence[Pair]) -> list[PairResult]:
    """Every pair under every strategy (searches batched per strategy)."""
    firsts = retriever.search_many([p.first for p in pairs], k=5)
    contexts = [Context.of(p.first, p.first, a) for p, a in zip(pairs, firsts, strict=True)]
    ranks: list[dict[Strategy, int | None]] = [{} for _ in pairs]
    for strategy in STRATEGIES:
        queries = [
            resolve(p.followup, c, strategy).query for p, c in zip(pairs, contexts, strict=True)
        ]
        for row, answer in enumerate(retriever.search_many(queries, k=5)):
            ranks[row][strategy] = gold_rank(answer, pairs[row].gold)
    return [
        PairResult(p, r, leans_on_context(p.followup)) for p, r in zip(pairs, ranks, strict=True)
    ]


def _recall(ranks: Sequence[int | None]) -> Recall:
    n = max(len(ranks), 1)
    return Recall(
        n=len(ranks),
        at_1=sum(r == 1 for r in ranks) / n,
        at_3=sum(r is not None and r <= 3 for r in ranks) / n,
    )


def recall(results: Sequence[PairResult], strategy: Strategy) -> Recall:
    return _recall([r.ranks[strategy] for r in results])


def _best(results: Sequence[PairResult]) -> Strategy:
    """The strategy with the best R@1, then R@3; the simplest wins ties (STRATEGIES order)."""
    return max(
        STRATEGIES,
        key=lambda s: (recall(results, s).at_1, recall(results, s).at_3, -STRATEGIES.index(s)),
    )


def cross_validate(
    results: Sequence[PairResult], folds: int = 5
) -> tuple[list[Strategy], dict[str, Recall]]:
    """Choose the strategy on the other folds and score it on each held-out fold, pairs grouped
    by first question. Returns the choice per fold and held-out recall per kind and overall."""
    groups = sorted({r.pair.first for r in results})
    fold_of = {first: i % folds for i, first in enumerate(groups)}
    chosen: list[Strategy] = []
    held_out: list[tuple[str, int | None]] = []
    for fold in range(folds):
        test = [r for r in results if fold_of[r.pair.first] == fold]
        if not test:
            continue
        strategy = _best([r for r in results if fold_of[r.pair.first] != fold])
        chosen.append(strategy)
        held_out += [(r.pair.kind, r.ranks[strategy]) for r in test]
    by_kind = {kind: _recall([rank for k, rank in held_out if k == kind]) for kind in KINDS}
    return chosen, {**by_kind, "all": _recall([rank for _, rank in held_out])}
