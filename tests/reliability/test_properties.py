"""Property-based: any Unicode question searches without raising (bar the documented
EmptyQueryError) and any answer, whatever its text, renders within Discord's limits."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.rendering.answers import render_answer
from bot.ui.embeds import to_embed
from index.errors import EmptyQueryError
from index.ingest.text import collapse_spaces, has_words, strip_invisible
from index.models import Answer, Hit, Passage, Scores, Source, Speaker
from tests.reliability.helpers import within_discord_limits

# Modest counts: the retriever runs the real model on every example.
SEARCH_EXAMPLES = 60
RENDER_EXAMPLES = 150

# Any Unicode, text rich in what Discord treats specially, and long runs of it (escaping a
# markdown character doubles it, so runs of them are the longest text to render).
_SPECIAL = [
    *"*_~|`>#-[]()<@&!:/\\ \n\t\u200b\u200d\u202e\u2066\u0336\x00",
    "@everyone",
    "<@123>",
    "discord.gg/x",
    "```",
    "https://evil.example",
]
_RUNS = st.builds(
    lambda s, n: s * n,
    st.sampled_from(["*", "_", "`", "\\", "|", "@everyone ", "a", "\u0336", "w "])
    | st.text(max_size=3),
    st.sampled_from([1, 100, 1000, 2100, 3000, 7000]) | st.integers(1, 7000),
).filter(bool)
QUESTIONS = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from([*_SPECIAL, "why", "Putin", "Xi", "war", "drones"]), max_size=60).map(
        "".join
    ),
    _RUNS,
)
TEXT = st.one_of(
    st.text(min_size=1, max_size=200),
    st.lists(st.sampled_from([*_SPECIAL, "word", "Word."]), min_size=1, max_size=80).map("".join),
    _RUNS,
)


def _embed_problems(embed: Any) -> list[str]:
    data = embed.to_dict()
    problems = [] if within_discord_limits({"embeds": [data]}) else ["over a Discord limit"]
    if len(embed) > 6000:
        problems.append(f"embed total {len(embed)}")
    if not (data.get("description") or "").strip():
        problems.append("empty description")
    for field in data.get("fields") or []:
        if not field["name"].strip() or not field["value"].strip():
            problems.append("blank field")
    return problems


@settings(max_examples=SEARCH_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=QUESTIONS)
def test_any_question_searches_and_renders_within_limits(retriever, question: str):
    """Whatever a user types, search answers or abstains (wordless text: EmptyQueryError) and the reply fits Discord."""
    if not has_words(collapse_spaces(strip_invisible(question))):
        with pytest.raises(EmptyQueryError):
            retriever.search(question)
        return
    answer = retriever.search(question)
    assert answer.abstained == (not answer.hits) and len(answer.hits) <= retriever.settings.k
    sources = {s.id: s for s in retriever.sources}
    view = render_answer(answer, sources, question=question)
    assert _embed_problems(to_embed(view)) == []


@st.composite
def passages(draw: st.DrawFn, source_id: str, number: int) -> Passage:
    sentences = tuple(draw(st.lists(TEXT, min_size=1, max_size=6)))
    speaker = draw(
        st.none() | st.builds(Speaker, TEXT, st.none() | TEXT, st.none() | TEXT)  # type: ignore[arg-type]
    )
    return Passage(
        id=f"p{number}",
        source_id=source_id,
        number=number,
        text=" ".join(sentences),
        sentences=sentences,
        speaker=speaker,
        is_quote=speaker is not None,
    )


@st.composite
def answers(draw: st.DrawFn) -> tuple[Answer, dict[str, Source], str]:
    count = draw(st.integers(1, 6))
    source_ids = draw(st.lists(st.sampled_from(["a", "b"]), min_size=count, max_size=count))
    found = [draw(passages(sid, number)) for number, sid in enumerate(source_ids, 1)]
    scores = Scores(0.5, 0.5, 0.5, 0.5)
    hits = tuple(
        Hit(
            passage=p,
            score=1.0 / rank,
            highlight=p.sentences[0],
            highlight_indices=tuple(
                sorted(draw(st.sets(st.integers(0, len(p.sentences) - 1), min_size=1)))
            ),
            scores=scores,
        )
        for rank, p in enumerate(found, 1)
    )
    sources = {
        sid: Source(
            id=sid,
            title=draw(TEXT),
            publisher=draw(st.none() | TEXT),
            url=draw(st.none() | st.just("https://example.org/article")),
            author=None,
            date=None,
            content_hash="0",
            passages=tuple(p for p in found if p.source_id == sid),
        )
        for sid in sorted(set(source_ids))
    }
    abstained = draw(st.booleans())
    answer = Answer(
        query=draw(TEXT),
        hits=() if abstained else hits,
        abstained=abstained,
        threshold=0.14,
        nearest=hits if abstained else (),
        source=draw(st.none() | st.sampled_from(sorted(sources))),
    )
    return answer, sources, draw(QUESTIONS)


@settings(max_examples=RENDER_EXAMPLES, deadline=None)
@given(case=answers(), per_page=st.none() | st.integers(1, 4), page=st.integers(0, 3))
def test_any_answer_renders_within_discord_limits(case, per_page: int | None, page: int):
    """Whatever an article says and whoever speaks, the answer or abstention embed fits Discord's limits."""
    answer, sources, question = case
    view = render_answer(answer, sources, question=question, page=page, per_page=per_page)
    assert _embed_problems(to_embed(view)) == []
