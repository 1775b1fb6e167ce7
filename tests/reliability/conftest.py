"""Fixtures for the reliability tests (helpers to import live in tests/reliability/helpers.py)."""

from __future__ import annotations

import os
import shutil

import pytest

from index.config import IndexSettings
from index.encoders.torch import Encoder
from index.retriever import Retriever
from tests.conftest import SOURCES


@pytest.fixture(scope="session")
def process_env(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> dict[str, str]:
    """Environment for `python -m bot` subprocesses: private sources, an index cache built
    in-process beforehand (so the process only loads it), a scratch database, fast start-up."""
    root = tmp_path_factory.mktemp("process")
    shutil.copytree(SOURCES, root / "sources")
    Retriever(
        IndexSettings(sources_dir=root / "sources", cache_dir=root / "cache"), encoder=encoder
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "DISCORD_"))}
    return {
        **clean,
        "QUOTEBOT_INDEX__SOURCES_DIR": str(root / "sources"),
        "QUOTEBOT_INDEX__CACHE_DIR": str(root / "cache"),
        "QUOTEBOT_BOT__DATABASE_URL": f"sqlite+aiosqlite:///{root / 'quotebot.db'}",
        "QUOTEBOT_BOT__GUILD_READY_TIMEOUT": "0.1",
    }
