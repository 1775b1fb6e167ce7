"""The onnx query backend: the int8 export agrees with torch, and a cached start needs no torch."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.config import PROJECT_ROOT
from index.embedding import Encoder
from index.retriever import Retriever

pytest.importorskip("onnxruntime")

from index.onnx_backend import OnnxEncoder, export, export_folder

SENTENCES = [
    "Which country supplies Russia with drones?",
    "Why did Putin start the war?",
    "Who is David Dalton?",
    "The Mill Street bakery won the national bread prize for its sourdough.",
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    """A cache folder holding the int8 export of the bundled model, made once for this module."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    export(encoder, export_folder(cache, encoder.name))
    return cache / "onnx"


def test_onnx_vectors_match_torch_vectors(onnx_cache, encoder):
    """The int8 ONNX export encodes like the torch reference: cosine above 0.99 on each sentence."""
    onnx = OnnxEncoder.from_cache(onnx_cache.parent, encoder)
    cosines = (onnx.encode(SENTENCES) * encoder.encode(SENTENCES)).sum(axis=1)
    assert onnx.dimension == encoder.dimension == 384
    assert cosines.min() > 0.99, cosines


def test_a_question_gets_the_same_vector_whoever_else_asks(onnx_cache, encoder):
    """A question's vector does not depend on the other questions encoded with it."""
    onnx = OnnxEncoder.from_cache(onnx_cache.parent, encoder)
    alone = onnx.encode([SENTENCES[0]])
    together = onnx.encode([SENTENCES[3], SENTENCES[0], "Why?"])
    assert np.array_equal(alone[0], together[1])


def test_cached_onnx_start_loads_no_torch_and_encodes_nothing(onnx_cache, make_settings, encoder):
    """With the index and the export cached, an onnx start embeds nothing and never imports torch."""
    settings = make_settings(backend="onnx")
    shutil.copytree(onnx_cache, settings.cache_dir / "onnx")
    first = Retriever(settings, encoder=encoder)  # builds the index with the torch reference
    assert first.last_report.rebuilt
    question = "Which country supplies Russia with drones?"
    expected = first.search(question).hits[0].passage.id

    again = Retriever(settings)
    assert not again.last_report.rebuilt
    assert not again.encoder.loaded and again.encoder.texts_encoded == 0
    assert again.query_encoder.texts_encoded == 0
    assert again.search(question).hits[0].passage.id == expected

    script = (
        "import sys\n"
        "from index.config import IndexSettings\n"
        "from index.retriever import Retriever\n"
        f"r = Retriever(IndexSettings(sources_dir={str(settings.sources_dir)!r}, "
        f"cache_dir={str(settings.cache_dir)!r}, backend='onnx'))\n"
        f"print(r.search({question!r}).hits[0].passage.id, 'torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [expected, "False"]
