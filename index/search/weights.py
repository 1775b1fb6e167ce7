"""The fitted weights and thresholds of the learned ranker and of coverage, as JSON in the repo.

`python -m index train` writes them (`index.training`), everything else only reads them. They are
plain numbers keyed by feature name, so a reader can see what counts and by how much; nothing
is pickled.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import QuotebotError

WEIGHTS_FILE = Path(__file__).with_name("weights.json")


@dataclass(frozen=True, slots=True)
class Logistic:
    """A logistic model over named features, and the probability from which it says yes."""

    weights: dict[str, float]
    bias: float = 0.0
    threshold: float = 0.5
    # Features are standardised first when these are given (value - center) / scale.
    center: dict[str, float] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    # (weights, center, scale) as arrays per column order, made once: every question asks.
    _arrays: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def _in_order(self, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        arrays = self._arrays.get(names)
        if arrays is None:
            arrays = self._arrays[names] = (
                np.array([self.weights.get(name, 0.0) for name in names]),
                np.array([self.center.get(name, 0.0) for name in names]),
                np.array([self.scale.get(name, 1.0) for name in names]),
            )
        return arrays

    def probability(self, values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        """P(yes) for each row of `values` (columns in the order of `names`)."""
        w, center, scale = self._in_order(names)
        z = np.clip(((np.atleast_2d(values) - center) / scale) @ w + self.bias, -30, 30)
        return 1 / (1 + np.exp(-z))

    def says_yes(self, values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        return self.probability(values, names) >= self.threshold


@dataclass(frozen=True, slots=True)
class Weights:
    """Everything `python -m index train` fits.

    `ranker`: a weight per ranking feature; a candidate's score is the weighted sum.
    `off_topic`: P(nothing in the article is about the question), over MATCH_FEATURES.
    `missing_term`: P(a question word the article lacks matters), over TERM_FEATURES.
    `partial`: P(an on-topic question asks what the article lacks), over PARTIAL_FEATURES.
    """

    ranker: dict[str, float]
    off_topic: Logistic
    missing_term: Logistic
    partial: Logistic
    trained: dict[str, Any] = field(default_factory=dict)  # what it was fitted on, for readers
    _ranker_arrays: dict[tuple[str, ...], np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def untrained(cls) -> Weights:
        """All zeros: what `python -m index train` starts from (it never reads the old ones)."""
        never = Logistic({}, 0.0, 1.0)
        return cls({}, never, never, never)

    def rank_scores(self, matrix: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        w = self._ranker_arrays.get(names)
        if w is None:
            w = self._ranker_arrays[names] = np.array([self.ranker.get(n, 0.0) for n in names])
        return matrix @ w

    def to_json(self) -> str:
        return json.dumps(_public(asdict(self)), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Weights:
        return cls(
            ranker={str(k): float(v) for k, v in data["ranker"].items()},
            off_topic=_logistic(data["off_topic"]),
            missing_term=_logistic(data["missing_term"]),
            partial=_logistic(data["partial"]),
            trained=dict(data.get("trained", {})),
        )


def _public(value: Any) -> Any:
    """`value` without the arrays the models make for themselves (fields named with _)."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not str(k).startswith("_")}
    return value


def _logistic(data: dict[str, Any]) -> Logistic:
    return Logistic(
        weights={str(k): float(v) for k, v in data["weights"].items()},
        bias=float(data["bias"]),
        threshold=float(data["threshold"]),
        center={str(k): float(v) for k, v in data.get("center", {}).items()},
        scale={str(k): float(v) for k, v in data.get("scale", {}).items()},
    )


def load_weights(path: Path = WEIGHTS_FILE) -> Weights:
    """The weights in `path`; QuotebotError says how to make them when they are missing or bad."""
    try:
        weights = Weights.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise QuotebotError(
            f"{path} is missing: run `python -m index train` to fit the ranking weights"
        ) from None
    except (
        OSError,
        UnicodeDecodeError,
        json.JSONDecodeError,
        KeyError,
        TypeError,
        ValueError,
    ) as exc:
        raise QuotebotError(
            f"{path} is unreadable ({type(exc).__name__}: {exc}): restore it from git or run "
            "`python -m index train`"
        ) from None
    models = (weights.off_topic, weights.missing_term, weights.partial)
    values = [*weights.ranker.values(), *(v for m in models for v in m.weights.values())]
    values += [v for m in models for v in (m.bias, m.threshold, *m.scale.values())]
    if not all(math.isfinite(v) for v in values):
        raise QuotebotError(f"{path} holds a non-finite weight: run `python -m index train`")
    return weights
