"""Turn scraped text into clean paragraphs: the generic rules, not a list of one article's lines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.ingest.text import collapse_spaces, normalise_for_match, strip_invisible

# Lines that are page furniture rather than article text. Matched against short lines only, so a
# real paragraph that happens to mention "subscribe" is never dropped.
_JUNK_LINE = re.compile(
    r"""^(?:
        (?:source|story|written|posted|words|photos?|reporting)?\s*by\s*[\[{<].*[\]}>]   # template bylines
      | [\[{<]\s*author[\w\s]*[\]}>]
      | back\s+to\s+top(?:\s+button)?
      | (?:share|tweet|pin|email|print|copy\s+link)(?:\s+(?:this|on|via|to)\b.*)?
      | share\s+(?:this\s+)?(?:article|story|post|page)(?:\s+on\s+\w+)?
      | (?:facebook|twitter|x|linkedin|whatsapp|reddit|telegram|pinterest|email)(?:\s*[|/·•,]\s*\w+)*
      | (?:subscribe|sign\s+up|newsletter|follow\s+us|join\s+our|get\s+our|register)\b.*
      | advertisement|sponsored(?:\s+content)?|ad|skip\s+(?:to\s+content|ad)
      | (?:read|see)\s+(?:more|also|next)\b.*
      | click\s+here\b.*
      | (?:accept|manage)\s+(?:all\s+)?cookies?.*|.*\bcookie\s+(?:policy|settings)\b.*
      | (?:©|\(c\)|copyright)\s.*|all\s+rights\s+reserved\.?
      | comments?(?:\s+\(\d+\))?|leave\s+a\s+(?:comment|reply)|loading(?:\s+comments)?\.*
      | (?:previous|next)\s+(?:article|post|story)\b.*
      | (?:home|menu|search|log\s*in|sign\s+in|close)
      | [|•·>\-–—_=*#\s]+
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Headings after which a page lists other stories: what follows them is link text, not article.
_TRAILING_SECTION = re.compile(
    r"^(?:related|more|recommended|popular|trending|latest|top)\s*(?:articles?|stories|posts|news|reads?|videos?|from\s+.+|on\s+.+|for\s+you)?\s*:?$"
    r"|^you\s+(?:may|might)\s+(?:also\s+)?like\s*:?$|^(?:read|watch)\s+next\s*:?$",
    re.IGNORECASE,
)
_SHORT_LINE = 80
_SENTENCE_END = re.compile(r"[.!?…:;\"'”’)\]]$")


@dataclass(frozen=True, slots=True)
class CleanText:
    """What cleaning found: the title line (if the text starts with one) and the paragraphs."""

    title: str | None
    paragraphs: list[str]


def is_junk_line(line: str) -> bool:
    """True for a short line of page furniture: bylines with template placeholders, share bars..."""
    stripped = line.strip()
    return len(stripped) <= _SHORT_LINE and bool(_JUNK_LINE.match(stripped))


def looks_like_heading(line: str) -> bool:
    """A short line with no closing punctuation: a title or a sub-heading, not prose."""
    stripped = line.strip()
    return (
        0 < len(stripped) <= 150
        and not _SENTENCE_END.search(stripped)
        and len(stripped.split()) <= 20
    )


def split_blocks(text: str) -> list[str]:
    """Blocks separated by blank lines; hard-wrapped lines inside a block are joined.

    Text with no blank line at all is taken as one paragraph per line, as many scrapers write it.
    """
    text = strip_invisible(text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.strip() for line in text.split("\n")]
    if not any(not line for line in lines[:-1] if lines):
        return [line for line in lines if line]
    blocks: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if not line:
            if current:
                blocks.append(" ".join(current))
                current = []
            continue
        if is_junk_line(line):
            # Furniture glued to a paragraph by a single newline is dropped line by line.
            continue
        current.append(line)
    return blocks


def clean_paragraphs(text: str, known_title: str | None = None) -> CleanText:
    """Drop junk, duplicates and empty lines; recognise the leading title line.

    `known_title` (from metadata) is matched loosely; without it, a first line that reads like a
    heading is taken as the title.
    """
    blocks = [collapse_spaces(block) for block in split_blocks(text)]
    blocks = [block for block in blocks if block and not is_junk_line(block)]

    title: str | None = None
    if blocks:
        first = blocks[0]
        if (known_title and normalise_for_match(first) == normalise_for_match(known_title)) or (
            not known_title and looks_like_heading(first) and len(blocks) > 1
        ):
            title = blocks.pop(0)

    paragraphs: list[str] = []
    seen: set[str] = set()
    in_trailing_section = False
    for block in blocks:
        if _TRAILING_SECTION.match(block):
            in_trailing_section = True
            continue
        if in_trailing_section:
            # Lists of other stories are headlines; real prose after them ends the section.
            if looks_like_heading(block) or len(block) < _SHORT_LINE:
                continue
            in_trailing_section = False
        key = normalise_for_match(block)
        if key in seen or (title and key == normalise_for_match(title)):
            continue
        if not any(ch.isalnum() for ch in block):
            continue
        seen.add(key)
        paragraphs.append(block)
    return CleanText(title=title, paragraphs=paragraphs)
