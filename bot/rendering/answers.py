"""An answer as the user sees it: the quote, its speaker and citation, further passages, why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.questions.extract import question_from_message
from bot.rendering.links import sentence_link
from bot.rendering.text import (
    ABSTAIN_COLOUR,
    ANSWER_COLOUR,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    ELLIPSIS,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    PARTIAL_COLOUR,
    TITLE_LIMIT,
    Card,
    blockquote,
    escape,
    escape_user_text,
    fit,
    link_url,
    page_count,
    plain,
    shorten,
)
from index.models import Answer, Hit, Passage, Source


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
        text = escape_user_text(sentence, max_chars - 8)  # escaping can double it
        body = f"**{text}**" if first in marked else text
        return blockquote(body), True
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
    return blockquote(body), truncated


def citation(passage: Passage, source: Source | None, sentence: int | None = None) -> str:
    """`¶4 · <title> — <publisher>`, a link when the source has a URL: to the quoted `sentence`
    itself (a text fragment) when one is given and can be pinpointed."""
    title = source.title if source else passage.source_id
    text = f"¶{passage.number} · {title}"
    if source and source.publisher:
        text += f" — {source.publisher}"
    url = link_url(source.url) if source else None
    if url:
        if source is not None and sentence is not None:
            url = sentence_link(url, source, passage, sentence)
        # The link text may hold no bracket: one would end it early and start a second link.
        return f"[{escape_user_text(text.replace('[', '').replace(']', ''), 300)}]({url})"
    return escape_user_text(text, 300)


def following_line(previous_question: str) -> str:
    """The line that shows an answer was searched with the previous question as context."""
    return f"-# (following up on: {escape_user_text(previous_question, 150)})"


def speaker_line(passage: Passage) -> str | None:
    return f"— {escape_user_text(passage.speaker.label, 300)}" if passage.speaker else None


def full_paragraph_pointer(passage: Passage) -> str:
    return f"-# Cut for length: `/passage source:{passage.source_id} number:{passage.number}` shows all of it."


def _footer(question: str, page: int = 1, pages: int = 1, quoted: bool = True) -> str:
    # Footers are never formatted and never ping, but mention syntax echoed back still reads as one.
    text = plain(f"Asked: {question_from_message(question)}", 220)
    if pages > 1:
        text += f" · page {page}/{pages}"
    # An abstention quotes nothing as an answer, so it does not claim to.
    return text + " · quoted verbatim from the source" if quoted else text


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
) -> Card:
    """An answer: the best passage quoted, its speaker and citation, further passages shorter.

    `page` (from 0) selects which `per_page` passages to show; `context` adds the paragraphs
    before and after the page's main passage; `following` is the previous question when this
    one was answered as its follow-up.
    """
    if answer.abstained or not answer.hits:
        return render_abstention(answer, sources, question, following)
    per_page = per_page or len(answer.hits)
    pages = page_count(len(answer.hits), per_page)
    page = min(max(page, 0), pages - 1)
    best, *others = answer.hits[page * per_page : (page + 1) * per_page]
    source = sources.get(best.passage.source_id)
    lines = [following_line(following)] if following else []
    if answer.coverage == "partial":
        # Said first, before anything quoted could be read as the answer.
        lines.append(f"**{escape(answer.reason)}** Closest:")
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
    card = Card(
        description="\n".join(lines)[:DESCRIPTION_LIMIT],
        fields=fields,
        footer=_footer(question or answer.query, page + 1, pages),
        colour=PARTIAL_COLOUR if answer.coverage == "partial" else ANSWER_COLOUR,
    )
    return fit(card)


def render_why(answer: Answer, page: int = 0, per_page: int | None = None) -> str:
    """Why these passages: the coverage and its reason, each score behind the ranking."""
    lines = []
    if answer.abstained:
        lines.append(
            f"Abstained: {escape(answer.reason)} The best match was {answer.evidence:.3f}, under the "
            f"threshold {answer.threshold:.3f}, so nothing was quoted as an answer."
        )
        hits = answer.nearest[:3]
    else:
        per_page = per_page or len(answer.hits)
        hits = answer.hits[page * per_page : (page + 1) * per_page]
        if answer.coverage == "partial":
            missing = escape(", ".join(answer.missing))
            lines.append(
                f"Partial: {escape(answer.reason)}"
                + (f" Words of the question the article lacks: {missing}." if missing else "")
                + " The closest passages are quoted."
            )
        lines.append(
            f"Quoted because the best match {answer.evidence:.3f} reached the threshold "
            f"{answer.threshold:.3f}. Ranked by weights fitted on the question bank:"
        )
    for hit in hits:
        s = hit.scores
        lines.append(
            f"¶{hit.passage.number}: paragraph cosine {s.paragraph:.3f} · best sentence cosine "
            f"{s.sentence:.3f} · sentence BM25 {s.bm25:.3f} · token match "
            f"{s.late_interaction:.3f} → rank score {hit.score:.4f}"
        )
    return "\n".join(lines)[:CONTENT_LIMIT]


def _other_field(hit: Hit, sources: Mapping[str, Source], max_chars: int) -> tuple[str, str]:
    source = sources.get(hit.passage.source_id)
    name = f"Also ¶{hit.passage.number}"
    if hit.passage.speaker:
        name += f" · {escape_user_text(hit.passage.speaker.name, 100)}"
    if source and len(sources) > 1:
        name += f" · {escape_user_text(source.title, 120)}"
    quote, _ = quote_passage(hit.passage, hit.highlight_indices[:1], max_chars)
    # Only the highlight sentence(s) of a further hit, unbolded: the field is the summary.
    quote = quote.replace("**", "")
    return shorten(name, FIELD_NAME_LIMIT), quote[:FIELD_VALUE_LIMIT]


def render_abstention(
    answer: Answer,
    sources: Mapping[str, Source],
    question: str | None = None,
    following: str | None = None,
) -> Card:
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
    return Card(
        description="\n".join(lines),
        footer=_footer(question or answer.query, quoted=False),
        colour=ABSTAIN_COLOUR,
    )
