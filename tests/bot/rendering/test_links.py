"""Links to the exact quoted sentence: text fragments a browser resolves to that sentence only."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from bot.rendering.links import (
    MAX_LINK_CHARS,
    TextFragment,
    encode_term,
    link_to_sentence,
    resolve,
    sentence_link,
)
from index.models import Passage, Source

URL = "https://news.example/world/article"
DOCUMENT = (
    "The talks ended late. Officials said the ministers met twice, first in Geneva and then, "
    "after a short break, in a hotel near the lake where the second round of talks - the "
    "decisive one - went on past midnight & into the next morning.\n\n"
    "The talks ended late. “We are not alone,” the analyst said, adding that trade with "
    "non-European countries, Armenia & Kazakhstan among them, continues.\n\n"
    "Prices rose. Prices rose again in May, the report says."
)


def fragment_of(link: str) -> TextFragment:
    return TextFragment.parse(link.split(":~:", 1)[1])


@pytest.mark.parametrize(
    ("term", "encoded"),
    [
        ("non-European", "non%2DEuropean"),
        ("Armenia & Kazakhstan", "Armenia%20%26%20Kazakhstan"),
        ("first, then", "first%2C%20then"),
        ("“We are", "%E2%80%9CWe%20are"),
        ("50% more", "50%25%20more"),
    ],
)
def test_terms_escape_the_fragment_syntax(term, encoded):
    """`-`, `,` and `&` are percent-encoded (they are fragment syntax), as is everything unsafe."""
    assert encode_term(term) == encoded
    assert unquote(encoded) == term


@pytest.mark.parametrize(
    "sentence",
    [
        "“We are not alone,” the analyst said, adding that trade with non-European countries, "
        "Armenia & Kazakhstan among them, continues.",
        "Officials said the ministers met twice, first in Geneva and then, after a short break, "
        "in a hotel near the lake where the second round of talks - the decisive one - went on "
        "past midnight & into the next morning.",
        "Prices rose again in May, the report says.",
    ],
)
def test_link_round_trips_to_exactly_the_sentence(sentence):
    """What a browser would highlight for the link is the quoted sentence, nothing more or less."""
    link = link_to_sentence(URL, sentence, DOCUMENT)
    assert link.startswith(URL + "#:~:text=")
    directive = link.split(":~:", 1)[1]
    assert not {"&", " "} & set(directive[len("text=") :])  # only commas separate terms
    assert resolve(DOCUMENT, fragment_of(link)) == " ".join(sentence.split()).casefold()


def test_long_sentences_are_linked_by_their_ends():
    """A long sentence becomes `start,end`, short enough for Discord's link limits."""
    sentence = DOCUMENT.split("\n\n")[0].split(". ", 1)[1]
    link = link_to_sentence(URL, sentence, DOCUMENT)
    fragment = fragment_of(link)
    assert fragment.end is not None
    assert len(link) <= MAX_LINK_CHARS


@pytest.mark.parametrize(
    "sentence",
    [
        "The talks ended late.",  # occurs twice: a browser would stop at the first one
        "Prices rose.",  # too short to pinpoint
        "Not in the document at all, this sentence.",
    ],
)
def test_ambiguous_or_short_sentences_keep_the_plain_url(sentence):
    """When the sentence is not unique (or too short), the link is the source URL unchanged."""
    assert link_to_sentence(URL, sentence, DOCUMENT) == URL


def test_a_start_that_occurs_earlier_is_extended_until_unique():
    """The start words are grown until the first match in the page is the quoted sentence."""
    document = (
        "The minister said that the deal was done. Later that week, the minister said that "
        "the deal was off after all, because the other side had walked away from the table."
    )
    sentence = document.split(". ", 1)[1]
    fragment = fragment_of(link_to_sentence(URL, sentence, document))
    assert not "the minister said that the deal".startswith(fragment.start.casefold())
    assert resolve(document, fragment) == sentence.casefold()


def test_existing_fragment_is_kept():
    """A source URL with its own #fragment gets the directive after `:~:`."""
    link = link_to_sentence(URL + "#top", "Prices rose again in May, the report says.", DOCUMENT)
    assert link.startswith(URL + "#top:~:text=")


def test_sentence_link_uses_the_sources_text():
    """A sentence of a passage links by its fragment; a short one, or no sentence, plainly."""
    sentences = ("Short one.", "This sentence is long enough to be found on the page.")
    passage = Passage("s:1", "s", 1, " ".join(sentences), sentences)
    source = Source("s", "Title", None, URL, None, None, "hash", (passage,))
    link = sentence_link(URL, source, passage, 1)
    assert link.startswith(URL + "#:~:text=")
    assert resolve(passage.text, fragment_of(link)) == sentences[1].casefold()
    assert sentence_link(URL, source, passage, 0) == URL
    assert sentence_link(URL, source, passage, 7) == URL
