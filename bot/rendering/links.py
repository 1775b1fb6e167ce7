"""Links that open a source scrolled to one sentence: URL text fragments (`#:~:text=`).

Browsers that support the syntax (https://wicg.github.io/scroll-to-text-fragment/) find the first
place in the page where `textStart` occurs as whole words and, with a `textEnd`, the first
occurrence of `textEnd` after it; the range between is highlighted. Matching ignores case and
collapses whitespace. A link is only useful if that first match is the quoted sentence, so every
link is checked against the source's own text with the same rules (`resolve`), and the plain URL
is kept when the sentence is too short or too common to be found unambiguously.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote

from index.models import Passage, Source

# Discord's shortest URL limit among the places a link can go (a link button: 512; an embed URL:
# 2048). Fragment links are far shorter in practice: long sentences are selected by their ends.
MAX_LINK_CHARS = 512
# Below this many words a sentence is too short to be worth pinpointing (and rarely unique).
MIN_WORDS = 4
# A sentence up to this many words is quoted whole; longer ones as `start,end` words.
WHOLE_SENTENCE_WORDS = 10
FIRST_EDGE_WORDS = 3

_SPACES = re.compile(r"\s+")


def encode_term(text: str) -> str:
    """Percent-encode one fragment term: `-`, `,` and `&` are syntax there and must be escaped."""
    # quote() leaves `-` alone (it is unreserved in URLs), but the fragment grammar uses it for
    # prefix-/-suffix, so it is escaped by hand.
    return quote(text, safe="").replace("-", "%2D")


@dataclass(frozen=True, slots=True)
class TextFragment:
    """`textStart` and an optional `textEnd`, unencoded."""

    start: str
    end: str | None = None

    def directive(self) -> str:
        terms = [self.start] if self.end is None else [self.start, self.end]
        return "text=" + ",".join(encode_term(t) for t in terms)

    @classmethod
    def parse(cls, directive: str) -> TextFragment:
        """The inverse of `directive` (no prefix-/-suffix: this module never writes them)."""
        if not directive.startswith("text="):
            raise ValueError(f"{directive!r} is not a text directive: it must start with text=")
        terms = [unquote(t) for t in directive[len("text=") :].split(",")]
        if not 1 <= len(terms) <= 2 or not all(terms):
            raise ValueError(f"{directive!r} must hold one or two non-empty terms")
        return cls(terms[0], terms[1] if len(terms) == 2 else None)


def _fold(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


def _word_matches(haystack: str, needle: str, start: int = 0) -> Iterator[int]:
    """Positions where `needle` occurs in `haystack` from `start` on, bounded by non-word chars.

    Lazy, because callers need at most the first one or two: on repetitive text a full list costs
    quadratic time for nothing."""
    position = haystack.find(needle, start)
    while position >= 0:
        before = haystack[position - 1] if position > 0 else " "
        end = position + len(needle)
        after = haystack[end] if end < len(haystack) else " "
        if not before.isalnum() and not after.isalnum():
            yield position
        position = haystack.find(needle, position + 1)


def _resolve_folded(text: str, fragment: TextFragment) -> str | None:
    start = _fold(fragment.start)
    # Only the first start counts: when no end follows it, none follows a later start either.
    position = next(_word_matches(text, start), None)
    if position is None:
        return None
    if fragment.end is None:
        return text[position : position + len(start)]
    end = _fold(fragment.end)
    after = next(_word_matches(text, end, position + len(start)), None)
    if after is None:
        return None
    return text[position : after + len(end)]


def resolve(document: str, fragment: TextFragment) -> str | None:
    """What a browser highlights for `fragment` in `document`, folded, or None."""
    return _resolve_folded(_fold(document), fragment)


def _fragment_for_folded(sentence: str, text: str) -> TextFragment | None:
    words = sentence.split()
    if len(words) < MIN_WORDS:
        return None
    wanted = _fold(sentence)
    if len(list(itertools.islice(_word_matches(text, wanted), 2))) != 1:
        return None  # the sentence itself repeats (or is not in the document as whole words)
    candidates = [TextFragment(" ".join(words))] if len(words) <= WHOLE_SENTENCE_WORDS else []
    # Grow both edges together until the first match is this sentence; edges never overlap.
    for n in range(FIRST_EDGE_WORDS, len(words) // 2 + 1):
        candidates.append(TextFragment(" ".join(words[:n]), " ".join(words[-n:])))
    for fragment in candidates:
        if _resolve_folded(text, fragment) == wanted:
            return fragment
    return None


def fragment_for(sentence: str, document: str) -> TextFragment | None:
    """The shortest fragment whose first match in `document` is exactly `sentence`, if any."""
    return _fragment_for_folded(sentence, _fold(document))


def _link(url: str, fragment: TextFragment | None) -> str:
    if fragment is None:
        return url
    # A URL that already has a fragment keeps it: the directive follows `:~:` inside it.
    link = url + (":~:" if "#" in url else "#:~:") + fragment.directive()
    return link if len(link) <= MAX_LINK_CHARS else url


def link_to_sentence(url: str, sentence: str, document: str) -> str:
    """`url` opening scrolled to `sentence`; `url` itself when no short unambiguous link exists."""
    return _link(url, fragment_for(sentence, document))


_FOLDED_SOURCES: dict[tuple[str, str, int], str] = {}
_FOLDED_SOURCES_MAX = 64


def _folded_source(source: Source) -> str:
    """Every paragraph of a source, as the page shows them, folded; made once per version of a
    source, so answers quoting it never fold it again (hashing its paragraphs is far cheaper)."""
    key = (source.id, source.content_hash, hash(source.passages))
    text = _FOLDED_SOURCES.get(key)
    if text is None:
        if len(_FOLDED_SOURCES) >= _FOLDED_SOURCES_MAX:
            _FOLDED_SOURCES.clear()
        text = _FOLDED_SOURCES[key] = _fold("\n\n".join(p.text for p in source.passages))
    return text


def sentence_link(url: str, source: Source, passage: Passage, sentence_index: int) -> str:
    """`url` (the source's, made safe for a link) opening at one sentence of a passage of
    `source`; `url` itself when that sentence cannot be pinpointed."""
    if not 0 <= sentence_index < len(passage.sentences):
        return url
    return _link(
        url, _fragment_for_folded(passage.sentences[sentence_index], _folded_source(source))
    )
