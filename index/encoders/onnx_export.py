"""ONNX exports of the reference model, made once per model and precision, checked against torch.

An export is kept in `<cache_dir>/onnx/<key>/` (the key covers the model files, the precision,
the onnxruntime version and this recipe):

1. `torch.onnx.export` of the transformer alone (token embeddings out), from the loaded
   sentence-transformers model;
2. for int8 only, onnxruntime's dynamic quantisation: int8 weights per output channel,
   activations quantised on the fly;
3. the model folder's `tokenizer.json` copied beside it (read with `tokenizers`, truncated at the
   model's `max_seq_length` like sentence-transformers does);
4. a check that probe sentences get vectors within `MIN_AGREEMENT[precision]` of the reference.

The folder is filled in a staging folder and renamed into place (index/_atomic.py), so a
crash never leaves half an export where the encoder would load it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index import _atomic
from index.encoders.base import model_files, resolve_model_path
from index.encoders.onnx import (
    INPUTS,
    META_FILE,
    MODEL_FILES,
    TOKENIZER_FILE,
    OnnxEncoder,
    Precision,
)
from index.errors import ExportUnsupportedError, ModelLoadError

if TYPE_CHECKING:
    from index.encoders.torch import Encoder

log = logging.getLogger(__name__)

# Bump when the export recipe changes: older exports are then made again.
RECIPE_VERSION = 2
OPSET = 17
# An export must agree with torch at least this well (cosine) on every probe sentence. Measured:
# float32 0.9999999 (float rounding only); int8 0.988 at worst on the eval questions and the
# article's paragraphs, most at 0.993.
MIN_AGREEMENT: dict[Precision, float] = {"float32": 0.9999, "int8": 0.97}
# Generic sentences of several lengths and kinds (questions, a statement, a quote, numbers): the
# check must not depend on any source the bot happens to serve.
PROBES = (
    "What did the report say about the new rules?",
    "Why?",
    "The committee met on Tuesday and agreed to publish its findings in the spring.",
    '"We will not change course," the spokeswoman said, adding that 3,000 jobs were at stake.',
)

# Exports this process has made or checked, by folder name (the key): a second cache folder
# (another index, a test's temporary one) gets a copy instead of a new export.
_KNOWN_EXPORTS: dict[str, Path] = {}


def export_folder(cache_dir: Path, model: str, precision: Precision = "float32") -> Path:
    """Where the export of `model` lives: cheap to compute (file sizes and times, no hashing)."""
    import onnxruntime

    digest = hashlib.sha256(
        f"{RECIPE_VERSION}|{model}|{precision}|{onnxruntime.__version__}{model_files(model)}".encode()
    )
    return cache_dir / "onnx" / digest.hexdigest()[:16]


def cached_encoder(
    cache_dir: Path, reference: Encoder, precision: Precision = "float32"
) -> OnnxEncoder:
    """The export of `reference`'s model from the cache, made (and checked) first if missing."""
    folder = export_folder(cache_dir, reference.name, precision)
    if (folder / META_FILE).is_file():
        try:
            encoder = OnnxEncoder(folder)
        except ModelLoadError as exc:  # damaged on disk: made again, like a damaged index
            log.warning("%s; exporting it again", exc)
            shutil.rmtree(folder, ignore_errors=True)
    if not (folder / META_FILE).is_file():
        known = _KNOWN_EXPORTS.get(folder.name)
        if known is not None and (known / META_FILE).is_file():
            _copy_export(known, folder)
        else:
            export(reference, folder, precision)
        encoder = OnnxEncoder(folder)
    _KNOWN_EXPORTS[folder.name] = folder
    log.info("%s ONNX export ready in %s", precision, folder)
    return encoder


def _copy_export(known: Path, folder: Path) -> None:
    """Copy a checked export into another cache folder, whole or not at all."""
    with _atomic.staging_folder(folder.parent, f".{folder.name}.") as staging:
        shutil.copytree(known, staging, dirs_exist_ok=True)
        _publish(staging, folder)


def _publish(staging: Path, folder: Path) -> None:
    try:
        staging.rename(folder)
    except OSError:  # another process made the same export meanwhile: keep theirs
        if not (folder / META_FILE).is_file():
            raise


