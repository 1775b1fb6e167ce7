"""Rendering answers for Discord and the console: verbatim, marked, cited, within every limit."""

from __future__ import annotations

import re

import pytest

from bot.rendering.answers import quote_passage, render_answer
from bot.rendering.browsing import render_passage, render_source, render_sources_page
from bot.rendering.text import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    escape_user_text,
    to_text,
)
from bot.ui.embeds import to_embed
from index.ingest.text import strip_invisible
from index.models import Answer, Hit, Passage, Scores, Source, Speaker


def _passage(number: int, sentences: list[str], speaker: Speaker | None = None) -> Passage:
    return Passage(
        id=f"p{number}",
        source_id="src",
        number=number,
        text=" ".join(sentences),
        sentences=tuple(sentences),
        speaker=speaker,
        is_quote=speaker is not None,
    )


def _source(passages: tuple[Passage, ...] = (), url: str | None = None) -> Source:
    return Source("src", "The *Title*", "The Paper", url, None, None, "h", passages)


def _hit(passage: Passage, highlight: tuple[int, ...] = (0,)) -> Hit:
    return Hit(
        passage,
        0.1,
        " ".join(passage.sentences[i] for i in highlight),
        highlight,
        Scores(0.5, 0.5, 0.1, 0.4),
    )


def _answer(*hits: Hit, abstained: bool = False, query: str = "why?") -> Answer:
    return Answer(query, () if abstained else hits, abstained, 0.14, hits if abstained else ())


DALTON = Speaker(
    "David Dalton", "senior analyst at Dragonfly Intelligence", "Dragonfly Intelligence"
)


def test_best_passage_is_quoted_with_highlight_speaker_and_citation():
    """The answer quotes the paragraph, bolds the answering sentence, names speaker and source."""
    passage = _passage(4, ["“First part.", "Second part,” says Dalton."], DALTON)
    view = render_answer(_answer(_hit(passage, (1,))), {"src": _source()})
    lines = view.description.split("\n")
    assert lines[0] == "> “First part. **Second part,” says Dalton.**"
    assert lines[1] == "— David Dalton, Dragonfly Intelligence"
    assert lines[2] == r"¶4 · The \*Title\* — The Paper"


def test_citation_links_to_the_source_url():
    """When the source has a URL, the citation line links to it."""
    passage = _passage(1, ["Hello there."])
    view = render_answer(_answer(_hit(passage)), {"src": _source(url="https://example.org/a")})
    assert "](https://example.org/a)" in view.description


def test_next_passages_are_shorter_fields():
    """Further hits appear below, cut short around their highlight sentence."""
    best = _passage(1, ["Best answer."])
    other = _passage(7, ["Other answer here.", "Not shown " * 40 + "end."])
    view = render_answer(_answer(_hit(best), _hit(other)), {"src": _source()})
    assert view.fields == (("Also ¶7", "> Other answer here. …"),)


def test_abstention_says_so_and_quotes_nothing_as_an_answer():
    """Nothing answers: the message says so and lists nearest topics, no quote block."""
    near = [_passage(n, [f"Topic {n} sentence."]) for n in (3, 5, 8, 9)]
    view = render_answer(_answer(*[_hit(p) for p in near], abstained=True), {"src": _source()})
    assert view.description.startswith(r"Nothing in *The \*Title\** answers that.")
    assert view.description.count("• ¶") == 3
    assert "> " not in view.description


def test_long_paragraph_is_cut_at_sentence_boundaries_around_the_highlight():
    """A long paragraph keeps the highlight, cuts whole sentences, and points to the full text."""
    sentences = [f"Sentence number {i} has some words in it." for i in range(200)]
    passage = _passage(2, sentences)
    quote, truncated = quote_passage(passage, (150,), 600)
    assert truncated and len(quote) <= 600
    assert "**Sentence number 150 has some words in it.**" in quote
    assert quote.startswith("> … ") and quote.endswith(" …")
    body = quote[len("> … ") : -len(" …")].replace("**", "")
    assert all(s.startswith("Sentence number") for s in body.split(". "))  # whole sentences
    view = render_answer(_answer(_hit(passage, (150,))), {"src": _source()}, max_passage_chars=600)
    assert "/passage source:src number:2" in view.description


