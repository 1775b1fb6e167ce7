"""Property-based: whatever a source's text and metadata say (titles, publishers, authors, URLs,
speakers), once ingested and rendered nothing in any card is a mention, a masked link other than
the citation's own, Discord timestamp/channel/command/emoji markup, or over a Discord limit."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.rendering.answers import render_answer
from bot.rendering.browsing import render_passage, render_source, render_sources_page
from bot.rendering.text import Card
from bot.ui.embeds import to_embed
from index.errors import SourceLoadError
from index.ingest.loaders import load_source, normalise_url
from index.models import Answer, Hit, Scores, Source
from tests.reliability.helpers import within_discord_limits
from tests.reliability.test_properties import TEXT

EXAMPLES = 120

_HOSTILE = [
    "[Free Nitro](https://evil.example/phish)",
    "[a](https://x.example) and [b](https://y.example)",
    "\\[c](https://z.example)",
    "\\\\[d](https://w.example)",
    "<@1>",
    "<@!22>",
    "<@&333>",
    "<#4>",
    "</ask:5>",
    "<:e:6>",
    "<a:e:7>",
    "<t:1700000000:R>",
    "<id:customize>",
    "@everyone",
    "@here",
    "\u061c",
    "\u202e",
    "\ud800",
    " ",
    "word",
]
HOSTILE_TEXT = st.one_of(
    TEXT, st.lists(st.sampled_from(_HOSTILE), min_size=1, max_size=12).map("".join)
)
URLS = st.one_of(
    st.text(max_size=80),
    st.builds(lambda tail: "https://news.example/" + tail, HOSTILE_TEXT),
    st.sampled_from(
        [
            "https://ok.example/a)[Free Nitro](https://evil.example/phish",
            "javascript:alert(1)",
            "http://[::1",
            "https://ex ample.org/a b",
            "https://example.org:99999/",
        ]
    ),
)
# An unescaped `[text](url)`: the `[` after an even number of backslashes (none included).
_MASKED_LINK = re.compile(r"(?<!\\)(?:\\\\)*\[([^\[\]]*)\]\(([^)]*)\)")
_MARKUP = re.compile(r"<(?:[@#/:]|a:|t:|id:)|@(?:everyone|here)", re.IGNORECASE)
# The citation may open the source at its sentence: a text fragment of percent-encoded terms only,
# after the URL's own fragment when it has one (`#top:~:text=...`).
_SENTENCE_FRAGMENT = re.compile(r"#?:~:text=[A-Za-z0-9_.~%]+(?:,[A-Za-z0-9_.~%]+)?")


def _is_citation(url: str, link: str | None) -> bool:
    if link is None or not url.startswith(link):
        return False
    if url == link:
        return True
    directive = url[len(link) :]
    if directive.startswith("#") == ("#" in link):
        return False  # a second `#`, or a directive without one
    return _SENTENCE_FRAGMENT.fullmatch(directive) is not None


def _problems(card: Card, link: str | None) -> list[str]:
    data = to_embed(card).to_dict()
    problems = [] if within_discord_limits({"embeds": [data]}) else ["over a Discord limit"]
    shown = [data.get("title") or "", data.get("description") or ""]
    shown += [f["name"] + "\n" + f["value"] for f in data.get("fields") or []]
    for text in shown:
        if _MARKUP.search(text):
            problems.append(f"Discord markup in {text!r}")
        for _, url in _MASKED_LINK.findall(text):
            if not _is_citation(url, link):
                problems.append(f"masked link to {url!r} in {text!r}")
    if data.get("url") not in (None, link):
        problems.append(f"embed URL {data.get('url')!r}")
    return problems


def _ingest(text: str, meta: dict[str, str]) -> Source | None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "article.txt"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        path.with_suffix(".toml").write_text(tomli_w.dumps(meta), encoding="utf-8")
        try:
            return load_source(path)
        except SourceLoadError:
            return None


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    paragraphs=st.lists(HOSTILE_TEXT, min_size=1, max_size=5),
    title=HOSTILE_TEXT,
    publisher=HOSTILE_TEXT,
    author=HOSTILE_TEXT,
    url=URLS,
    speaker=HOSTILE_TEXT,
)
def test_any_source_ingested_and_rendered_carries_no_markup_link_or_overrun(
    paragraphs, title, publisher, author, url, speaker
):
    """A source file with hostile text and sidecar metadata loads (or fails clearly), and every
    card showing it (answer, abstention, /source, /sources, /passage) is safe and within limits."""
    text = "\n\n".join(
        [*paragraphs, f"“{paragraphs[0]},” said {speaker}, a spokesman for {publisher}."]
    )
    meta = {"title": title, "publisher": publisher, "author": author, "url": url}
    meta = {k: v.encode("utf-8", "replace").decode("utf-8") for k, v in meta.items()}
    source = _ingest(text.encode("utf-8", "replace").decode("utf-8"), meta)
    if source is None:
        return
    link = normalise_url(source.url)
    assert source.url == link  # stored normalised: what is rendered is what was stored
    if link is not None:
        assert not set(link) & set(' ()[]<>"`\\') and link.startswith(("http://", "https://"))
    other = Source("other", "Other", None, None, None, None, "0", ())
    sources = {source.id: source, "other": other}
    scores = Scores(0.5, 0.5, 0.5, 0.5)
    hits = tuple(
        Hit(p, 1.0 / rank, p.sentences[0], (0,), scores)
        for rank, p in enumerate(source.passages, 1)
    )
    cards = [
        render_answer(Answer(title, hits, False, 0.1, ()), sources, question=publisher),
        render_answer(Answer(title, (), True, 0.1, hits), sources, question=author),
        render_source(source),
        render_sources_page([source, other], "2026-01-01T00:00:00"),
        *(render_passage(p, source) for p in source.passages[:3]),
    ]
    for card in cards:
        assert _problems(card, link) == []
