"""Quotebot end to end: the real bot and retriever over the wire to a loopback fake Discord."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3

import pytest

from bot.__main__ import EXIT_INTENTS, EXIT_LOGIN, EXIT_UNREACHABLE, run_discord
from bot.endpoints import API_BASE_ENV, GATEWAY_ENV
from bot.rendering.text import PARTIAL_COLOUR
from bot.storage import Database
from bot.storage.database import DatabaseCorruptError
from fakecord import FakeDiscord
from index.ingest.text import normalise_for_match
from tests.bot.conftest import TIMEOUT, connected, database_locked, make_bot_settings
from tests.conftest import EVAL, write_notes

TITLE = "Why Vladimir Putin needs Xi Jinping now more than ever"
EPHEMERAL = 1 << 6


def dev_questions() -> list[dict]:
    lines = (EVAL / "dev-questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def quoted_text(message: dict) -> str:
    """The best passage an answer quotes, with the markdown taken off."""
    description = message["embeds"][0]["description"]
    quote = [line[2:] for line in description.split("\n") if line.startswith("> ")]
    return normalise_for_match(" ".join(quote).replace("**", "").replace("\\", ""))


def pings_nobody(message: dict) -> bool:
    allowed = message.get("allowed_mentions")
    return allowed is not None and allowed.get("parse") == [] and not allowed.get("replied_user")


# Dev questions the retriever ranks right at 1 (test_retriever checks the rest of the set).
@pytest.mark.parametrize(
    "item", [dev_questions()[i] for i in (0, 1, 2, 5, 6, 9)], ids=lambda item: item["q"][:30]
)
async def test_ask_quotes_the_passage_with_the_gold_phrase(discord_bot, item):
    """/ask defers, then answers with an embed quoting the paragraph that holds the answer."""
    fake, _ = discord_bot
    sent = await fake.invoke_slash("ask", {"question": item["q"]})
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert fake.interaction(sent["id"]).callback_type == 5  # deferred first
    assert any(normalise_for_match(g) in quoted_text(reply) for g in item["gold"])
    assert TITLE in reply["embeds"][0]["description"]
    assert pings_nobody(reply)


async def test_ask_shows_speaker_and_bold_highlight(discord_bot):
    """A quoted answer names the speaker and marks the answering sentence in bold."""
    fake, _ = discord_bot
    sent = await fake.invoke_slash(
        "ask", {"question": "Who said Russia is not alone on the world stage?"}
    )
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    description = reply["embeds"][0]["description"]
    assert "— Francis Lee-Saunders, Dragonfly" in description
    assert "**" in description and "¶1" in description  # ¶10 or ¶11


async def test_private_ask_is_ephemeral(discord_bot):
    """`private:true` answers only to the asker."""
    fake, _ = discord_bot
    sent = await fake.invoke_slash(
        "ask", {"question": "Why did Putin start the war?", "private": True}
    )
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert reply["flags"] & EPHEMERAL


async def test_unanswerable_question_gets_the_abstention(discord_bot):
    """Nothing answers: the bot says so and quotes nothing as an answer."""
    fake, _ = discord_bot
    sent = await fake.invoke_slash("ask", {"question": "What is the recipe for pancakes?"})
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    description = reply["embeds"][0]["description"]
    assert description.startswith(f"Nothing in *{TITLE}* answers that.")
    assert "> " not in description


async def test_partial_answer_says_what_is_missing_before_the_closest_quote(discord_bot):
    """On topic but about someone the article never mentions: said first, then the closest quote."""
    fake, _ = discord_bot
    sent = await fake.invoke_slash("ask", {"question": "What did Xi say about Macron?"})
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    embed = reply["embeds"][0]
    first_line, *rest = embed["description"].split("\n")
    assert first_line == "**The article doesn't mention Macron.** Closest:"
    assert rest[0].startswith("> ") and TITLE in embed["description"]
    assert embed["color"] == PARTIAL_COLOUR
    asked_number = await fake.invoke_slash("ask", {"question": "how many drones has iran sent"})
    reply = await fake.wait_for_interaction_reply(asked_number["id"], timeout=TIMEOUT)
    description = reply["embeds"][0]["description"]
    assert description.startswith("**The article doesn't give a number for that.** Closest:")
    assert "Shahed drones" in description
    assert pings_nobody(reply)


async def test_empty_and_emoji_questions_are_refused_privately(discord_bot):
    """A question with no words is answered at once, privately, with what to do."""
    fake, _ = discord_bot
    for question in ("   ", "😀🎉🔥"):
        sent = await fake.invoke_slash("ask", {"question": question})
        reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
        assert reply["flags"] & EPHEMERAL
        assert "question" in reply["content"]


async def test_huge_question_and_everyone_ping_are_harmless(discord_bot):
    """A 5000-character question with @everyone is answered within limits and pings nobody."""
    fake, _ = discord_bot
    question = "@everyone why does Putin need Xi? " + "drones from Iran " * 300
    assert len(question) > 5000
    message = await fake.send_user_message(content=f"<@{fake.bot_user['id']}> {question}")
    reply = await fake.wait_for_reply_to(message["id"], timeout=TIMEOUT)
    assert pings_nobody(reply)
    assert "@everyone" not in json.dumps(reply["embeds"])
    # The slash path caps the option at 2000 characters, as Discord does.
    sent = await fake.invoke_slash(
        "ask", {"question": "@everyone @here why does Putin need Xi? " * 40}
    )
    answer = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert pings_nobody(answer)
    assert "@everyone" not in json.dumps(answer["embeds"]) and "@here" not in json.dumps(
        answer["embeds"]
    )


async def test_mention_gets_the_answer_as_a_reply(discord_bot):
    """`@Quotebot question` is answered as a reply to that message, without pinging the author."""
    fake, _ = discord_bot
    message = await fake.send_user_message(
        content=f"<@{fake.bot_user['id']}> Which country supplies Russia with drones?"
    )
    reply = await fake.wait_for_reply_to(message["id"], timeout=TIMEOUT)
    assert "banking on iran" in quoted_text(reply)
    assert pings_nobody(reply)
    posts = fake.requests_to("POST", f"/channels/{fake.channel['id']}/messages")
    assert posts and str(posts[-1].json["message_reference"]["message_id"]) == message["id"]


async def test_mention_alone_in_a_reply_asks_about_the_replied_message(discord_bot):
    """A bare mention replying to a message answers about that message's text."""
    fake, _ = discord_bot
    original = await fake.send_user_message(
        author=fake.other_user, content="Does Russia still trade with non-European countries?"
    )
    ask = await fake.send_user_message(
        content=f"<@{fake.bot_user['id']}>", message_reference=original["id"]
    )
    reply = await fake.wait_for_reply_to(ask["id"], timeout=TIMEOUT)
    assert "trade with other non-european countries does continue" in quoted_text(reply)