def test_one_huge_sentence_is_cut_at_a_word():
    """A single sentence over the budget is cut at a word boundary, bold markers balanced."""
    passage = _passage(1, ["word " * 2000 + "end."])
    quote, truncated = quote_passage(passage, (0,), 500)
    assert truncated and len(quote) <= 500
    assert quote.count("**") == 2 and quote.endswith("…**")
    assert "wor…" not in quote


@pytest.mark.parametrize("k", [1, 3, 10, 30])
def test_every_embed_fits_discord_limits(k):
    """However many and however long the passages, the embed stays inside Discord's limits."""
    long_sentences = ["Lorem ipsum dolor sit amet, " * 20 + "end." for _ in range(12)]
    hits = [_hit(_passage(i, long_sentences, DALTON), (i % 12,)) for i in range(1, k + 1)]
    view = render_answer(_answer(*hits, query="q" * 5000), {"src": _source()})
    embed = to_embed(view)
    assert len(embed) <= EMBED_TOTAL_LIMIT
    assert len(embed.description) <= DESCRIPTION_LIMIT
    assert len(embed.fields) <= 25
    assert all(len(f.value) <= FIELD_VALUE_LIMIT for f in embed.fields)
    assert len(embed.footer.text) <= 2048


def test_user_text_is_escaped_and_cannot_ping():
    """Echoed user text shows as written: no formatting, no mentions, no invisible characters."""
    text = escape_user_text("**bold** @everyone <@123> `code` \u200bhi", 200)
    assert "\\*\\*bold\\*\\*" in text
    assert "@everyone" not in text and "@\u200beveryone" in text
    assert "<@123>" not in text and "<\u200b@123>" in text
    assert "\\`code\\`" in text


# Discord markup with ids of any length: user, nickname, role, channel, command, emoji, timestamp.
MARKUP = ["<@1>", "<@!12>", "<@&123>", "<#1>", "</ask:1>", "<:x:1>", "<a:x:1>", "<t:1700000000>"]
MARKUP += ["<t:1700000000:R>", "<id:customize>", "<@123456789012345678>"]


@pytest.mark.parametrize("markup", MARKUP)
def test_discord_markup_in_quoted_text_is_never_rendered(markup):
    """Whatever the id's length, markup in an article's text shows as typed (a zero-width space
    after the `<`), in the quote, the further passages and the abstention's topics."""
    passage = _passage(1, [f"See {markup} here."])
    other = _passage(2, [f"And {markup} there."])
    answered = render_answer(_answer(_hit(passage), _hit(other)), {"src": _source()})
    abstained = render_answer(_answer(_hit(passage), abstained=True), {"src": _source()})
    for text in (answered.description, answered.fields[0][1], abstained.description):
        assert markup not in text and not re.search(r"<(?:[@#/:]|a:|t:|id:)", text), text
        assert markup.replace("\u200b", "") in text.replace("\u200b", "")  # reads the same


def test_arabic_letter_mark_is_stripped_with_the_other_bidi_controls():
    """U+061C reorders text like the other bidi controls: it never reaches Discord."""
    passage = _passage(1, ["Left\u061c to right \u202eand back."])
    view = render_answer(_answer(_hit(passage)), {"src": _source()})
    assert "\u061c" not in view.description and "\u202e" not in view.description


PHISH = "[Free Nitro](https://evil.example/phish)"


