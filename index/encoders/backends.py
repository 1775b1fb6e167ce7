"""Which encoder turns questions into vectors (`index.backend`); passages always use torch.

This module sits above both backends so that neither imports the other: torch knows nothing of
ONNX, and the ONNX export only takes the torch reference it is given.
"""

from __future__ import annotations

import logging

from index.config import IndexSettings
from index.encoders.base import QueryEncoder
from index.encoders.onnx import Precision
from index.encoders.torch import Encoder
from index.errors import ExportUnsupportedError

log = logging.getLogger(__name__)


def query_encoder(settings: IndexSettings, reference: Encoder) -> QueryEncoder:
    """The encoder for questions that `settings.backend` names; passages always use `reference`.

    "torch" is the reference itself. "onnx" is its float32 ONNX export (the same vectors, faster)
    and "onnx-int8" its int8 one, each made once and kept in `<cache_dir>/onnx/` (see
    index/encoders/onnx_export.py).
    """
    if settings.backend != "torch":
        # Imported here: a torch backend never loads onnxruntime.
        from index.encoders.onnx_export import cached_encoder

        precision: Precision = "int8" if settings.backend == "onnx-int8" else "float32"
        try:
            return cached_encoder(settings.cache_dir, reference, precision)
        except ExportUnsupportedError as exc:
            # Any sentence-transformers model must work: torch encodes what ONNX cannot.
            log.warning("%s; questions are encoded by torch instead", exc)
    reference.load()
    return reference