async def test_mention_without_question_explains_how_to_ask(discord_bot):
    """A bare mention with nothing to answer explains how to ask."""
    fake, _ = discord_bot
    ask = await fake.send_user_message(content=f"<@{fake.bot_user['id']}>")
    reply = await fake.wait_for_reply_to(ask["id"], timeout=TIMEOUT)
    assert "Ask me something about the article" in reply["content"]


async def test_direct_messages_are_questions(discord_bot):
    """In a DM every message is a question."""
    fake, _ = discord_bot
    dm = await fake.send_dm(content="Why did Putin start the war?")
    reply = await fake.wait_for_reply_to(dm["id"], timeout=TIMEOUT)
    assert "the reasons why he started the war" in quoted_text(reply)


async def test_messages_not_addressed_to_the_bot_and_bots_are_ignored(discord_bot):
    """Plain chatter, other bots and the bot's own messages get no answer."""
    fake, _ = discord_bot
    robot = fake.add_user("robot")
    robot["bot"] = True
    await fake.send_user_message(content="why did Putin start the war?")
    await fake.send_user_message(author=robot, content=f"<@{fake.bot_user['id']}> why the war?")
    marker = await fake.send_dm(content="Which country supplies Russia with drones?")
    await fake.wait_for_reply_to(marker["id"], timeout=TIMEOUT)
    replies = fake.sent_messages(include_interactions=False)
    assert len(replies) == 1  # only the DM was answered; the echo of it was not


