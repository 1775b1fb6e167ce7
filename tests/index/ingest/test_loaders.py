"""Ingestion: what a source becomes after cleaning, numbering, splitting and attribution."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.errors import SourceLoadError
from index.ingest.loaders import load_source, load_sources, passage_id
from tests.conftest import SOURCES

DATA = Path(__file__).parent / "data"
SEED = SOURCES / "putin-needs-xi.txt"


@pytest.fixture(scope="module")
def seed():
    return load_source(SEED)


def test_bundled_article_is_the_raw_scrape(seed):
    """The bundled source keeps the scraping junk; cleaning happens at ingestion."""
    raw = SEED.read_text(encoding="utf-8")
    assert "Source by [author_name]" in raw and "Back to top button" in raw
    texts = [p.text for p in seed.passages]
    assert not any(
        "author_name" in t or "Back to top" in t or "Related Articles" in t for t in texts
    )


def test_seed_metadata_and_title_is_not_paragraph_one(seed):
    """The title line is the title, and paragraph 1 is the first line of prose."""
    assert seed.id == "putin-needs-xi"
    assert seed.title == "Why Vladimir Putin needs Xi Jinping now more than ever"
    assert seed.publisher == "The Independent"
    assert seed.url is None and seed.author is None
    assert seed.passages[0].text.startswith("In the last minutes of their meeting in Moscow")


def test_seed_has_eighteen_numbered_paragraphs(seed):
    """Paragraphs are numbered 1..18 in reading order."""
    assert [p.number for p in seed.passages] == list(range(1, 19))
    assert seed.passages[-1].text.startswith("“This will drive his friendship with China")


@pytest.mark.parametrize(
    ("number", "speaker"),
    [
        (4, "David Dalton"),
        (6, "David Dalton"),
        (8, "Francis Lee-Saunders"),
        (10, "Francis Lee-Saunders"),
        (11, "Francis Lee-Saunders"),
        (13, "Barbara Keleman"),
        (15, "Barbara Keleman"),
        (17, "David Dalton"),
        (18, "David Dalton"),
    ],
)
def test_seed_quotes_carry_their_speaker(seed, number, speaker):
    """Every quoted paragraph names who said it, resolved across paragraphs."""
    passage = seed.passages[number - 1]
    assert passage.is_quote
    assert passage.speaker is not None and passage.speaker.name == speaker


def test_seed_narration_has_no_speaker(seed):
    """Paragraphs that are not quotes carry no speaker: nothing is guessed."""
    quotes = {4, 6, 8, 10, 11, 13, 15, 17, 18}
    for passage in seed.passages:
        if passage.number not in quotes:
            assert not passage.is_quote and passage.speaker is None, passage.number


def test_seed_speaker_roles(seed):
    """Full roles come from the article's own words, and the label shows the organisation."""
    dalton = seed.passages[3].speaker
    assert (
        dalton.role == "senior analyst specialising in Europe and Eurasia at Dragonfly Intelligence"
    )
    assert dalton.label == "David Dalton, Dragonfly Intelligence"
    assert seed.passages[12].speaker.label == "Barbara Keleman, senior Asia associate"


def test_sentences_keep_curly_quotes_and_every_word(seed):
    """Sentence splitting keeps closing quotes attached and loses no character."""
    p13 = seed.passages[12]
    assert len(p13.sentences) == 4
    assert p13.sentences[0].startswith("“The relationship right before the invasion")
    assert p13.sentences[1] == "This has all changed after the invasion."
    for passage in seed.passages:
        assert "".join(passage.sentences).replace(" ", "") == passage.text.replace(" ", "")


def test_ids_are_stable_and_local_to_a_paragraph(tmp_path):
    """Re-ingesting keeps every id; editing one paragraph changes only that paragraph's id."""
    copy = tmp_path / "putin-needs-xi.txt"
    copy.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "putin-needs-xi.toml").write_text((SOURCES / "putin-needs-xi.toml").read_text())
    before = [p.id for p in load_source(copy).passages]
    assert before == [p.id for p in load_source(copy).passages]
    assert len(set(before)) == 18
    copy.write_text(
        SEED.read_text(encoding="utf-8").replace("banking on Iran", "relying on Iran"),
        encoding="utf-8",
    )
    after = [p.id for p in load_source(copy).passages]
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True), 1) if a != b]
    assert changed == [9]
    assert passage_id("putin-needs-xi", load_source(copy).passages[0].text) == after[0]


def test_messy_article_is_cleaned():
    """A made-up scrape: share bars, template bylines, ads, duplicates and related links go."""
    source = load_source(DATA / "messy.txt")
    assert source.title == "Local Bakery Wins National Prize"
    texts = [p.text for p in source.passages]
    assert texts == [
        "The small bakery on Mill Street has won the national bread prize, beating more than two hundred entries from across the country.",
        "“We never expected this,” says Maria Gomez, head baker at Crust & Crumb. “Our sourdough takes three days to make.”",
        "Gomez adds that the prize money will pay for a second oven.",
        "“It is a dream come true.”",
    ]
    assert source.passages[1].speaker.name == "Maria Gomez"
    assert (
        source.passages[3].speaker is None
    )  # follows narration, not a quote: unknown stays unknown


def test_markdown_front_matter_and_headings():
    """Front matter gives the metadata; headings and list junk are not paragraphs."""
    source = load_source(DATA / "interview.md")
    assert (source.title, source.publisher, source.author) == (
        "A chat with the harbour master",
        "Coast Weekly",
        "Sam Lee",
    )
    assert source.url == "https://example.org/harbour"
    assert [p.text[:20] for p in source.passages] == [
        "The harbour opened i",
        "“We had boats queuei",
    ]
    assert "**" not in source.passages[0].text
    assert source.passages[1].speaker.name == "Tom Reid"


def test_html_main_text_is_extracted():
    """HTML: the article body only, with the page's title and site name."""
    source = load_source(DATA / "page.html")
    texts = [p.text for p in source.passages]
    assert len(texts) == 3 and texts[0].startswith("The island's volcano erupted")
    assert not any("Subscribe" in t or "Copyright" in t for t in texts)
    assert source.publisher == "Island Times"
    assert source.passages[1].speaker.name == "Pedro Alves"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "no paragraphs"),
        ("junk.txt", b"Related Articles\n\nBack to top button\n", "no paragraphs"),
        ("latin1.txt", "caf\u00e9 au lait".encode("latin-1"), "not UTF-8"),
        ("open.md", b"---\ntitle: x\nno closing fence\n", "never closed"),
        ("data.pdf", b"%PDF-1.4", "unsupported file type"),
    ],
)
def test_unusable_sources_say_how_to_fix(tmp_path, name, content, message):
    """A bad file gives a one-line error that says what to do, never a traceback."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceLoadError, match=message):
        load_source(path)


def test_missing_and_empty_sources_folder(tmp_path):
    """A missing or empty sources folder is a clear error."""
    with pytest.raises(SourceLoadError, match="does not exist"):
        load_sources(tmp_path / "nope")
    with pytest.raises(SourceLoadError, match="no sources"):
        load_sources(tmp_path)
