"""A deploy in the middle of a conversation: the bot process is replaced by a new one, and the
buttons and follow-ups of answers posted before, and the pages of a source list, still work."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from fakecord import FakeDiscord
from fakecord.processes import bot_env, start_bot, wait_for_log
from index.config import IndexSettings
from index.encoders.torch import Encoder
from index.retriever import Retriever
from tests.bot.test_e2e import EPHEMERAL
from tests.bot.ui.test_components import button_id, buttons
from tests.conftest import write_notes
from tests.reliability.helpers import TIMEOUT, ask_by_mention, mention

STARTUP_TIMEOUT = 240.0


async def _start(fake: FakeDiscord, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as log_file:
        process = await start_bot(env, log_file)
    await asyncio.wait_for(wait_for_log(log, "connected as", process), STARTUP_TIMEOUT)
    return process


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), TIMEOUT)


async def _click(fake: FakeDiscord, message: dict[str, Any], label: str) -> dict[str, Any]:
    sent = await fake.click_component(message, button_id(message, label))
    return await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)


async def test_buttons_and_follow_ups_work_after_the_process_is_replaced(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    """After SIGTERM and a new process, More/Context/👍/Why/Share on older answers still work,
    and a reply to an older answer is still answered as its follow-up."""
    async with FakeDiscord(point_discord=False) as fake:
        env = bot_env(fake, process_env)
        first = await _start(fake, env, tmp_path / "first.log")
        try:
            public = await ask_by_mention(fake, "Why did Putin start the war?")
            sent = await fake.invoke_slash(
                "ask", {"question": "Who is Barbara Keleman?", "private": True}
            )
            private = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
        finally:
            await _stop(first)
        second = await _start(fake, env, tmp_path / "second.log")
        try:
            paged = await _click(fake, public, "More")
            assert (
                paged["id"] == public["id"] and "page 2/3" in paged["embeds"][0]["footer"]["text"]
            )
            with_context = await _click(fake, paged, "Context")
            assert "(before)" in with_context["embeds"][0]["description"]
            voted = await _click(fake, with_context, "👍")
            assert "👍 1" in buttons(voted)
            why = await _click(fake, voted, "Why")
            assert why["flags"] & EPHEMERAL and "paragraph cosine" in why["content"]

            sent = await fake.click_component(private, button_id(private, "Share"))
            shared = await fake.wait_for_message(
                lambda m: m.get("embeds") and m["embeds"][0].get("author"),
                from_bot=True,
                timeout=TIMEOUT,
            )
            assert "Keleman" in shared["embeds"][0]["description"]

            reply = await fake.send_user_message(
                content=mention(fake, "and what is it about now?"),
                message_reference=public["id"],
            )
            answer = await fake.wait_for_reply_to(reply["id"], timeout=TIMEOUT)
            assert "following up on: Why did Putin start the war?" in answer["embeds"][0][
                "description"
            ].replace("\\", "")
        finally:
            await _stop(second)
        assert second.returncode == 0


@pytest.fixture
def three_sources_env(
    process_env: dict[str, str], tmp_path: Path, encoder: Encoder
) -> dict[str, str]:
    """The process environment over three short notes listed one per page, index built."""
    sources = write_notes(tmp_path / "sources", 3)
    Retriever(IndexSettings(sources_dir=sources, cache_dir=tmp_path / "cache"), encoder=encoder)
    return {
        **process_env,
        "QUOTEBOT_INDEX__SOURCES_DIR": str(sources),
        "QUOTEBOT_INDEX__CACHE_DIR": str(tmp_path / "cache"),
        "QUOTEBOT_BOT__DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'quotebot.db'}",
        "QUOTEBOT_BOT__SOURCES_PER_PAGE": "1",
    }


async def test_source_list_pages_turn_after_the_process_is_replaced(
    three_sources_env: dict[str, str], tmp_path: Path
) -> None:
    """After SIGTERM and a new process, Next and Previous under a /sources list posted before
    still turn its pages, in the same message."""
    async with FakeDiscord(point_discord=False) as fake:
        env = bot_env(fake, three_sources_env)
        first = await _start(fake, env, tmp_path / "first.log")
        try:
            sent = await fake.invoke_slash("sources")
            listed = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
        finally:
            await _stop(first)
        assert listed["embeds"][0]["footer"]["text"] == "Page 1 of 3"
        second = await _start(fake, env, tmp_path / "second.log")
        try:
            page_two = await _click(fake, listed, "Next")
            page_three = await _click(fake, page_two, "Next")
            back = await _click(fake, page_three, "Previous")
        finally:
            await _stop(second)
        assert second.returncode == 0
    assert page_two["id"] == listed["id"]
    assert [f["name"] for f in page_two["embeds"][0]["fields"]] == ["Note 1"]
    assert page_three["embeds"][0]["footer"]["text"] == "Page 3 of 3"
    assert buttons(page_three)["Next"].get("disabled")
    assert back["embeds"][0]["footer"]["text"] == "Page 2 of 3"
    assert not buttons(back)["Previous"].get("disabled")