async def test_context_menu_asks_about_the_chosen_message(discord_bot):
    """ "Ask Quotebot" on a message answers with that message's text as the question."""
    fake, _ = discord_bot
    target = await fake.send_user_message(
        author=fake.other_user, content="Will China give Russia military aid?"
    )
    sent = await fake.invoke_message_command("Ask Quotebot", target)
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    text = quoted_text(reply)
    assert "red line it will not cross" in text or "offering military aid to russia" in text


async def test_context_menu_works_without_message_content_intent(bot_factory):
    """The message command carries its text even when the bot cannot read message content."""
    async with bot_factory(message_content_intent=False) as (fake, _):
        target = await fake.send_user_message(content="Which country supplies Russia with drones?")
        sent = await fake.invoke_message_command("Ask Quotebot", target)
        reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
        assert "banking on iran" in quoted_text(reply)


async def test_sources_lists_the_article(discord_bot):
    """/sources lists each source with title, publisher and paragraph count."""
    fake, _ = discord_bot
    sent = await fake.invoke_slash("sources")
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    field = reply["embeds"][0]["fields"][0]
    assert field["name"] == TITLE
    assert "The Independent" in field["value"] and "18 paragraphs" in field["value"]


async def test_source_and_autocomplete(discord_bot):
    """/source shows metadata and the opening; its id autocompletes from the title."""
    fake, _ = discord_bot
    auto = await fake.invoke_autocomplete("source", {"id": "putin"}, "id")
    choices = await fake.wait_for_autocomplete(auto["id"], timeout=TIMEOUT)
    assert choices[0]["value"] == "putin-needs-xi"
    sent = await fake.invoke_slash("source", {"id": "putin-needs-xi"})
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    embed = reply["embeds"][0]
    assert embed["title"] == TITLE
    assert embed["description"].startswith("> In the last minutes of their meeting in Moscow")


async def test_passage_quotes_paragraph_eleven_with_its_speaker(discord_bot):
    """/passage quotes paragraph 11 verbatim with speaker Lee-Saunders; 99 is out of range."""
    fake, _ = discord_bot
    sent = await fake.invoke_slash("passage", {"source": "putin-needs-xi", "number": 11})
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    description = reply["embeds"][0]["description"]
    assert description.startswith(
        "> “Russia does face strained ties but it is by no means completely alone on the world stage.”"
    )
    assert "— Francis Lee-Saunders" in description
    sent = await fake.invoke_slash("passage", {"source": "putin-needs-xi", "number": 99})
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert reply["flags"] & EPHEMERAL and "1 to 18" in reply["content"]


async def test_help(discord_bot):
    """/help explains what the bot does and lists its commands."""
    fake, _ = discord_bot
    sent = await fake.invoke_slash("help")
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert "/ask" in reply["embeds"][0]["description"]


async def test_per_user_cooldown(bot_factory):
    """Past the per-user limit a question gets the time to wait, not silence."""
    async with bot_factory(cooldown_questions=2, cooldown_seconds=60) as (fake, _):
        for _ in range(2):
            sent = await fake.invoke_slash("ask", {"question": "Why did Putin start the war?"})
            await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
        sent = await fake.invoke_slash("ask", {"question": "Why did Putin start the war?"})
        reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
        assert reply["flags"] & EPHEMERAL and "try again in" in reply["content"]
        other = await fake.invoke_slash(
            "ask", {"question": "ukraine air defence"}, user=fake.other_user
        )
        assert (await fake.wait_for_interaction_reply(other["id"], timeout=TIMEOUT))["embeds"]


async def test_commands_sync_to_the_dev_guild_when_set(bot_factory):
    """With a dev guild, commands sync to that guild (instant) and not globally."""
    async with bot_factory(dev_guild_id="default") as (fake, _):
        names = {c["name"] for c in fake.synced_commands(fake.guild["id"])}
        assert {"ask", "sources", "source", "passage", "help", "Ask Quotebot"} <= names
        assert fake.synced_commands() == []


