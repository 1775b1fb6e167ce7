"""Who said each quoted paragraph, from what the article itself says.

News copy names a speaker once in full ("says David Dalton, senior analyst ... at Dragonfly
Intelligence"), then by surname ("Dalton explains"), by description ("the analyst tells") or not at
all (a paragraph that only continues the quote). The resolver keeps the people met so far in
reading order and resolves each short form to the latest person it fits. What the text does not
support stays unknown: no name is ever invented.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from index.models import Speaker

log = logging.getLogger(__name__)

_OPEN_QUOTES = '“"«„'
_CLOSE_QUOTE = r"[”\"»]"
_NAME_TOKEN = r"(?:[A-Z][a-zà-ÿ'’]+(?:-[A-Z][a-zà-ÿ'’]+)*|[A-Z]\.)"
_NAME = rf"{_NAME_TOKEN}(?:\s+(?:{_NAME_TOKEN}|de|van|von|bin|al|da|del|der|la|le)){{0,3}}"
# Verbs of saying. "tells" and "told" take an object ("tells The Independent"), so they may follow
# a speaker but never introduce one after them.
_SAY_BEFORE = r"says|said|explains|explained|adds|added|notes|noted|argues|argued|writes|wrote|continues|continued|warns|warned|insists|insisted|believes|claims|claimed|suggests|suggested|according\s+to"
_SAY_AFTER = _SAY_BEFORE + r"|tells|told|thinks|concludes|concluded"
_ROLE = r"[^.;“”\"]+?"

# `says David Dalton, senior analyst ... at Dragonfly Intelligence.`
_VERB_THEN_NAME = re.compile(
    rf"\b(?:{_SAY_BEFORE})\s+(?P<name>{_NAME})(?:,\s+(?P<role>{_ROLE}))?(?=[.,;]|$)"
)
# `Francis Lee-Saunders, another analyst from Dragonfly ..., says` / `Dalton explains`
_NAME_THEN_VERB = re.compile(rf"(?P<name>{_NAME})(?:,\s+(?P<role>{_ROLE}),)?\s+(?:{_SAY_AFTER})\b")
# `the analyst tells` / `the former minister said`
_DESCRIPTION_THEN_VERB = re.compile(
    rf"\b[Tt]he\s+(?P<noun>(?:[a-z-]+\s+){{0,2}}[a-z-]+)\s+(?:{_SAY_AFTER})\b"
)
_PRONOUN_THEN_VERB = re.compile(rf"(?<![A-Za-z])(?:he|she|He|She)\s+(?:{_SAY_AFTER})\b")
_ORGANISATION = re.compile(
    r"\b(?:at|from|of|with)\s+(?P<org>(?:[A-Z][\w&'’-]*)(?:\s+[A-Z][\w&'’-]*)*)"
)
_NOT_NAMES = frozenset(
    """The A An It This That These Those They We I You He She His Her Its Their Our But And Or So
    Yet Often Now Then When While If As In On At For With From After Before Experts Analysts
    Officials""".split()
)


def is_quote(paragraph: str) -> bool:
    """A paragraph that opens with a quotation mark is (or continues) a quotation."""
    return paragraph.lstrip()[:1] in _OPEN_QUOTES


def _outside_quotes(paragraph: str) -> str:
    """The narration of a paragraph: the text with every quoted span removed."""
    return re.sub(r"[“\"«„][^”\"»]*(?:[”\"»]|$)", " ", paragraph)


def _clean_name(name: str) -> str | None:
    tokens = name.split()
    while tokens and tokens[0] in _NOT_NAMES:
        tokens.pop(0)
    return " ".join(tokens) or None


def _organisation(role: str | None) -> str | None:
    if not role:
        return None
    found = _ORGANISATION.findall(role)
    return found[-1] if found else None


@dataclass
class SpeakerResolver:
    """People met so far in one article, latest last."""

    people: list[Speaker] = field(default_factory=list)

    def remember(self, name: str, role: str | None) -> Speaker:
        """Register a mention; a short form ("Dalton") resolves to the full person met before."""
        known = self._by_name(name)
        if known and (role is None or known.role):
            speaker = known
        else:
            full = known.name if known else name
            role = role.strip() if role else None
            speaker = Speaker(name=full, role=role, organisation=_organisation(role))
        self.people = [p for p in self.people if p.name != speaker.name] + [speaker]
        return speaker

    def _by_name(self, name: str) -> Speaker | None:
        for person in reversed(self.people):
            if person.name == name or person.name.split()[-1] == name.split()[-1]:
                return person
        return None

    def by_description(self, noun: str) -> Speaker | None:
        """`the analyst` -> the latest person whose role says analyst."""
        head = noun.split()[-1].rstrip("s")
        for person in reversed(self.people):
            if person.role and re.search(rf"\b{re.escape(head)}", person.role, re.IGNORECASE):
                return person
        return None

    @property
    def latest(self) -> Speaker | None:
        return self.people[-1] if self.people else None


def _find_named(narration: str, resolver: SpeakerResolver) -> Speaker | None:
    candidates: list[tuple[int, str, str | None]] = []
    for pattern in (_VERB_THEN_NAME, _NAME_THEN_VERB):
        for match in pattern.finditer(narration):
            name = _clean_name(match.group("name"))
            if name:
                candidates.append((match.start(), name, match.group("role")))
    if not candidates:
        return None
    _, name, role = min(candidates)
    return resolver.remember(name, role)


def attribute(paragraphs: list[str]) -> list[Speaker | None]:
    """The speaker of each quoted paragraph (None for narration and for unknown speakers)."""
    resolver = SpeakerResolver()
    speakers: list[Speaker | None] = []
    previous_quote_speaker: Speaker | None = None
    previous_was_quote = False
    for paragraph in paragraphs:
        narration = _outside_quotes(paragraph)
        speaker = _find_named(narration, resolver)
        if speaker is None and (match := _DESCRIPTION_THEN_VERB.search(narration)):
            speaker = resolver.by_description(match.group("noun"))
        if speaker is None and _PRONOUN_THEN_VERB.search(narration):
            speaker = resolver.latest
        quoted = is_quote(paragraph)
        if quoted and speaker is None and previous_was_quote:
            # A paragraph that is only a quote continues the previous paragraph's speaker.
            speaker = previous_quote_speaker
        speakers.append(speaker if quoted else None)
        previous_was_quote = quoted
        previous_quote_speaker = speaker if quoted else None
    return speakers
