"""Pure functions from retrieval results to what Discord (or the console) shows.

Nothing here talks to Discord: a view is plain data, turned into a `discord.Embed` or console
text at the edge. Every view respects Discord's limits, and every piece of text a user or a
source wrote is escaped, so a quote can neither format nor ping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import discord

from bot.questions.extract import question_from_message
from bot.rendering.links import passage_link
from bot.storage.database import StatsSummary
from index.ingest.text import collapse_spaces, strip_invisible
from index.models import Answer, Hit, Passage, Source

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
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class View:
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


# --- text helpers -------------------------------------------------------------------------------


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis; never mid-word unless one word is over the limit."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space > limit // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + ELLIPSIS


def escape(text: str) -> str:
    """Text that shows as written: markdown escaped, mentions defused, invisible characters gone."""
    text = collapse_spaces(strip_invisible(text))
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def escape_user_text(text: str, limit: int = 200) -> str:
    """A user's words echoed back: shortened first (so no escape is cut in half), then escaped."""
    return escape(shorten(collapse_spaces(strip_invisible(text)), limit))


def plain(text: str, limit: int) -> str:
    """For places Discord does not format (footers): only cleaned and shortened."""
    return shorten(collapse_spaces(strip_invisible(text)), limit)


def _blockquote(text: str) -> str:
    return "\n".join("> " + line for line in text.split("\n"))


def quote_passage(passage: Passage, highlight: Sequence[int], max_chars: int) -> tuple[str, bool]:
    """The paragraph as a block quote with the highlight sentences in bold.

    Long paragraphs are cut at sentence boundaries around the highlight, marked with an ellipsis.
    Returns the markdown and whether anything was left out.
    """
    sentences = list(passage.sentences)
    marked = set(highlight)
    pieces = [f"**{escape(s)}**" if i in marked else escape(s) for i, s in enumerate(sentences)]
    first = min(marked) if marked else 0

    def size(a: int, b: int) -> int:
        return sum(len(p) + 1 for p in pieces[a:b]) + 4

    start, end = first, first + 1
    if size(start, end) > max_chars:
        # One sentence alone is too long: cut it at a word, keeping the bold markers balanced.
        sentence = sentences[first]
        text = escape(shorten(sentence, max_chars - 8))
        body = f"**{text}**" if first in marked else text
        return _blockquote(body), True
    while True:
        grew = False
        if end < len(pieces) and size(start, end + 1) <= max_chars:
            end, grew = end + 1, True
        if start > 0 and size(start - 1, end) <= max_chars:
            start, grew = start - 1, True
        if not grew:
            break
    body = " ".join(pieces[start:end])
    truncated = start > 0 or end < len(pieces)
    if start > 0:
        body = ELLIPSIS + " " + body
    if end < len(pieces):
        body = body + " " + ELLIPSIS
    return _blockquote(body), truncated


def citation(passage: Passage, source: Source | None, sentence: int | None = None) -> str:
    """`¶4 · <title> — <publisher>`, a link when the source has a URL: to the quoted `sentence`
    itself (a text fragment) when one is given and can be pinpointed."""
    title = source.title if source else passage.source_id
    text = f"¶{passage.number} · {title}"
    if source and source.publisher:
        text += f" — {source.publisher}"
    text = escape(text)
    if source and source.url:
        url = passage_link(source, passage, sentence) if sentence is not None else source.url
        return f"[{text.replace(']', '')}]({url})"
    return text


def following_line(previous_question: str) -> str:
    """The line that shows an answer was searched with the previous question as context."""
    return f"-# (following up on: {escape_user_text(previous_question, 150)})"


def speaker_line(passage: Passage) -> str | None:
    return f"— {escape(passage.speaker.label)}" if passage.speaker else None


def full_paragraph_pointer(passage: Passage) -> str:
    return f"-# Cut for length: `/passage source:{passage.source_id} number:{passage.number}` shows all of it."


# --- answers --------------------------------------------------------------------------------------


def _footer(question: str, page: int = 1, pages: int = 1, quoted: bool = True) -> str:
    # Footers are never formatted and never ping, but mention syntax echoed back still reads as one.
    text = plain(f"Asked: {question_from_message(question)}", 220)
    if pages > 1:
        text += f" · page {page}/{pages}"
    # An abstention quotes nothing as an answer, so it does not claim to.
    return text + " · quoted verbatim from the source" if quoted else text