async def test_unexpected_error_gets_a_reference(discord_bot, monkeypatch, caplog):
    """A bug shows the user a short reference, and the log has the same reference with the traceback."""
    fake, bot = discord_bot

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(bot.retriever, "source", broken)
    with caplog.at_level(logging.ERROR):
        sent = await fake.invoke_slash("source", {"id": "putin-needs-xi"})
        reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert reply["content"].startswith("Something went wrong (ref ")
    ref = reply["content"].split("ref ")[1][:4]
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)


async def test_invalid_token_and_missing_intent_exit_cleanly(retriever, caplog):
    """A rejected token and a refused privileged intent each end with one line and an exit code."""
    async with FakeDiscord(token="the-real-token") as fake:
        settings = make_bot_settings(retriever)
        with caplog.at_level(logging.ERROR):
            assert await run_discord(settings, retriever) == EXIT_LOGIN
        assert "DISCORD_TOKEN" in caplog.text and "fake-bot-token" not in caplog.text
        assert fake.token == "the-real-token"
    async with FakeDiscord(token="fake-bot-token", privileged_intents_enabled=False):
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            assert await run_discord(make_bot_settings(retriever), retriever) == EXIT_INTENTS
        assert "Message Content intent" in caplog.text


async def test_sources_pages_past_ten(tmp_path, encoder):
    """With 12 sources, /sources shows 10 and a Next button that edits the list to the rest."""
    from index.config import IndexSettings
    from index.retriever import Retriever
    from tests.bot.ui.test_components import buttons, click

    sources = write_notes(tmp_path / "sources", 12)
    retriever = Retriever(
        IndexSettings(sources_dir=sources, cache_dir=tmp_path / "c"), encoder=encoder
    )
    async with connected(retriever) as (fake, _):
        sent = await fake.invoke_slash("sources")
        first = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
        assert len(first["embeds"][0]["fields"]) == 10
        assert first["embeds"][0]["footer"]["text"] == "Page 1 of 2"
        assert buttons(first)["Previous"].get("disabled")
        second = await click(fake, first, "Next")
        assert [f["name"] for f in second["embeds"][0]["fields"]] == ["Note 10", "Note 11"]
        assert second["embeds"][0]["footer"]["text"] == "Page 2 of 2"


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_gateway_close_4004_is_one_line_and_exit_3(retriever, caplog):
    """A token revoked while connected (the gateway closes with 4004): one line saying what to do,
    exit code 3, no traceback."""
    async with FakeDiscord(token="fake-bot-token") as fake:
        with caplog.at_level(logging.INFO):
            task = asyncio.create_task(run_discord(make_bot_settings(retriever), retriever))
            await fake.wait_for_identify(timeout=TIMEOUT)
            await fake.close_gateway(4004, "Authentication failed.")
            assert await asyncio.wait_for(task, TIMEOUT) == EXIT_LOGIN
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "4004" in errors[0].getMessage()
    assert "Developer Portal" in errors[0].getMessage()
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.WARNING)


