"""Start-up: a bot whose index is cached goes to gateway READY without embedding anything."""

from __future__ import annotations

from index.retriever import Retriever
from tests.bot.conftest import connected


async def test_cached_start_to_ready_encodes_nothing(retriever, encoder):
    """From loading the cached index to READY (cogs, command sync, gateway), no text is embedded.

    tests/index/search/test_store.py checks the index load alone; this follows the bot's whole start.
    """
    before = encoder.texts_encoded
    cached = Retriever(retriever.settings, encoder=encoder)
    assert not cached.last_report.rebuilt
    async with connected(cached) as (_, bot):
        assert bot.is_ready()
        assert encoder.texts_encoded == before  # passages: the torch reference
        assert cached.query_encoder.texts_encoded == 0  # questions: the default ONNX encoder