def export(reference: Encoder, folder: Path, precision: Precision = "float32") -> Path:
    """Export (and for int8 quantise) `reference`'s model into `folder`, checked, atomically."""
    started = time.perf_counter()
    log.info("exporting %s to %s ONNX (once per model, about 10 s)", reference.name, precision)
    with _atomic.staging_folder(folder.parent, f".{folder.name}.") as staging:
        meta = _export_into(reference, staging, precision)
        (staging / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        candidate = OnnxEncoder(staging)
        agreement = float(
            (candidate.encode(list(PROBES)) * reference.encode(list(PROBES))).sum(axis=1).min()
        )
        needed = MIN_AGREEMENT[precision]
        if agreement < needed:
            raise ExportUnsupportedError(
                f"the {precision} ONNX export of {reference.name!r} agrees with the torch model "
                f"only to cosine {agreement:.5f} (at least {needed} is needed): set "
                'index.backend = "torch" for this model'
            )
        meta["agreement_min_cosine"] = round(agreement, 4)
        meta["export_seconds"] = round(time.perf_counter() - started, 1)
        (staging / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        _publish(staging, folder)
    log.info(
        "ONNX export ready in %.1f s (agreement with torch: cosine >= %.5f)",
        time.perf_counter() - started,
        agreement,
    )
    return folder


def _check_pooling(modules: list[Any], name: str) -> None:
    kinds = [type(m).__name__ for m in modules]
    pooling = modules[1].get_config_dict() if len(modules) > 1 else {}
    mean = pooling.get("pooling_mode") == "mean" or (
        pooling.get("pooling_mode_mean_tokens")
        and not any(
            pooling.get(f"pooling_mode_{other}")
            for other in ("cls_token", "max_tokens", "mean_sqrt_len_tokens")
        )
    )
    if kinds[:2] != ["Transformer", "Pooling"] or not mean or set(kinds[2:]) - {"Normalize"}:
        raise ExportUnsupportedError(
            f"the onnx backend exports transformer + mean pooling models only; {name!r} is "
            f'{" + ".join(kinds)}: set index.backend = "torch"'
        )


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """The tracer's and the quantiser's advice is for people writing exporters, not for users."""

    class _DropQuantiserAdvice(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "pre-processing before quantization" not in record.getMessage()

    advice = _DropQuantiserAdvice()
    root = logging.getLogger()
    root.addFilter(advice)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.removeFilter(advice)


def _export_into(reference: Encoder, staging: Path, precision: Precision) -> dict[str, Any]:
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = reference.model
    modules = list(model)
    _check_pooling(modules, reference.name)
    transformer = modules[0]
    names = [n for n in INPUTS if n in transformer.tokenizer.model_input_names]
    if names[:2] != ["input_ids", "attention_mask"]:
        raise ExportUnsupportedError(
            f"the tokenizer of {reference.name!r} does not produce input_ids and attention_mask: "
            'set index.backend = "torch"'
        )
    source = Path(resolve_model_path(reference.name)) / TOKENIZER_FILE
    if source.is_file():
        shutil.copyfile(source, staging / TOKENIZER_FILE)
    elif hasattr(transformer.tokenizer, "backend_tokenizer"):
        transformer.tokenizer.backend_tokenizer.save(str(staging / TOKENIZER_FILE))
    else:
        raise ExportUnsupportedError(
            f"{reference.name!r} has no fast tokenizer (tokenizer.json) for onnxruntime to use: "
            'set index.backend = "torch"'
        )

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    wrapper = TokenEmbeddings(transformer.auto_model).eval()
    sample = transformer.tokenizer(list(PROBES[:2]), padding=True, return_tensors="pt")
    dynamic = {name: {0: "batch", 1: "tokens"} for name in [*names, "token_embeddings"]}
    float_path = staging / MODEL_FILES["float32"]
    with _quiet_export(), torch.no_grad():
        torch.onnx.export(
            wrapper,
            tuple(sample[n] for n in names),
            str(float_path),
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter needs no onnxscript
        )
        if precision == "int8":
            quantize_dynamic(
                float_path,
                staging / MODEL_FILES["int8"],
                per_channel=True,
                weight_type=QuantType.QInt8,
            )
            float_path.unlink()
    return {
        "model": reference.name,
        "dimension": reference.dimension,
        "max_seq_length": int(model.max_seq_length),
        "inputs": names,
        "output": "token_embeddings",
        "pooling": "mean, then L2 normalisation",
        "precision": precision,
        "quantisation": (
            "dynamic, int8 weights per channel (QInt8), uint8 activations"
            if precision == "int8"
            else "none"
        ),
        "opset": OPSET,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