def test_source_metadata_cannot_add_a_link_or_a_mention():
    """A title, publisher, author and speaker holding a masked link and pings, and a URL holding
    markdown: every card shows them as text, and the only link is the citation's, percent-encoded."""
    passage = _passage(3, ["Plain words."], Speaker(f"{PHISH} <@&1>", f"of {PHISH}"))
    hostile = Source(
        "src",
        f"{PHISH} @everyone",
        f"{PHISH} <#1>",
        "https://ok.example/a)[Free Nitro](https://evil.example/phish",
        f"{PHISH} <t:1>",
        None,
        "h",
        (passage,),
    )
    other = Source("two", "Two", None, None, None, None, "h", ())
    sources = {"src": hostile, "two": other}
    cards = [
        render_answer(_answer(_hit(passage), _hit(passage)), sources),
        render_passage(passage, hostile),
        render_source(hostile),
        render_sources_page([hostile, other], "2026-01-01T00:00:00"),
    ]
    for card in cards:
        shown = [card.title or "", card.description, *(n + "\n" + v for n, v in card.fields)]
        for text in shown:
            links = re.findall(r"(?<!\\)\[[^\[\]]*\]\(([^)]*)\)", text)
            assert all(
                url == "https://ok.example/a%29%5BFree%20Nitro%5D%28https://evil.example/phish"
                for url in links
            ), text
            assert "@everyone" not in text and not re.search(r"<[@#/:t]", text), text
    assert render_source(hostile).url == (
        "https://ok.example/a%29%5BFree%20Nitro%5D%28https://evil.example/phish"
    )
    assert "](" in cards[0].description  # the citation does link


def test_question_in_footer_is_shortened_and_plain():
    """A 5000-character question is shortened in the footer, which Discord never formats."""
    view = render_answer(_answer(_hit(_passage(1, ["A."])), query="x " * 2500), {"src": _source()})
    assert view.footer is not None and len(view.footer) < 300


def test_console_text_is_the_same_words_without_escapes():
    """The console shows the same content, with markdown escapes removed."""
    passage = _passage(4, ["It costs 5*3 dollars_ok."])
    text = to_text(render_answer(_answer(_hit(passage)), {"src": _source()}))
    assert "**It costs 5*3 dollars_ok.**" in text
    assert "¶4 · The *Title* — The Paper" in text


def test_passage_view_and_sources_pages():
    """`/passage` quotes the whole paragraph; `/sources` pages past ten sources."""
    passage = _passage(11, ["“Russia does face strained ties.”"], Speaker("Francis Lee-Saunders"))
    view = render_passage(passage, _source())
    assert view.description.startswith("> “Russia does face strained ties.”")
    assert "— Francis Lee-Saunders" in view.description
    many = [
        Source(f"s{i}", f"Title {i}", "Pub", None, None, None, "h", (passage,)) for i in range(23)
    ]
    first = render_sources_page(many, "2026-01-01T00:00:00", 1, 10)
    last = render_sources_page(many, "2026-01-01T00:00:00", 3, 10)
    assert len(first.fields) == 10 and first.footer == "Page 1 of 3"
    assert len(last.fields) == 3 and last.fields[0][0] == "Title 20"


def test_rendering_strips_nul_and_control_characters():
    """NUL bytes and control characters in a passage never reach Discord."""
    passage = _passage(1, ["Bad\x00 text\x07 here."])
    view = render_answer(_answer(_hit(passage)), {"src": _source()})
    assert view.description == strip_invisible(view.description)


def test_citation_links_to_the_highlighted_sentence():
    """With a source URL, the citation opens the page at the answering sentence (text fragment);
    in the console the link reads as text <url>."""
    passage = _passage(2, ["Short.", "The second sentence answers the question asked here."])
    source = _source((passage,), url="https://news.example/a")
    view = render_answer(_answer(_hit(passage, (1,))), {"src": source})
    link = "https://news.example/a#:~:text=The%20second%20sentence%20answers%20the%20question%20asked%20here."
    assert f"]({link})" in view.description
    assert f"¶2 · The *Title* — The Paper <{link}>" in to_text(view)


def test_follow_up_says_what_it_follows():
    """An answer searched as a follow-up names the previous question, escaped, on its first line."""
    passage = _passage(1, ["Something said."])
    view = render_answer(
        _answer(_hit(passage)), {"src": _source((passage,))}, following="Who is *Dalton*?"
    )
    assert view.description.split("\n")[0] == r"-# (following up on: Who is \*Dalton\*?)"
    abstention = render_answer(
        _answer(_hit(passage), abstained=True), {"src": _source((passage,))}, following="Who?"
    )
    assert abstention.description.startswith("-# (following up on: Who?)\nNothing in")
    assert "quoted verbatim" not in (abstention.footer or "")
