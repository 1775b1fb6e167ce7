"""Discord's limits, the `Card` every renderer returns, and the text helpers they share.

A `Card` is an embed's worth of content as plain data; bot/ui/embeds.py turns it into a
`discord.Embed`, `to_text` into console text. Every piece of text a user or a source wrote goes
through `escape` (Discord's own markdown and mention escaping), so a quote can neither format nor
ping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from discord.utils import escape_markdown, escape_mentions

from index.ingest.loaders import normalise_url
from index.ingest.text import collapse_spaces, strip_invisible

# Discord's documented limits.
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000

ANSWER_COLOUR = 0x2B6CB0
ABSTAIN_COLOUR = 0x718096
# An answer the article only partly gives: amber, so the "Closest:" is noticed.
PARTIAL_COLOUR = 0xD69E2E
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Card:
    """An embed's worth of content, independent of Discord."""

    description: str
    title: str | None = None
    url: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    footer: str | None = None
    colour: int = ANSWER_COLOUR
    notes: tuple[str, ...] = field(default=())

    def total_length(self) -> int:
        return (
            len(self.title or "")
            + len(self.description)
            + sum(len(n) + len(v) for n, v in self.fields)
            + len(self.footer or "")
        )


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis; never mid-word unless one word is over the limit."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space > limit // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + ELLIPSIS


# Discord's `<...>` markup: user/role/channel mentions, slash commands, custom emoji, timestamps
# and guild navigation, whatever the length of the id (discord.py's escape_mentions only defuses
# 17-20 digit ids). A zero-width space after the `<` leaves the text as it reads.
_ANGLE_MARKUP = re.compile(r"<(?=[@#:/]|a:|t:|id:)", re.IGNORECASE)


# An opening bracket after an even number of backslashes (none included) still opens a link.
_OPEN_BRACKET = re.compile(r"(?<!\\)((?:\\\\)*)\[")


def escape(text: str) -> str:
    """Text that shows as written: markdown escaped, mentions and other Discord markup defused,
    invisible characters gone.

    Backslashes are doubled first (so text cannot un-escape what follows), and every `[` is
    escaped after discord.py's escaping, which defuses only the first of several masked links on
    a line.
    """
    text = collapse_spaces(strip_invisible(text)).replace("\\", "\\\\")
    text = _OPEN_BRACKET.sub(r"\1\\[", escape_mentions(escape_markdown(text)))
    return _ANGLE_MARKUP.sub("<\u200b", text)


def escape_user_text(text: str, limit: int = 200) -> str:
    """Words a user or a source wrote, shown as written and at most `limit` characters once
    escaped: shortened first (so no escape is cut in half), then escaped, shorter if need be."""
    text = collapse_spaces(strip_invisible(text))
    budget = limit
    while True:
        escaped = escape(shorten(text, budget))
        if len(escaped) <= limit or budget <= 1:
            return escaped[:limit]
        budget = max(1, budget * limit // len(escaped) - 1)


def link_url(url: str | None) -> str | None:
    """A URL safe inside `[text](url)`: http(s), percent-encoded; None when it is not one."""
    return normalise_url(url)


def plain(text: str, limit: int) -> str:
    """For places Discord does not format (footers): only cleaned and shortened."""
    return shorten(collapse_spaces(strip_invisible(text)), limit)


def blockquote(text: str) -> str:
    return "\n".join("> " + line for line in text.split("\n"))


def fit(card: Card) -> Card:
    """Drop trailing fields until the embed fits Discord's 6000-character total."""
    fields = list(card.fields)
    while (
        fields
        and Card(card.description, card.title, card.url, tuple(fields), card.footer).total_length()
        > EMBED_TOTAL_LIMIT
    ):
        fields.pop()
    return Card(
        card.description, card.title, card.url, tuple(fields), card.footer, card.colour, card.notes
    )


def page_count(total: int, per_page: int) -> int:
    """Pages of `per_page` items that `total` items fill (at least one)."""
    return max(1, -(-total // max(per_page, 1)))


_ESCAPES = re.compile(r"\\([\\*_`~|>\[\]()#:-])")
_SUBTEXT = re.compile(r"^-# ", re.MULTILINE)
# A masked link `[text](url)` (unescaped brackets only), which a terminal shows as text <url>.
_LINK = re.compile(r"(?<!\\)\[((?:[^\]\\]|\\.)*)\]\((\S+?)\)")


def to_text(card: Card) -> str:
    """The card as terminal text: the same words, markdown escapes removed."""
    parts = []
    if card.title:
        parts.append(card.title + (f" <{card.url}>" if card.url else ""))
    parts.append(card.description)
    for name, value in card.fields:
        parts.append(f"{name}\n{value}")
    if card.footer:
        parts.append(card.footer)
    text = _LINK.sub(r"\1 <\2>", "\n\n".join(parts))
    return _SUBTEXT.sub("", _ESCAPES.sub(r"\1", text))
