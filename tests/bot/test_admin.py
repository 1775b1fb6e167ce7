"""Server admin features over the wire: answer-channels, settings, permissions, /reload, /stats."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3

import pytest
from sqlalchemy.engine import make_url

from bot.bot import Quotebot
from bot.storage import Database, failures
from fakecord import FakeDiscord, Permission, running_bot
from index.retriever import Retriever
from tests.bot.conftest import TIMEOUT, connected, database_locked, make_bot_settings
from tests.bot.test_e2e import EPHEMERAL
from tests.bot.ui.test_components import ask, buttons, click
from tests.conftest import SOURCES

ADMIN = int(Permission.MANAGE_GUILD | Permission.SEND_MESSAGES | Permission.VIEW_CHANNEL)
MEMBER = int(Permission.SEND_MESSAGES | Permission.VIEW_CHANNEL)


async def admin(fake, name: str, options: dict | None = None, **kwargs) -> dict:
    sent = await fake.invoke_slash(name, options or {}, member_permissions=ADMIN, **kwargs)
    return await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)


async def assert_not_answered(fake, content: str) -> None:
    """Post `content` in the channel and show the bot let it pass: a DM sent after it is answered
    (the bot has handled both by then), and nothing replies to the message."""
    ignored = await fake.send_user_message(content=content)
    marker = await fake.send_dm(content="ukraine air defence")
    await fake.wait_for_reply_to(marker["id"], timeout=TIMEOUT)
    assert not [
        m
        for m in fake.sent_messages()
        if (m.get("message_reference") or {}).get("message_id") == ignored["id"]
    ]


async def test_answer_channel_takes_every_message_as_a_question(discord_bot):
    """After `/quotebot channel add`, every message there is answered; after remove, none is."""
    fake, _ = discord_bot
    added = await admin(fake, "quotebot channel add")
    assert added["flags"] & EPHEMERAL and "is now an answer-channel" in added["content"]
    listed = await admin(fake, "quotebot channel list")
    assert f"<#{fake.channel['id']}>" in listed["content"]
    question = await fake.send_user_message(content="Which country supplies Russia with drones?")
    reply = await fake.wait_for_reply_to(question["id"], timeout=TIMEOUT)
    assert "banking on Iran" in reply["embeds"][0]["description"]
    assert reply["allowed_mentions"]["parse"] == []
    await admin(fake, "quotebot channel remove")
    await assert_not_answered(fake, "Why did Putin start the war?")


async def test_an_answer_channel_is_answered_when_they_can_no_longer_be_read(retriever, tmp_path):
    """The answer-channels are read when the bot starts: once their table is gone, a question
    in one is still answered (before, each message read them and the error dropped it)."""
    path = tmp_path / "quotebot.db"
    url = f"sqlite+aiosqlite:///{path}"
    async with FakeDiscord() as fake:
        db = await Database.open(url)
        await db.add_answer_channel(int(fake.guild["id"]), int(fake.channel["id"]), 1)
        await db.close()
        quotebot = Quotebot(make_bot_settings(retriever, database_url=url), retriever)
        async with running_bot(quotebot, fake.token, ready_timeout=TIMEOUT):
            await fake.wait_for_commands(["ask"], timeout=TIMEOUT)
            with sqlite3.connect(path) as raw:
                raw.execute("ALTER TABLE answer_channels RENAME TO answer_channels_elsewhere")
            question = await fake.send_user_message(
                content="Which country supplies Russia with drones?"
            )
            reply = await fake.wait_for_reply_to(question["id"], timeout=TIMEOUT)
    assert "banking on Iran" in reply["embeds"][0]["description"]


async def test_answer_channel_warns_without_message_content_intent(bot_factory):
    """Adding an answer-channel when the bot cannot read messages says what to enable."""
    async with bot_factory(message_content_intent=False) as (fake, _):
        added = await admin(fake, "quotebot channel add")
        assert "Message Content intent" in added["content"]


async def test_threads_setting_answers_in_a_new_thread(discord_bot):
    """With threads on, a question in an answer-channel is answered in a new thread."""
    fake, _ = discord_bot
    await admin(fake, "quotebot channel add")
    changed = await admin(fake, "quotebot settings", {"threads": True})
    assert "new thread (answer-channels): **yes**" in changed["content"]
    question = await fake.send_user_message(content="Which country supplies Russia with drones?")
    threads = await fake.wait_for_request(
        lambda r: r.method == "POST" and r.path.endswith(f"/messages/{question['id']}/threads"),
        timeout=TIMEOUT,
    )
    thread_id = threads.response["id"]
    answer = await fake.wait_for_message(
        lambda m: m["channel_id"] == thread_id and m.get("embeds"), from_bot=True, timeout=TIMEOUT
    )
    assert "banking on Iran" in answer["embeds"][0]["description"]


async def test_server_settings_change_answers(discord_bot):
    """k and private-by-default set by an admin shape the next answers in that server."""
    fake, _ = discord_bot
    shown = await admin(fake, "quotebot settings")
    assert "Passages per page (k): **3** (default)" in shown["content"]
    await admin(fake, "quotebot settings", {"k": 1, "private": True})
    answer = await ask(fake)
    assert answer["flags"] & EPHEMERAL
    assert answer["embeds"][0].get("fields", []) == []  # one passage per page
    assert "page 1/3" in answer["embeds"][0]["footer"]["text"]
    public = await ask(fake, private=False)
    assert not public["flags"] & EPHEMERAL


async def test_server_cooldown_setting(discord_bot):
    """A server's own cooldown replaces the default for its members."""
    fake, _ = discord_bot
    await admin(fake, "quotebot settings", {"cooldown_questions": 1, "cooldown_seconds": 600})
    await ask(fake)
    limited = await ask(fake, "ukraine air defence")
    assert limited["flags"] & EPHEMERAL and "try again in" in limited["content"]
    assert "1 questions per 600 s" in limited["content"]


