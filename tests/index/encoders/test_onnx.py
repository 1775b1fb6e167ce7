"""The onnx query backends: exports agree with torch, and a cached start needs no torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.config import BUNDLED_MODEL, PROJECT_ROOT
from index.encoders.base import resolve_model_path
from index.encoders.torch import Encoder
from index.retriever import Retriever
from index.search.late import TokenRows

pytest.importorskip("onnxruntime")

from index.encoders.onnx_export import cached_encoder, export, export_folder

SENTENCES = [
    "Which country supplies Russia with drones?",
    "Why did Putin start the war?",
    "Who is David Dalton?",
    "The Mill Street bakery won the national bread prize for its sourdough.",
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    """A cache folder holding both exports of the bundled model, made once for this module."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    for precision in ("float32", "int8"):
        export(encoder, export_folder(cache, encoder.name, precision), precision)
    return cache / "onnx"


@pytest.mark.parametrize(("precision", "least_cosine"), [("float32", 0.9999), ("int8", 0.99)])
def test_onnx_vectors_match_torch_vectors(onnx_cache, encoder, precision, least_cosine):
    """Float32 ONNX encodes as the torch reference does; int8 within cosine 0.99 of it."""
    onnx = cached_encoder(onnx_cache.parent, encoder, precision)
    cosines = (onnx.encode(SENTENCES) * encoder.encode(SENTENCES)).sum(axis=1)
    assert onnx.dimension == encoder.dimension == 384
    assert cosines.min() > least_cosine, cosines


def test_float32_onnx_token_vectors_match_torch_and_store_the_same_int8(
    onnx_cache, encoder, retriever
):
    """Paragraphs' token vectors (late interaction) from the ONNX pass that also pools them agree
    with torch's token by token, and quantise to the int8 values torch's do, give or take one
    step."""
    onnx = cached_encoder(onnx_cache.parent, encoder, "float32")
    paragraphs = [p.text for p in retriever.data.passages]

    def by_text(chunks):
        return {
            paragraphs[r]: t
            for rows, _, tokens in chunks
            for r, t in zip(rows, tokens, strict=True)
        }

    mine, reference = (
        by_text(onnx.encode_chunks(paragraphs, 64)),
        by_text(encoder.encode_chunks(paragraphs, 64)),
    )
    for text in paragraphs:
        ours, theirs = mine[text], reference[text]
        assert np.array_equal(ours.ids, theirs.ids)
        assert (ours.vectors * theirs.vectors).sum(axis=1).min() >= 0.9999
        steps = TokenRows.quantise(ours.vectors, ours.ids).vectors.astype(int) - (
            TokenRows.quantise(theirs.vectors, theirs.ids).vectors.astype(int)
        )
        assert np.abs(steps).max() <= 1


def test_an_int8_question_gets_the_same_vector_whoever_else_asks(onnx_cache, encoder):
    """Int8 vectors do not depend on the other questions encoded with them (no shared scales)."""
    onnx = cached_encoder(onnx_cache.parent, encoder, "int8")
    alone = onnx.encode([SENTENCES[0]])
    together = onnx.encode([SENTENCES[3], SENTENCES[0], "Why?"])
    assert np.array_equal(alone[0], together[1])


def test_a_float32_burst_gets_each_question_its_own_answer(onnx_cache, encoder, retriever):
    """Questions batched in length-sorted chunks get the vectors (and answers) they get alone."""
    onnx = cached_encoder(onnx_cache.parent, encoder, "float32")
    questions = [*SENTENCES, "Why?", "What do Xi and Putin want from each other, in the long run?"]
    burst = [questions[i % len(questions)] for i in range(40)]  # several chunks, mixed lengths
    together = onnx.encode(burst)
    alone = np.stack([onnx.encode([q])[0] for q in burst])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert [a.hits[0].passage.id if a.hits else None for a in retriever.search_many(burst)] == [
        a.hits[0].passage.id if a.hits else None for a in (retriever.search(q) for q in burst)
    ]


def test_a_second_cache_folder_copies_the_export_instead_of_redoing_it(
    onnx_cache, encoder, tmp_path, monkeypatch
):
    """Another index (a second cache folder) reuses the export this process already checked."""
    first = cached_encoder(onnx_cache.parent, encoder, "float32")

    def no_export(*args: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr("index.encoders.onnx_export.export", no_export)
    second = cached_encoder(tmp_path / "other-cache", encoder, "float32")
    assert second.folder != first.folder and second.folder.is_relative_to(tmp_path)
    assert np.array_equal(second.encode(SENTENCES), first.encode(SENTENCES))


def test_cached_onnx_start_loads_no_torch_and_encodes_nothing(onnx_cache, make_settings, encoder):
    """With the index and the export cached, the default start embeds nothing, imports no torch."""
    settings = make_settings()
    assert settings.backend == "onnx"
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
        f"cache_dir={str(settings.cache_dir)!r}))\n"
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


def test_a_damaged_export_is_made_again(onnx_cache, encoder, tmp_path, caplog):
    """A truncated model file in the cache costs one warning and a new export, not a crash."""
    good = cached_encoder(onnx_cache.parent, encoder, "float32")
    cache = tmp_path / "cache"
    shutil.copytree(good.folder, export_folder(cache, encoder.name, "float32"))
    damaged = export_folder(cache, encoder.name, "float32") / "model.onnx"
    damaged.write_bytes(damaged.read_bytes()[:1000])

    again = cached_encoder(cache, encoder, "float32")
    assert np.allclose(again.encode(SENTENCES), good.encode(SENTENCES), atol=1e-6)
    assert "exporting it again" in caplog.text


def test_a_model_onnx_cannot_take_is_encoded_by_torch(make_settings, tmp_path, caplog):
    """Any sentence-transformers model works: one the export cannot take (CLS pooling here) is
    encoded by torch, with a warning that says so."""
    model = tmp_path / "cls-model"
    shutil.copytree(resolve_model_path(BUNDLED_MODEL), model)
    pooling = json.loads((model / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_cls_token=True, pooling_mode_mean_tokens=False)
    (model / "1_Pooling" / "config.json").write_text(json.dumps(pooling))

    retriever = Retriever(make_settings(model=str(model)))
    assert isinstance(retriever.query_encoder, Encoder)
    assert retriever.search("Which country supplies Russia with drones?").hits
    assert "questions are encoded by torch instead" in caplog.text
