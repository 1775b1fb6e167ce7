"""Sentence embeddings on torch: the bundled all-MiniLM-L6-v2 by default, any sentence-transformers model by config."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.config import BUNDLED_MODEL
from index.encoders.base import QueryTokens, chunk_by_length, resolve_model_path, unit_rows
from index.errors import ModelLoadError

log = logging.getLogger(__name__)


class Encoder:
    """Encodes texts into L2-normalised float32 vectors, so inner product is the cosine.

    This is the reference: sentence-transformers on torch embeds every passage, whichever
    backend encodes questions (`index.backend`, see index/encoders/backends.py). With `lazy=True` the model
    loads on first use, so a start that finds its index cached and encodes questions with ONNX
    never imports torch.

    One lock serialises forward passes: torch already uses every core for one batch, and two
    concurrent batches would only fight over them. Questions go through in passes of
    `question_chunk`: torch pays ~8 ms a call, so its best chunk is larger than onnxruntime's
    (64 questions: 176 ms in chunks of 32, 194 ms in 16, 217 ms in one pass; bench/README.md).
    `texts_encoded` counts work, for tests and benchmarks that check nothing was re-embedded.
    """

    def __init__(
        self,
        model: str = BUNDLED_MODEL,
        device: str = "cpu",
        batch_size: int = 64,
        progress_bar_min_texts: int = 500,
        lazy: bool = False,
    ) -> None:
        self.name = model
        self.device = device
        self.batch_size = batch_size
        self.progress_bar_min_texts = progress_bar_min_texts
        self.texts_encoded = 0
        self.question_chunk = 32
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._dimension: int | None = None
        if not lazy:
            self.load()

    @property
    def loaded(self) -> bool:
        """Whether the torch model is in memory (a lazy encoder that never encoded is not)."""
        return self._model is not None

    def load(self) -> Any:
        """Load the SentenceTransformer once (ModelLoadError says how to fix a bad model)."""
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> Any:
        path = resolve_model_path(self.name)
        if Path(path).exists():
            # A local folder needs no hub; never let a missing file turn into a download attempt.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # slow import, keep it here
        from transformers.utils import logging as transformers_logging

        # The weight-loading bar is noise on every start; encode() shows one where it helps.
        transformers_logging.disable_progress_bar()

        try:
            model = SentenceTransformer(path, device=self.device)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(
                f"cannot load embedding model {self.name!r} ({type(exc).__name__}: {exc}). "
                "Set index.model to a local sentence-transformers folder or a model already in "
                "the Hugging Face cache (this machine may have no internet)"
            ) from None
        dimension = model.get_embedding_dimension()
        if not dimension:
            raise ModelLoadError(f"model {self.name!r} does not report an embedding dimension")
        self._dimension = int(dimension)
        log.info("embedding model %s loaded (%d dimensions)", self.name, self._dimension)
        return model

    @property
    def model(self) -> Any:
        """The SentenceTransformer itself (loaded on first use), for exports and benchmarks."""
        return self._model if self._model is not None else self.load()

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self.load()
        assert self._dimension is not None
        return self._dimension

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Vectors for `texts`, shape (len(texts), dimension), each of unit length."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        with self._lock:
            # sentence-transformers sorts the texts by length before cutting them into batches.
            vectors = model.encode(
                texts,
                batch_size=batch_size or self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=len(texts) >= self.progress_bar_min_texts,
            )
            self.texts_encoded += len(texts)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def token_counts(self, texts: list[str]) -> list[int]:
        """How many tokens each text has, special tokens left out: no forward pass, and with the
        model not loaded only its tokenizer is (a build that re-uses every token vector)."""
        if not texts:
            return []
        if self._tokenizer is None:
            if self._model is not None:
                self._tokenizer = self._model.tokenizer
            else:
                from transformers import AutoTokenizer  # slow import, keep it here

                try:
                    self._tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(self.name))
                except (OSError, ValueError) as exc:
                    raise ModelLoadError(
                        f"cannot load the tokenizer of {self.name!r} ({type(exc).__name__}: "
                        f"{exc}). Set index.model to a local sentence-transformers folder"
                    ) from None
        ids = self._tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [len(i) for i in ids]

    def encode_chunks(
        self, texts: list[str], size: int | None = None
    ) -> Iterator[tuple[list[int], np.ndarray, list[QueryTokens]]]:
        """`QueryEncoder.encode_chunks`: passes of `size` texts at most (default
        `question_chunk`), shortest first, each giving pooled vectors and token vectors (the
        model's output before pooling) from one `encode(output_value=None)`."""
        if not texts:
            return
        model = self.model
        tokenizer = model.tokenizer
        encoded = tokenizer(
            texts,
            truncation=True,
            max_length=model.max_seq_length,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
        )
        lengths = [len(ids) for ids in encoded["input_ids"]]
        size = size or self.question_chunk
        for rows in chunk_by_length(lengths, size):
            with self._lock:
                outputs = model.encode(
                    [texts[row] for row in rows],
                    output_value=None,
                    batch_size=size,
                    normalize_embeddings=True,
                )
                self.texts_encoded += len(rows)
            vectors = np.stack([o["sentence_embedding"].float().cpu().numpy() for o in outputs])
            tokens = []
            for row, output in zip(rows, outputs, strict=True):
                keep = ~np.array(encoded["special_tokens_mask"][row], dtype=bool)
                # output_value=None leaves a shorter text's rows padded to the chunk's longest.
                embeddings = output["token_embeddings"][: lengths[row]].float().cpu().numpy()
                tokens.append(
                    QueryTokens(
                        vectors=unit_rows(embeddings[keep]),
                        spans=np.array(encoded["offset_mapping"][row], dtype=np.int64)[keep],
                        ids=np.array(encoded["input_ids"][row], dtype=np.int64)[keep],
                        vocabulary_size=len(tokenizer),
                    )
                )
            yield rows, np.ascontiguousarray(vectors, dtype=np.float32), tokens
