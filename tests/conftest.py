"""Shared fixtures: the real model loaded once, and retrievers over temporary copies of sources."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from index.config import PROJECT_ROOT, IndexSettings
from index.encoders.torch import Encoder
from index.retriever import Retriever

# A fixed copy of the bundled article: what `index add` puts in the checkout's own sources/ must
# not change what the tests see.
SOURCES = Path(__file__).parent / "data" / "sources"
EVAL = PROJECT_ROOT / "eval"


def write_notes(folder: Path, count: int) -> Path:
    """A new `folder` of `count` one-line sources titled Note 0, Note 1, ... (numbers padded so that
    file names and titles sort in number order), each about a topic of its own."""
    folder.mkdir()
    width = len(str(count - 1))
    for i in range(count):
        number = f"{i:0{width}d}"
        (folder / f"note-{number}.md").write_text(
            f"---\ntitle: Note {number}\npublisher: Notes\n---\n\n"
            f"Note {i} is about topic number {i}.\n",
            encoding="utf-8",
        )
    return folder


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The bundled MiniLM, loaded once for the whole run."""
    return Encoder()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., IndexSettings]:
    """Settings over a private copy of the bundled sources and a private cache."""

    def make(**overrides: object) -> IndexSettings:
        sources = tmp_path / "sources"
        if not sources.exists():
            shutil.copytree(SOURCES, sources)
        values = {"sources_dir": sources, "cache_dir": tmp_path / "cache", **overrides}
        return IndexSettings(**values)

    return make


@pytest.fixture(scope="session")
def retriever(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Retriever:
    """A retriever over the bundled article, shared by tests that only read."""
    root = tmp_path_factory.mktemp("shared-index")
    shutil.copytree(SOURCES, root / "sources")
    settings = IndexSettings(sources_dir=root / "sources", cache_dir=root / "cache")
    return Retriever(settings, encoder=encoder)
