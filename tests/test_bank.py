"""The question bank in eval/ is sound: every gold phrase is in exactly the paragraph it names
(or one of the few it lists under "also", where the article says the same thing twice)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.ingest.loaders import load_sources
from index.ingest.text import normalise_for_match
from index.training import ANSWERABLE_KINDS, BANK_FILES, load_bank
from tests.conftest import EVAL, SOURCES


def _lines(name: str) -> list[dict]:
    text = (EVAL / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def paragraphs() -> dict[int, str]:
    (source,) = load_sources(SOURCES)
    return {p.number: normalise_for_match(p.text) for p in source.passages}


def test_every_gold_phrase_is_in_exactly_its_paragraph(paragraphs):
    for item in _lines("bank-answerable.jsonl"):
        assert item["kind"] in ANSWERABLE_KINDS, item
        allowed = {item["paragraph"], *item.get("also", ())}
        found_in_own = False
        for gold in item["gold"]:
            holders = {n for n, text in paragraphs.items() if normalise_for_match(gold) in text}
            assert holders and holders <= allowed, (item["q"], gold, holders)
            found_in_own |= item["paragraph"] in holders
        assert found_in_own, item["q"]


def test_near_miss_words_are_not_in_the_article(paragraphs):
    """What a near-miss question asks about really is absent (else it would be answerable)."""
    article = " ".join(paragraphs.values())
    for item in _lines("bank-nearmiss.jsonl"):
        for word in item["missing"]:
            assert f" {normalise_for_match(word)} " not in f" {article} ", (item["q"], word)


def test_the_bank_loads_with_its_kinds_and_groups(tmp_path: Path):
    bank = load_bank(EVAL)
    kinds = {q.kind for q in bank}
    assert kinds == {*ANSWERABLE_KINDS, "near-miss", "off-topic"}
    assert sum(q.kind in ANSWERABLE_KINDS for q in bank) >= 200
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in BANK_FILES:
        (broken / name).write_text('{"q": "fine"}\nnot json\n', encoding="utf-8")
    with pytest.raises(Exception, match=r"bank-answerable.jsonl:2 is not a JSON object"):
        load_bank(broken)
