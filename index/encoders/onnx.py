"""Questions encoded by onnxruntime: the reference model exported to ONNX, float32 or int8.

A question costs one forward pass. Through torch that is about 10 ms on two cores; the same
MiniLM exported to float32 ONNX takes about 3 ms and gives the same vectors (cosine 0.99999 or
better), and int8 takes 1-2 ms for vectors that differ slightly. onnxruntime imports in a fraction
of torch's seconds, so a start that finds its index cached never imports torch. The torch model
stays the reference: it embeds every passage, and an export is checked against it before use.

An export is made once per model and precision and kept in `<cache_dir>/onnx/<key>/` (the key
covers the model files, the precision, the onnxruntime version and this recipe):

1. `torch.onnx.export` of the transformer alone (token embeddings out), from the loaded
   sentence-transformers model;
2. for int8 only, onnxruntime's dynamic quantisation: int8 weights per output channel,
   activations quantised on the fly;
3. the model folder's `tokenizer.json` copied beside it (read with `tokenizers`, truncated at the
   model's `max_seq_length` like sentence-transformers does);
4. a check that probe sentences get vectors within `MIN_AGREEMENT[precision]` of the reference.

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

import contextlib
import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from index.encoders.torch import Encoder, chunk_by_length, resolve_model_path
from index.errors import ExportUnsupportedError, ModelLoadError

log = logging.getLogger(__name__)

# Bump when the export recipe changes: older exports are then made again.
RECIPE_VERSION = 2
Precision = Literal["float32", "int8"]
MODEL_FILES: dict[Precision, str] = {"float32": "model.onnx", "int8": "model.int8.onnx"}
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "export.json"
OPSET = 17
# An export must agree with torch at least this well (cosine) on every probe sentence. Measured:
# float32 0.9999999 (float rounding only); int8 0.988 at worst on the eval questions and the
# article's paragraphs, most at 0.993.
MIN_AGREEMENT: dict[Precision, float] = {"float32": 0.9999, "int8": 0.97}
PROBES = (
    "Which country supplies Russia with drones?",
    "Why did Putin start the war?",
    "The Mill Street bakery won the national bread prize for its sourdough.",
    "Russia does face strained ties but it is by no means completely alone on the world stage.",
)
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


# Exports this process has made or checked, by folder name (the key): a second cache folder
# (another index, a test's temporary one) gets a copy instead of a new export.
_KNOWN_EXPORTS: dict[str, Path] = {}


def export_folder(cache_dir: Path, model: str, precision: Precision = "float32") -> Path:
    """Where the export of `model` lives: cheap to compute (file sizes and times, no hashing)."""
    import onnxruntime

    digest = hashlib.sha256(
        f"{RECIPE_VERSION}|{model}|{precision}|{onnxruntime.__version__}".encode()
    )
    folder = Path(resolve_model_path(model))
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            stat = path.stat()
            digest.update(f"|{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return cache_dir / "onnx" / digest.hexdigest()[:16]


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
            # onnxruntime's pool threads spin briefly between runs before sleeping: a burst of
            # question chunks runs ~10 % faster (p99 of 64 at once: 143 vs 159 ms) and an idle
            # bot loses only those moments of spinning after its last chunk.
            options.add_session_config_entry("session.intra_op.allow_spinning", "1")
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
        for rows, chunk in self.encode_chunks(texts):
            vectors[rows] = chunk
        return vectors

    def encode_chunks(self, texts: list[str]) -> Iterator[tuple[list[int], np.ndarray]]:
        """Vectors for `texts` one forward pass at a time, by token count, shortest first.

        Yields (rows of `texts`, their vectors) per chunk of `question_chunk` texts at most;
        int8 runs each text of a chunk alone (see module docs).
        """
        if not texts:
            return
        encodings = self._tokenizer.encode_batch(texts)
        for rows in chunk_by_length([len(e.ids) for e in encodings], self.question_chunk):
            with self._lock:
                if self.precision == "int8":
                    vectors = np.concatenate([self._forward([encodings[row]]) for row in rows])
                else:
                    vectors = self._forward([encodings[row] for row in rows])
                self.texts_encoded += len(rows)
            yield rows, vectors

    def _forward(self, encodings: list[Any]) -> np.ndarray:
        """One forward pass over `encodings`, right-padded to the longest of them."""
        width = max(len(e.ids) for e in encodings)
        feeds = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in _INPUTS}
        for row, encoding in enumerate(encodings):
            length = len(encoding.ids)
            feeds["input_ids"][row, :length] = encoding.ids
            feeds["attention_mask"][row, :length] = encoding.attention_mask
            feeds["token_type_ids"][row, :length] = encoding.type_ids
        (tokens,) = self._session.run(None, {name: feeds[name] for name in self._inputs})
        return mean_pool_normalise(tokens, feeds["attention_mask"])

    @classmethod
    def from_cache(
        cls, cache_dir: Path, reference: Encoder, precision: Precision = "float32"
    ) -> OnnxEncoder:
        """The export of `reference`'s model from the cache, made (and checked) first if missing."""
        folder = export_folder(cache_dir, reference.name, precision)
        if (folder / META_FILE).is_file():
            try:
                encoder = cls(folder)
            except ModelLoadError as exc:  # damaged on disk: made again, like a damaged index
                log.warning("%s; exporting it again", exc)
                shutil.rmtree(folder, ignore_errors=True)
        if not (folder / META_FILE).is_file():
            known = _KNOWN_EXPORTS.get(folder.name)
            if known is not None and (known / META_FILE).is_file():
                _copy_export(known, folder)
            else:
                export(reference, folder, precision)
            encoder = cls(folder)
        _KNOWN_EXPORTS[folder.name] = folder
        log.info("questions encoded by the %s ONNX export in %s", precision, folder)
        return encoder


def _copy_export(known: Path, folder: Path) -> None:
    """Copy a checked export into another cache folder, whole or not at all."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        shutil.copytree(known, staging, dirs_exist_ok=True)
        _publish(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
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
    finally:
        shutil.rmtree(staging, ignore_errors=True)
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
    names = [n for n in _INPUTS if n in transformer.tokenizer.model_input_names]
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