async def test_channel_cooldown_limits_a_busy_channel(bot_factory):
    """Past the per-channel limit, even a new asker in that channel is told to wait."""
    async with bot_factory(channel_cooldown_questions=2, channel_cooldown_seconds=600) as (fake, _):
        await ask(fake)
        await ask(fake, "ukraine air defence")
        sent = await fake.invoke_slash("ask", {"question": "drones"}, user=fake.other_user)
        reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
        assert "This channel is asking quickly" in reply["content"]


@pytest.mark.parametrize(
    ("command", "options", "says", "then", "shows"),
    [
        ("quotebot settings", {"k": 2}, "Settings updated.", "quotebot settings", "(k): **2**\n"),
        ("quotebot channel add", {}, "is now an answer-channel", "quotebot channel list", "<#"),
        ("quotebot settings", {}, "Current settings.", "quotebot channel list", "No answer-"),
    ],
)
async def test_an_admin_command_is_acknowledged_in_time_and_done_once_a_lock_ends(
    bot_factory, command, options, says, then, shows
):
    """Another process holds the database file locked when an admin runs a command: it is
    acknowledged within Discord's 3 s (privately, "thinking"), and once the lock is gone the
    change is saved (or the settings read) and the reply says so."""
    async with bot_factory() as (fake, quotebot):
        async with database_locked(quotebot):
            sent = await fake.invoke_slash(command, options, member_permissions=ADMIN)
            # The fake refuses a callback later than Discord's 3 s: this is the window.
            acknowledged = await fake.wait_for_interaction_callback(sent["id"])
        reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
        later = await admin(fake, then)
    assert acknowledged.callback_type == 5
    assert acknowledged.callback is not None
    assert acknowledged.callback["data"]["flags"] & EPHEMERAL
    assert reply["flags"] & EPHEMERAL and says in reply["content"]
    assert shows in later["content"]


