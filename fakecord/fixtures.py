"""Ready-made pytest fixtures for the fake Discord server.

Enable them in a ``conftest.py`` with::

    from fakecord.fixtures import fake_discord  # noqa: F401

(``pytest_plugins`` only works in the root conftest, hence the import.)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest_asyncio

from .server import FakeDiscord

logger = logging.getLogger(__name__)


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started :class:`FakeDiscord` (default world) with discord.py pointed at it; stopped
    and discord.py's URLs restored after the test."""
    async with FakeDiscord() as fake:
        yield fake
