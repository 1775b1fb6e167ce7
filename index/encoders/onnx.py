"""Questions encoded by onnxruntime from an ONNX export of the reference model, float32 or int8.

Why a custom backend rather than sentence-transformers' own ONNX support: that one still imports
torch (seconds) to encode, while this one needs only onnxruntime and tokenizers, so a start that
finds its index and export cached never imports torch. A question costs one forward pass.
Through torch that is about 10 ms on two cores; the same MiniLM exported to float32 ONNX takes
about 3 ms and gives the same vectors (cosine 0.99999 or better), and int8 takes 1-2 ms for
vectors that differ slightly. How an export is made and checked: index/encoders/onnx_export.py.

Pooling runs in numpy exactly as sentence-transformers' mean pooling: the sum of the token
embeddings under the attention mask divided by the number of tokens (at least 1e-9), then L2
normalisation (norm at least 1e-12).

Float32 questions are encoded in batches, sorted by length and cut into chunks of
`question_chunk` so that little of a batch is padding: masked padding changes a vector by float
rounding only (1e-7), as in sentence-transformers' own batches. Int8 questions run one at a time:
dynamic quantisation scales activations per tensor, so in a batch a question's vector (and maybe
its answer) would depend on who else asked at the same moment.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from index.encoders.base import QueryTokens, chunk_by_length, unit_rows
from index.errors import ModelLoadError

log = logging.getLogger(__name__)

Precision = Literal["float32", "int8"]
MODEL_FILES: dict[Precision, str] = {"float32": "model.onnx", "int8": "model.int8.onnx"}
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "export.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def mean_pool_normalise(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sentence vectors from token embeddings (batch, tokens, dim), as sentence-transformers does."""
    weights = mask[..., None].astype(np.float32)
    summed = (tokens * weights).sum(axis=1)
    vectors = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


class OnnxEncoder:
    """Encodes questions with an ONNX export of the reference model (see module docs)."""

    def __init__(self, folder: Path) -> None:
        import onnxruntime as ort
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors
        from tokenizers import Tokenizer

        # onnxruntime's own errors (a truncated or foreign file) derive from Exception only.
        unreadable = (
            OSError,
            ValueError,
            KeyError,
            RuntimeError,
            ort_errors.Fail,
            ort_errors.InvalidProtobuf,
            ort_errors.InvalidGraph,
            ort_errors.NoSuchFile,
        )
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
            options = ort.SessionOptions()
            options.log_severity_level = 3  # warnings about unused initialisers are noise
            # onnxruntime's pool threads may spin rather than sleep while a run lasts (64
            # questions at once: p99 143 vs 159 ms), but stop when it returns: spinning on, they
            # took the CPU from the scoring of the question just encoded (under load, scoring
            # then took 8-18 ms instead of 2: bench/README.md).
            options.add_session_config_entry("session.intra_op.allow_spinning", "1")
            options.add_session_config_entry("session.force_spinning_stop", "1")
            precision: Precision = meta.get("precision", "int8")
            self._session = ort.InferenceSession(
                str(folder / MODEL_FILES[precision]), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        except unreadable as exc:
            raise ModelLoadError(
                f"the ONNX export in {folder} is unusable ({type(exc).__name__}: {exc}); delete "
                'that folder to export again, or set index.backend = "torch"'
            ) from None
        self.folder = folder
        self.precision = precision
        self.name: str = meta["model"]
        self.max_seq_length = int(meta["max_seq_length"])
        self._inputs: list[str] = list(meta["inputs"])
        self._dimension = int(meta["dimension"])
        self._tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._tokenizer.no_padding()
        self._lock = threading.Lock()
        self.texts_encoded = 0
        # 64 questions: 134 ms in chunks of 16, 137 in 12 or 24, 166 in one pass (bench/README.md).
        self.question_chunk = 16

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors for `texts`, shape (len(texts), dimension), each of unit length."""
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for rows, chunk, _ in self.encode_chunks(texts):
            vectors[rows] = chunk
        return vectors

    def encode_chunks(
        self, texts: list[str], size: int | None = None
    ) -> Iterator[tuple[list[int], np.ndarray, list[QueryTokens]]]:
        """Vectors and token vectors for `texts` one forward pass at a time, by token count,
        shortest first.

        Yields (rows of `texts`, their vectors, their tokens) per chunk of `size` texts at most
        (default `question_chunk`; a build passes its batch size); int8 runs each text of a chunk
        alone (see module docs).
        """
        if not texts:
            return
        encodings = self._tokenizer.encode_batch(texts)
        for rows in chunk_by_length([len(e.ids) for e in encodings], size or self.question_chunk):
            with self._lock:
                if self.precision == "int8":
                    passes = [self._forward([encodings[row]]) for row in rows]
                    vectors = np.concatenate([v for v, _ in passes])
                    tokens = [t for _, chunk in passes for t in chunk]
                else:
                    vectors, tokens = self._forward([encodings[row] for row in rows])
                self.texts_encoded += len(rows)
            yield rows, vectors, tokens

    def _forward(self, encodings: list[Any]) -> tuple[np.ndarray, list[QueryTokens]]:
        """One forward pass over `encodings`, right-padded to the longest of them."""
        width = max(len(e.ids) for e in encodings)
        feeds = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in INPUTS}
        for row, encoding in enumerate(encodings):
            length = len(encoding.ids)
            feeds["input_ids"][row, :length] = encoding.ids
            feeds["attention_mask"][row, :length] = encoding.attention_mask
            feeds["token_type_ids"][row, :length] = encoding.type_ids
        (tokens,) = self._session.run(None, {name: feeds[name] for name in self._inputs})
        vocabulary_size = self._tokenizer.get_vocab_size()
        per_text = []
        for row, encoding in enumerate(encodings):
            keep = ~np.array(encoding.special_tokens_mask, dtype=bool)
            per_text.append(
                QueryTokens(
                    vectors=unit_rows(tokens[row, : len(encoding.ids)][keep]),
                    spans=np.array(encoding.offsets, dtype=np.int64).reshape(-1, 2)[keep],
                    ids=np.array(encoding.ids, dtype=np.int64)[keep],
                    vocabulary_size=vocabulary_size,
                )
            )
        return mean_pool_normalise(tokens, feeds["attention_mask"]), per_text
