"""Sharding: `python -m bot` processes with disjoint shard ids split the servers between them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import pytest

from bot.settings import BotSettings
from fakecord import FakeDiscord
from fakecord.processes import bot_env, start_bot, wait_for_log
from index.retriever import Retriever

# Each process loads torch and the model: slow on a busy machine, so wait long.
STARTUP_TIMEOUT = 240.0
TIMEOUT = 60.0
SHARDS = 2
CONNECTED = re.compile(r"Shard ID (\d+) has connected to Gateway \(Session ID: (\w+)\)")


async def test_two_processes_with_disjoint_shards_each_answer_only_their_servers(
    retriever: Retriever, tmp_path: Path
) -> None:
    """Two bot processes (shard 0 and shard 1 of 2) each see and answer only their own server."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "DISCORD_"))}
    async with FakeDiscord(default_world=False, point_discord=False) as fake:
        guilds, channels = [], []
        for shard in range(SHARDS):
            # A server's shard is (id >> 22) % shard_count: ids 1000 << 22 and 1001 << 22.
            guild = fake.add_guild(f"Shard {shard} server", guild_id=(1000 + shard) << 22)
            assert (int(guild["id"]) >> 22) % SHARDS == shard
            guilds.append(guild)
            channels.append(fake.add_text_channel(guild, "general"))
        processes, logs = [], []
        try:
            for shard in range(SHARDS):
                logs.append(tmp_path / f"shard-{shard}.log")
                env = {
                    **bot_env(fake, clean),
                    "QUOTEBOT_BOT__SHARD_COUNT": str(SHARDS),
                    "QUOTEBOT_BOT__SHARD_IDS": str(shard),
                    "QUOTEBOT_BOT__GUILD_READY_TIMEOUT": "0.1",
                    "QUOTEBOT_BOT__DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/shard-{shard}.db",
                    "QUOTEBOT_INDEX__SOURCES_DIR": str(retriever.settings.sources_dir),
                    "QUOTEBOT_INDEX__CACHE_DIR": str(retriever.settings.cache_dir),
                }
                with logs[-1].open("wb") as log_file:
                    processes.append(await start_bot(env, log_file))
            ready = [
                wait_for_log(log, "connected as", process)
                for log, process in zip(logs, processes, strict=True)
            ]
            outputs = await asyncio.wait_for(asyncio.gather(*ready), STARTUP_TIMEOUT)

            asked = []
            for guild, channel in zip(guilds, channels, strict=True):
                sent = await fake.invoke_slash(
                    "ask",
                    {"question": "Which country supplies Russia with drones?"},
                    user=guild["owner_id"],
                    channel_id=channel["id"],
                )
                reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
                assert "banking on Iran" in reply["embeds"][0]["description"]
                asked.append(sent["id"])

            for shard, output in enumerate(outputs):
                assert "to 1 guild(s)" in output, output[-3000:]
                connected = CONNECTED.findall(output)
                assert [int(s) for s, _ in connected] == [shard], output[-3000:]
                session = fake.gateway.sessions[connected[0][1]]
                assert session.shard == (shard, SHARDS)
                received = {
                    p["d"]["id"] for p in session.buffer if p.get("t") == "INTERACTION_CREATE"
                }
                assert received == {asked[shard]}  # its own server's question, not the other's
        finally:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    await asyncio.wait_for(process.wait(), timeout=TIMEOUT)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def test_shard_ids_without_a_shard_count_are_refused_with_the_fix():
    """`shard_ids` alone, or ids outside the shard count, are refused with what to set."""
    with pytest.raises(ValueError, match="QUOTEBOT_BOT__SHARD_COUNT"):
        BotSettings(shard_ids=[0])
    with pytest.raises(ValueError, match="from 0 to 1"):
        BotSettings(shard_count=2, shard_ids=[2])
    assert BotSettings(shard_count=4, shard_ids="2, 3").shard_ids == [2, 3]
