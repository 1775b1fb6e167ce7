"""What the bot knows, browsed: the source list, one source, one paragraph, and help."""

from __future__ import annotations

from collections.abc import Sequence

from bot.rendering.answers import citation, quote_passage, speaker_line
from bot.rendering.text import (
    DESCRIPTION_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    Card,
    blockquote,
    escape,
    escape_user_text,
    link_url,
    page_count,
    shorten,
)
from index.models import Passage, Source

DISCORD_ASK_HINT = "Ask with `/ask`, or mention me with a question."


def render_sources_page(
    sources: Sequence[Source],
    built_at: str,
    page: int = 1,
    per_page: int = 10,
    hint: str = DISCORD_ASK_HINT,
) -> Card:
    """One page of the source list: title, id, publisher, paragraph count and build date."""
    pages = page_count(len(sources), per_page)
    page = min(max(page, 1), pages)
    chunk = sources[(page - 1) * per_page : page * per_page]
    fields = tuple(
        (
            escape_user_text(s.title, FIELD_NAME_LIMIT),
            f"`{s.id}` · {escape_user_text(s.publisher or 'unknown publisher', 300)} · "
            f"{s.paragraph_count} paragraphs · built {built_at[:10]}",
        )
        for s in chunk
    )
    return Card(
        title=f"Sources ({len(sources)})",
        description=f"What I can quote. {hint}",
        fields=fields,
        footer=f"Page {page} of {pages}" if pages > 1 else None,
    )


def render_source(source: Source, preview_chars: int = 600) -> Card:
    """A source's metadata and its opening lines."""
    opening = " ".join(p.text for p in source.passages[:2])
    fields = [("Id", f"`{source.id}`"), ("Paragraphs", str(source.paragraph_count))]
    for label, value in (
        ("Publisher", source.publisher),
        ("Author", source.author),
        ("Date", source.date),
    ):
        if value:
            fields.append((label, escape_user_text(value, FIELD_VALUE_LIMIT)))
    return Card(
        title=escape_user_text(source.title, TITLE_LIMIT),
        url=link_url(source.url),
        description=blockquote(escape(shorten(opening, preview_chars))),
        fields=tuple(fields),
    )


def render_passage(passage: Passage, source: Source | None) -> Card:
    """One paragraph verbatim, with its speaker and citation."""
    tail = [line for line in (speaker_line(passage), citation(passage, source)) if line]
    # The quote gets what the speaker and citation lines leave of the description.
    budget = DESCRIPTION_LIMIT - sum(len(line) + 1 for line in tail)
    quote, _ = quote_passage(passage, (), budget)
    return Card(description="\n".join([quote, *tail]))


HELP_TEXT = (
    "I answer questions about the articles I know by **quoting them**: the paragraph that "
    "answers, with the answering sentence in bold, who said it, and where it comes from. "
    "I never write an answer myself; when nothing answers, I say so.\n\n"
    "`/ask question:` ask a question (`private:` to see the answer alone)\n"
    "Mention me with a question, or mention me in a reply to ask about that message\n"
    "Right-click a message → Apps → **Ask Quotebot**\n"
    "`/sources` what I know · `/source id:` one source · `/passage source: number:` one paragraph\n\n"
    "Under each answer: **More**/**Back** page through further passages, **Context** adds the "
    "paragraphs around the quote, 👍/👎 tell the admins whether it helped, **Share** posts a "
    "private answer to the channel, **Why this passage?** shows the scores behind it.\n"
    "Admins (Manage Server): `/quotebot channel add|remove|list`, `/quotebot settings`, "
    "`/reload`, `/stats`."
)


def render_help() -> Card:
    return Card(title="Quotebot", description=HELP_TEXT)