async def test_an_admin_change_the_database_does_not_take_in_time_is_not_saved(
    bot_factory, monkeypatch, caplog
):
    """The lock outlasts the wait for an admin's change: the reply says, in one line, that it
    was NOT saved and what to check, and it never lands later (a change made once the lock is
    gone shows the first one's setting unchanged)."""
    monkeypatch.setattr(failures, "ADMIN_WAIT_SECONDS", 0.5)
    async with bot_factory() as (fake, quotebot):
        with caplog.at_level(logging.WARNING):
            async with database_locked(quotebot):
                sent = await fake.invoke_slash(
                    "quotebot settings", {"k": 2}, member_permissions=ADMIN
                )
                reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
        later = await admin(fake, "quotebot settings", {"private": True})
    assert reply["flags"] & EPHEMERAL and "\n" not in reply["content"]
    assert reply["content"].startswith("The change was NOT saved")
    assert failures.SLOW_DATABASE in reply["content"]
    assert later["content"].startswith("Settings updated.")
    assert "(k): **3** (default)" in later["content"]
    assert "Answers private by default: **yes**" in later["content"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "quotebot settings" in warnings[0], warnings


@pytest.mark.parametrize(
    ("command", "options", "table", "says"),
    [
        ("quotebot settings", {"k": 2}, "guild_settings", "The change was NOT saved"),
        ("quotebot channel add", {}, "answer_channels", "The change was NOT saved"),
        ("quotebot settings", {}, "guild_settings", "The settings could not be read"),
        ("stats", {}, "answers", "The stats could not be read"),
    ],
)
async def test_an_admin_command_the_database_refuses_says_what_was_not_done(
    discord_bot, caplog, command, options, table, says
):
    """The database refuses an admin command's work (its table is gone): the reply says in one
    line what was not done, with the database's reason, never that it was done; one WARNING."""
    fake, quotebot = discord_bot
    with sqlite3.connect(str(make_url(quotebot.settings.bot.database_url).database)) as raw:
        raw.execute(f"ALTER TABLE {table} RENAME TO {table}_elsewhere")
    with caplog.at_level(logging.WARNING):
        reply = await admin(fake, command, options)
    assert reply["flags"] & EPHEMERAL and "\n" not in reply["content"]
    assert reply["content"].startswith(says)
    assert f"no such table: {table}" in reply["content"].replace("\\", "")  # as Discord shows it
    assert "updated" not in reply["content"] and "is now" not in reply["content"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and f"no such table: {table}" in warnings[0], warnings


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("quotebot settings", {"k": 5}),
        ("quotebot channel add", {}),
        ("reload", {}),
        ("stats", {}),
    ],
)
async def test_members_without_manage_server_are_refused_by_the_bot(discord_bot, command, options):
    """Even if the client shows an admin command, the bot itself refuses members without Manage Server."""
    fake, bot = discord_bot
    # A server can override command permissions so the client shows the command to everyone.
    for synced in fake.world.global_commands:
        synced["default_member_permissions"] = None
    sent = await fake.invoke_slash(command, options, member_permissions=MEMBER)
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert reply["flags"] & EPHEMERAL and "Manage Server" in reply["content"]
    config = await bot.database.guild_config(int(fake.guild["id"]))
    assert config.k is None
    assert bot.database.answer_channels(int(fake.guild["id"])) == []


async def test_admin_commands_are_hidden_from_members_by_default(discord_bot):
    """Admin commands are synced with default permissions Manage Server."""
    fake, _ = discord_bot
    synced = {c["name"]: c for c in fake.synced_commands()}
    for name in ("quotebot", "reload", "stats"):
        assert int(synced[name]["default_member_permissions"]) == int(Permission.MANAGE_GUILD)
    assert synced["ask"].get("default_member_permissions") is None


async def test_stats_counts_questions_votes_and_attaches_a_chart(discord_bot):
    """/stats shows questions, answered vs abstained, votes, unanswered questions and a PNG chart."""
    fake, _ = discord_bot
    answer = await ask(fake)
    await click(fake, answer, "👍")
    await ask(fake, "What is the recipe for pancakes?")
    await ask(fake, "what is the recipe for pancakes?")
    reply = await admin(fake, "stats")
    fields = {f["name"]: f["value"] for f in reply["embeds"][0]["fields"]}
    assert (fields["Questions"], fields["Answered"], fields["Abstained"]) == ("3", "1", "2")
    assert fields["Votes"].startswith("👍 1 · 👎 0")
    assert "2× what is the recipe for pancakes?" in fields["Most frequent unanswered questions"]
    attachment = reply["attachments"][0]
    assert attachment["filename"] == "stats.png"
    assert fake.attachment_bytes(attachment)[:8] == b"\x89PNG\r\n\x1a\n"
    assert reply["embeds"][0]["image"]["url"].endswith("/stats.png")  # resolved like Discord
    assert buttons(answer)
    assert "fake-bot-token" not in json.dumps(reply)


async def test_reload_picks_up_a_new_source_without_restart(tmp_path, encoder):
    """An admin adds an article, runs /reload; the reply says what changed and it is answerable."""
    sources = tmp_path / "sources"
    shutil.copytree(SOURCES, sources)
    from index.config import IndexSettings

    retriever = Retriever(
        IndexSettings(sources_dir=sources, cache_dir=tmp_path / "cache"), encoder=encoder
    )
    async with connected(retriever) as (fake, _):
        (sources / "bakery.md").write_text(
            "---\ntitle: Bakery wins\npublisher: Town News\n---\n\n"
            "The Mill Street bakery won the national bread prize for its sourdough.\n",
            encoding="utf-8",
        )
        reply = await admin(fake, "reload")
        # Exactly what changed: the new source, its one paragraph, its one text embedded.
        assert "added: bakery; paragraphs +1 / -0; embedded 1 new texts" in reply["content"]
        answer = await ask(fake, "Which bakery won the bread prize?")
        assert "Mill Street bakery" in answer["embeds"][0]["description"]
        again = await admin(fake, "reload")
        assert "no change" in again["content"]