def page_count_of(answer: Answer, per_page: int) -> int:
    """Pages of `per_page` passages an answer holds (at least one)."""
    return max(1, -(-len(answer.hits) // max(per_page, 1)))


def _context_block(passage: Passage, label: str, max_chars: int) -> str:
    quote, _ = quote_passage(passage, (), max_chars)
    return f"-# ¶{passage.number} ({label})\n{quote}"


def render_answer(
    answer: Answer,
    sources: Mapping[str, Source],
    max_passage_chars: int = 1500,
    max_other_chars: int = 300,
    question: str | None = None,
    page: int = 0,
    per_page: int | None = None,
    context: tuple[Passage | None, Passage | None] | None = None,
    following: str | None = None,
) -> View:
    """An answer: the best passage quoted, its speaker and citation, further passages shorter.

    `page` (from 0) selects which `per_page` passages to show; `context` adds the paragraphs
    before and after the page's main passage; `following` is the previous question when this
    one was answered as its follow-up.
    """
    if answer.abstained or not answer.hits:
        return render_abstention(answer, sources, question, following)
    per_page = per_page or len(answer.hits)
    pages = page_count_of(answer, per_page)
    page = min(max(page, 0), pages - 1)
    best, *others = answer.hits[page * per_page : (page + 1) * per_page]
    source = sources.get(best.passage.source_id)
    lines = [following_line(following)] if following else []
    if context and context[0] is not None:
        lines.append(_context_block(context[0], "before", max_passage_chars // 2))
        lines.append(f"-# ¶{best.passage.number}")
    quote, truncated = quote_passage(best.passage, best.highlight_indices, max_passage_chars)
    lines.append(quote)
    if (who := speaker_line(best.passage)) is not None:
        lines.append(who)
    if context and context[1] is not None:
        lines.append(_context_block(context[1], "after", max_passage_chars // 2))
    first_highlight = min(best.highlight_indices) if best.highlight_indices else None
    lines.append(citation(best.passage, source, first_highlight))
    if truncated:
        lines.append(full_paragraph_pointer(best.passage))
    fields = tuple(
        _other_field(hit, sources, max_other_chars) for hit in others[:FIELD_COUNT_LIMIT]
    )
    view = View(
        description="\n".join(lines)[:DESCRIPTION_LIMIT],
        fields=fields,
        footer=_footer(question or answer.query, page + 1, pages),
        colour=ANSWER_COLOUR,
    )
    return fit(view)


def render_why(answer: Answer, page: int = 0, per_page: int | None = None) -> str:
    """Why these passages: each score behind the ranking and the abstention threshold."""
    lines = []
    if answer.abstained:
        lines.append(
            f"Abstained: the best evidence score was {answer.evidence:.3f}, under the threshold "
            f"{answer.threshold:.3f}, so nothing was quoted as an answer."
        )
        hits = answer.nearest[:3]
    else:
        per_page = per_page or len(answer.hits)
        hits = answer.hits[page * per_page : (page + 1) * per_page]
        lines.append(
            f"Quoted because the best evidence score {answer.evidence:.3f} reached the "
            f"threshold {answer.threshold:.3f}. Ranked by fusing three rankings:"
        )
    for hit in hits:
        s = hit.scores
        lines.append(
            f"¶{hit.passage.number}: paragraph cosine {s.paragraph:.3f} · best sentence cosine "
            f"{s.sentence:.3f} · sentence BM25 {s.bm25:.3f} → evidence {s.evidence:.3f}, "
            f"rank score {hit.score:.4f}"
        )
    return "\n".join(lines)[:CONTENT_LIMIT]


def _other_field(hit: Hit, sources: Mapping[str, Source], max_chars: int) -> tuple[str, str]:
    source = sources.get(hit.passage.source_id)
    name = f"Also ¶{hit.passage.number}"
    if hit.passage.speaker:
        name += f" · {hit.passage.speaker.name}"
    if source and len(sources) > 1:
        name += f" · {source.title}"
    quote, _ = quote_passage(hit.passage, hit.highlight_indices[:1], max_chars)
    # Only the highlight sentence(s) of a further hit, unbolded: the field is the summary.
    quote = quote.replace("**", "")
    return shorten(name, FIELD_NAME_LIMIT), quote[:FIELD_VALUE_LIMIT]


def render_abstention(
    answer: Answer,
    sources: Mapping[str, Source],
    question: str | None = None,
    following: str | None = None,
) -> View:
    """ "Nothing in *<title>* answers that." plus up to three nearest topics, none quoted as an answer."""
    # Titles are shortened before escaping: a long one of markdown characters doubles in size.
    if answer.source and answer.source in sources:
        scope = f"*{escape_user_text(sources[answer.source].title, TITLE_LIMIT)}*"
    elif len(sources) == 1:
        scope = f"*{escape_user_text(next(iter(sources.values())).title, TITLE_LIMIT)}*"
    else:
        scope = "the sources I know"
    lines = [following_line(following)] if following else []
    lines.append(f"Nothing in {scope} answers that.")
    topics = [hit.passage for hit in answer.nearest[:3]]
    if topics:
        lines.append("")
        lines.append("Closest topics, if one of them is what you meant:")
        for passage in topics:
            lines.append(f"• ¶{passage.number}: {escape(shorten(passage.sentences[0], 90))}")
    return View(
        description="\n".join(lines),
        footer=_footer(question or answer.query, quoted=False),
        colour=ABSTAIN_COLOUR,
    )


def fit(view: View) -> View:
    """Drop trailing fields until the embed fits Discord's 6000-character total."""
    fields = list(view.fields)
    while (
        fields
        and View(view.description, view.title, view.url, tuple(fields), view.footer).total_length()
        > EMBED_TOTAL_LIMIT
    ):
        fields.pop()
    return View(
        view.description, view.title, view.url, tuple(fields), view.footer, view.colour, view.notes
    )


# --- sources, passages, help ------------------------------------------------------------------------


def page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


DISCORD_ASK_HINT = "Ask with `/ask`, or mention me with a question."


def render_sources_page(
    sources: Sequence[Source],
    built_at: str,
    page: int = 1,
    per_page: int = 10,
    hint: str = DISCORD_ASK_HINT,
) -> View:
    """One page of the source list: title, id, publisher, paragraph count and build date."""
    pages = page_count(len(sources), per_page)
    page = min(max(page, 1), pages)
    chunk = sources[(page - 1) * per_page : page * per_page]
    fields = tuple(
        (
            shorten(s.title, FIELD_NAME_LIMIT),
            f"`{s.id}` · {escape(s.publisher or 'unknown publisher')} · "
            f"{s.paragraph_count} paragraphs · built {built_at[:10]}",
        )
        for s in chunk
    )
    return View(
        title=f"Sources ({len(sources)})",
        description=f"What I can quote. {hint}",
        fields=fields,
        footer=f"Page {page} of {pages}" if pages > 1 else None,
    )


def render_source(source: Source, preview_chars: int = 600) -> View:
    """A source's metadata and its opening lines."""
    opening = " ".join(p.text for p in source.passages[:2])
    fields = [("Id", f"`{source.id}`"), ("Paragraphs", str(source.paragraph_count))]
    for label, value in (
        ("Publisher", source.publisher),
        ("Author", source.author),
        ("Date", source.date),
    ):
        if value:
            fields.append((label, escape(value)))
    return View(
        title=shorten(source.title, TITLE_LIMIT),
        url=source.url,
        description=_blockquote(escape(shorten(opening, preview_chars))),
        fields=tuple(fields),
    )


def render_passage(passage: Passage, source: Source | None) -> View:
    """One paragraph verbatim, with its speaker and citation."""
    quote, _ = quote_passage(passage, (), DESCRIPTION_LIMIT - 400)
    lines = [quote]
    if (who := speaker_line(passage)) is not None:
        lines.append(who)
    lines.append(citation(passage, source))
    return View(description="\n".join(lines))


def render_stats(summary: StatsSummary, server: str) -> View:
    """`/stats`: questions, answered vs abstained, votes and what people asked that had no answer."""
    votes = summary.up + summary.down
    ratio = f"{summary.up / votes:.0%} 👍" if votes else "no votes yet"
    fields = [
        ("Questions", str(summary.questions)),
        ("Answered", str(summary.answered)),
        ("Abstained", str(summary.abstained)),
        ("Votes", f"👍 {summary.up} · 👎 {summary.down} ({ratio})"),
    ]
    if summary.top_abstained:
        fields.append(
            (
                "Most frequent unanswered questions",
                "\n".join(
                    f"{count}× {escape_user_text(question, 120)}"
                    for question, count in summary.top_abstained
                ),
            )
        )
    return fit(
        View(
            title=shorten(f"Quotebot in {server}: last {summary.days} days", TITLE_LIMIT),
            description="Questions per day, answered and abstained, in the chart below.",
            fields=tuple(fields),
        )
    )


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


def render_help() -> View:
    return View(title="Quotebot", description=HELP_TEXT)


# --- output adapters ------------------------------------------------------------------------------------


def to_embed(view: View) -> discord.Embed:
    """The view as a Discord embed."""
    embed = discord.Embed(
        title=view.title, url=view.url, description=view.description, colour=view.colour
    )
    for name, value in view.fields[:FIELD_COUNT_LIMIT]:
        embed.add_field(name=name, value=value or "\u200b", inline=False)
    if view.footer:
        embed.set_footer(text=view.footer[:FOOTER_LIMIT])
    return embed


_ESCAPES = re.compile(r"\\([\\*_`~|>\[\]()#:-])")
_SUBTEXT = re.compile(r"^-# ", re.MULTILINE)
# A masked link `[text](url)` (unescaped brackets only), which a terminal shows as text <url>.
_LINK = re.compile(r"(?<!\\)\[((?:[^\]\\]|\\.)*)\]\((\S+?)\)")


def to_text(view: View) -> str:
    """The view as terminal text: the same words, markdown escapes removed."""
    parts = []
    if view.title:
        parts.append(view.title + (f" <{view.url}>" if view.url else ""))
    parts.append(view.description)
    for name, value in view.fields:
        parts.append(f"{name}\n{value}")
    if view.footer:
        parts.append(view.footer)
    text = _LINK.sub(r"\1 <\2>", "\n\n".join(parts))
    return _SUBTEXT.sub("", _ESCAPES.sub(r"\1", text))
