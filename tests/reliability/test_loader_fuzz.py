"""Fuzzed source files (.txt with a sidecar, .md with front matter, .html): each loads or fails
with a SourceLoadError naming the file, never another exception that would stop the bot."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from index.errors import SourceLoadError
from index.ingest.loaders import load_source
from index.models import Source
from tests.conftest import SOURCES

DATA = Path(__file__).parents[1] / "index" / "ingest" / "data"
REAL_FILES = [
    SOURCES / "putin-needs-xi.txt",
    DATA / "messy.txt",
    DATA / "interview.md",
    DATA / "page.html",
]
SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
EXAMPLES = 150

_WORDS = st.sampled_from(
    [
        "The",
        "minister",
        "said",
        "“Quote.”",
        "Putin",
        "---",
        "#",
        "##",
        "**",
        "<p>",
        "</p>",
        "<html>",
        "<title>",
        "<script>",
        "&amp;",
        "\n",
        "\n\n",
        "  ",
        "\x00",
        "\ufeff",
        "é",
        "😀",
    ]
)
_TEXT = st.one_of(
    st.text(max_size=1500),
    st.lists(_WORDS, max_size=300).map(" ".join),
    st.binary(max_size=1500).map(lambda b: b.decode("utf-8", "replace")),
)
_FRONT_MATTER = st.builds(
    lambda fields, closed, body: (
        "---\n"
        + "".join(f"{key}: {value}\n" for key, value in fields)
        + ("---\n" if closed else "")
        + body
    ),
    st.lists(
        st.tuples(
            st.sampled_from(["title", "id", "url", "publisher", "author", "date", "other", ""]),
            st.text(max_size=40),
        ),
        max_size=6,
    ),
    st.booleans(),
    _TEXT,
)
_HTML = st.builds(
    lambda title, paragraphs: (
        f"<html><head><title>{title}</title></head><body><article>"
        + "".join(f"<p>{p}</p>" for p in paragraphs)
    ),  # often left unclosed, as a truncation would
    st.text(max_size=60),
    st.lists(_TEXT, max_size=6),
)
CONTENT = st.one_of(
    st.binary(max_size=3000),
    _TEXT.map(str.encode),
    _FRONT_MATTER.map(str.encode),
    _HTML.map(str.encode),
)
SIDECAR = st.none() | st.text(max_size=200).map(str.encode) | st.binary(max_size=200)


def _load(name: str, content: bytes, sidecar: bytes | None = None) -> Source | None:
    """Load `content` saved as `name`; None when it was refused with a clear SourceLoadError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        if sidecar is not None:
            path.with_suffix(".toml").write_bytes(sidecar)
        try:
            source = load_source(path)
        except SourceLoadError as exc:
            message = str(exc)
            assert name in message or path.with_suffix(".toml").name in message, message
            assert message.strip() and "Traceback" not in message
            event(f"{path.suffix}: refused")
            return None
    assert source.passages and source.id and source.title
    assert [p.number for p in source.passages] == list(range(1, len(source.passages) + 1))
    assert all(p.text.strip() and p.sentences for p in source.passages)
    event(f"{Path(name).suffix}: loaded")
    return source


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(suffix=st.sampled_from(SUFFIXES), content=CONTENT, sidecar=SIDECAR)
def test_random_source_files_load_or_fail_clearly(suffix: str, content: bytes, sidecar):
    """A random source file (and sidecar) loads or is refused with a message naming the file."""
    _load(f"fuzz{suffix}", content, sidecar)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    real=st.sampled_from(REAL_FILES),
    cut=st.floats(0, 1),
    insert=st.none() | st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=40)),
)
def test_truncated_and_spliced_real_sources_load_or_fail_clearly(real: Path, cut: float, insert):
    """A real article cut short or with bytes spliced in loads or is refused with a message naming the file."""
    content = real.read_bytes()
    content = content[: int(len(content) * cut)]
    if insert is not None:
        at = int(len(content) * insert[0])
        content = content[:at] + insert[1] + content[at:]
    _load(real.name, content)