async def test_discord_unreachable_is_retried_with_backoff_then_one_line(
    retriever, caplog, monkeypatch
):
    """Nothing listening where Discord should be: tried `connect_attempts` times with a doubling
    wait, then one line saying what to check and exit code 6."""
    import discord.gateway
    import discord.http

    port = _free_loopback_port()
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket,
        "DEFAULT_GATEWAY",
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
    )
    monkeypatch.setenv(API_BASE_ENV, f"http://127.0.0.1:{port}/api/v10")
    monkeypatch.setenv(GATEWAY_ENV, f"ws://127.0.0.1:{port}/")
    settings = make_bot_settings(retriever, connect_attempts=3, connect_backoff_seconds=0.2)
    with caplog.at_level(logging.INFO):
        assert await asyncio.wait_for(run_discord(settings, retriever), TIMEOUT) == (
            EXIT_UNREACHABLE
        )
    retries = [r.getMessage() for r in caplog.records if "trying again in" in r.getMessage()]
    assert len(retries) == 2
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "after 3 attempt(s)" in errors[0].getMessage()
    assert "network" in errors[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


async def test_damaged_database_stops_the_bot_before_it_connects(retriever, caplog, tmp_path):
    """A database with a damaged page: one line naming the file and how to recover, exit 5, and
    Discord is never contacted."""
    from tests.bot.storage.test_database import _answer, _damage_a_table_page

    path = tmp_path / "quotebot.db"
    db = await Database.open(f"sqlite+aiosqlite:///{path}")
    for n in range(200):
        await _answer(db, question=f"question {n} " * 20)
    await db.close()
    _damage_a_table_page(path)
    settings = make_bot_settings(retriever, database_url=f"sqlite+aiosqlite:///{path}")
    async with FakeDiscord(token="fake-bot-token") as fake:
        with caplog.at_level(logging.ERROR), pytest.raises(DatabaseCorruptError) as refused:
            await run_discord(settings, retriever)
        assert fake.gateway.identifies == []
    assert str(path) in str(refused.value)


async def test_an_answer_that_cannot_be_recorded_is_still_sent(retriever, caplog, tmp_path):
    """The database refuses the bookkeeping write (its answers table is gone): the asker still
    gets the answer, without buttons (each redraws the answer from its record), and the failure
    is one ERROR line."""
    from tests.reliability.helpers import DRONES, ask_by_mention, assert_quotes

    path = tmp_path / "quotebot.db"
    async with connected(retriever, database_url=f"sqlite+aiosqlite:///{path}") as (fake, _):
        with sqlite3.connect(path) as raw:
            raw.execute("ALTER TABLE answers RENAME TO answers_elsewhere")
        with caplog.at_level(logging.ERROR):
            reply = await ask_by_mention(fake, DRONES[0])
    assert_quotes(reply, DRONES[1])
    assert not reply.get("components")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "could not record" in errors[0] and DRONES[0] in errors[0]
    assert "no such table: answers" in errors[0] and "\n" not in errors[0]


async def test_a_question_is_answered_with_default_settings_when_they_cannot_be_read(
    retriever, caplog, tmp_path
):
    """The database refuses the server's settings (their table is gone): a mention and an /ask
    are still answered, with the defaults (public), and each question logs one WARNING saying
    what to check."""
    from tests.reliability.helpers import DRONES, ask_by_mention, assert_quotes

    path = tmp_path / "quotebot.db"
    async with connected(retriever, database_url=f"sqlite+aiosqlite:///{path}") as (fake, _):
        with sqlite3.connect(path) as raw:
            raw.execute("ALTER TABLE guild_settings RENAME TO guild_settings_elsewhere")
        with caplog.at_level(logging.WARNING):
            assert_quotes(await ask_by_mention(fake, DRONES[0]), DRONES[1])
            sent = await fake.invoke_slash("ask", {"question": DRONES[0]})
            reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert_quotes(reply, DRONES[1])
    assert not reply["flags"] & EPHEMERAL
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("bot")
    ]
    assert len(warnings) == 2, warnings
    assert all("settings of server" in w and "check the database" in w for w in warnings)
    assert all("no such table: guild_settings" in w and "\n" not in w for w in warnings)


async def test_ask_is_answered_privately_in_time_when_the_settings_read_hangs(retriever, caplog):
    """Another process holds the database file locked: /ask is still acknowledged within
    Discord's 3 s and answered, privately (the server may have chosen private answers), with one
    WARNING saying the settings read was slow and what to check."""
    from tests.reliability.helpers import DRONES, assert_quotes

    async with connected(retriever, database_wait_seconds=0.5) as (fake, quotebot):
        with caplog.at_level(logging.WARNING):
            async with database_locked(quotebot):
                sent = await fake.invoke_slash("ask", {"question": DRONES[0]})
                # The fake refuses a callback later than Discord's 3 s: this is the window.
                acknowledged = await fake.wait_for_interaction_callback(sent["id"])
            reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert acknowledged.callback_type == 5
    assert acknowledged.callback is not None
    assert acknowledged.callback.get("data", {}).get("flags", 0) & EPHEMERAL
    assert_quotes(reply, DRONES[1])
    assert reply["flags"] & EPHEMERAL
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("bot")
    ]
    assert len(warnings) == 1, warnings
    assert "settings of server" in warnings[0] and "privately" in warnings[0]
    assert "check the database" in warnings[0]
