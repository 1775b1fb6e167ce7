"""The index on disk: round trip, rebuild when sources change, and corrupt caches survived."""

from __future__ import annotations

import json
import logging

import pytest

from index.retriever import Retriever
from index.search.store import MANIFEST, current_build


def _built(make_settings, encoder, **overrides) -> Retriever:
    return Retriever(make_settings(**overrides), encoder=encoder)


def test_round_trip_loads_without_re_embedding(make_settings, encoder):
    """A second start loads the saved index: same answers, and nothing is encoded again."""
    first = _built(make_settings, encoder)
    assert first.last_report.rebuilt
    question = "Why did Putin start the war?"
    expected = [(h.passage.id, h.score) for h in first.search(question).hits]
    before = encoder.texts_encoded
    second = _built(make_settings, encoder)
    assert encoder.texts_encoded == before  # loading embeds nothing
    assert second.passage_encoder.texts_encoded == 0
    assert not second.last_report.rebuilt
    assert [(h.passage.id, h.score) for h in second.search(question).hits] == expected


def test_manifest_describes_the_build(make_settings, encoder):
    """The manifest names the model, the per-source hashes and the passage table; no pickles."""
    retriever = _built(make_settings, encoder)
    folder = current_build(retriever.settings)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["model"] == {"name": "bundled:all-MiniLM-L6-v2", "dimension": 384}
    assert list(manifest["files"]) == ["putin-needs-xi.txt"]
    passages = manifest["sources"][0]["passages"]
    assert len(passages) == 18 and passages[10]["speaker"]["name"] == "Francis Lee-Saunders"
    assert not list(folder.rglob("*.pkl")) and not list(folder.rglob("*.pickle"))


def test_changed_source_rebuilds_only_what_changed(make_settings, encoder):
    """Editing one paragraph re-embeds only that paragraph's texts and reports the change."""
    settings = make_settings()
    retriever = Retriever(settings, encoder=encoder)
    article = settings.sources_dir / "putin-needs-xi.txt"
    article.write_text(
        article.read_text(encoding="utf-8").replace("banking on Iran", "relying on Iran"),
        encoding="utf-8",
    )
    before = retriever.passage_encoder.texts_encoded
    report = retriever.reload()
    assert report.changed == ("putin-needs-xi",)
    assert (report.paragraphs_added, report.paragraphs_removed) == (1, 1)
    # the paragraph and its one changed sentence
    assert retriever.passage_encoder.texts_encoded - before == 2 == report.texts_embedded
    assert (
        "relying on Iran" in retriever.search("Which country supplies drones?").hits[0].passage.text
    )


def test_added_and_removed_sources(make_settings, encoder):
    """A new file is searchable after reload; a removed one is gone."""
    settings = make_settings()
    retriever = Retriever(settings, encoder=encoder)
    extra = settings.sources_dir / "bakery.md"
    extra.write_text(
        "---\ntitle: Bakery wins\npublisher: Town News\n---\n\nThe Mill Street bakery won the national bread prize for its sourdough.\n",
        encoding="utf-8",
    )
    report = retriever.reload()
    assert report.added == ("bakery",)
    assert (
        retriever.search("Which bakery won the bread prize?").hits[0].passage.source_id == "bakery"
    )
    extra.unlink()
    assert retriever.reload().removed == ("bakery",)
    assert [s.id for s in retriever.sources] == ["putin-needs-xi"]


def test_model_change_rebuilds(make_settings, encoder, caplog):
    """An index built with another model is not trusted."""
    settings = make_settings()
    Retriever(settings, encoder=encoder)
    folder = current_build(settings)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["model"]["name"] = "some-other-model"
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level(logging.INFO):
        assert Retriever(settings, encoder=encoder).last_report.rebuilt
    assert "out of date" in caplog.text


def test_an_older_format_is_rebuilt_without_calling_it_corrupt(make_settings, encoder, caplog):
    """A build an older version wrote is rebuilt with one INFO line that says so: no warning, and
    no talk of corruption (the corrupt wording is for damage, below)."""
    settings = make_settings()
    Retriever(settings, encoder=encoder)
    folder = current_build(settings)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["format_version"] -= 1
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level(logging.INFO):
        assert Retriever(settings, encoder=encoder).last_report.rebuilt
    said = [r for r in caplog.records if "index cache" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in said] == [
        (logging.INFO, "index cache was built by an older version of Quotebot; rebuilding")
    ]
    assert "corrupt" not in caplog.text


@pytest.mark.parametrize(
    "damage",
    ["truncate_faiss", "garbage_manifest", "delete_vectors", "empty_current", "flip_bm25"],
)
def test_corrupt_cache_is_rebuilt_with_one_log_line(make_settings, encoder, caplog, damage):
    """Any damaged index file is detected at start, logged once, rebuilt; queries then work."""
    settings = make_settings()
    Retriever(settings, encoder=encoder)
    folder = current_build(settings)
    if damage == "truncate_faiss":
        path = folder / "paragraphs.faiss"
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage_manifest":
        (folder / MANIFEST).write_text('{"format_version": 2, "sour', encoding="utf-8")
    elif damage == "delete_vectors":
        (folder / "sentences.npy").unlink()
    elif damage == "empty_current":
        (settings.cache_dir / "index" / "CURRENT").write_text("", encoding="utf-8")
    else:
        target = next(p for p in (folder / "bm25_paragraphs").iterdir() if p.suffix == ".npy")
        data = bytearray(target.read_bytes())
        data[-1] ^= 0xFF
        target.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        retriever = Retriever(settings, encoder=encoder)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "corrupt" in warnings[0].getMessage()
    assert retriever.last_report.rebuilt
    assert retriever.search("Why did Putin start the war?").hits[0].passage.number == 17


@pytest.mark.parametrize(
    ("overrides", "kind"),
    [
        ({}, "IndexFlatIP"),
        ({"faiss_index": "hnsw"}, "IndexHNSWFlat"),
        ({"faiss_index": "auto", "hnsw_min_vectors": 10}, "IndexHNSWFlat"),
        ({"faiss_index": "flat", "hnsw_min_vectors": 10}, "IndexFlatIP"),
    ],
)
def test_faiss_index_type_by_size_or_config(make_settings, encoder, overrides, kind):
    """Exact search by default; HNSW past the configured size or when asked; answers unchanged."""
    retriever = _built(make_settings, encoder, **overrides)
    assert type(retriever.data.paragraph_index).__name__ == kind
    assert (
        retriever.search("Which country supplies Russia with drones?").hits[0].passage.number == 9
    )
    reloaded = _built(make_settings, encoder, **overrides)  # survives the round trip
    assert type(reloaded.data.paragraph_index).__name__ == kind


def test_a_cached_hnsw_index_searches_as_configured(make_settings, encoder):
    """efSearch is a search-time setting: a cached HNSW index takes the configured value."""
    built = _built(make_settings, encoder, faiss_index="hnsw", hnsw_ef_search=64)
    assert built.data.paragraph_index.hnsw.efSearch == 64
    cached = _built(make_settings, encoder, faiss_index="hnsw", hnsw_ef_search=300)
    assert not cached.last_report.rebuilt
    assert cached.data.paragraph_index.hnsw.efSearch == 300
    assert cached.data.sentence_index.hnsw.efSearch == 300
