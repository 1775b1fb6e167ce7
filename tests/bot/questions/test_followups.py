"""Follow-up questions over the wire: a reply to an answer, a mention in its thread, the next DM."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from index.ingest.text import normalise_for_match
from tests.bot.conftest import TIMEOUT, connected
from tests.bot.test_admin import admin
from tests.bot.test_e2e import quoted_text

# Asked alone, the follow-up quotes neither gold phrase (the test checks that too): the answer
# comes from the previous question.
AID = "Will China give Russia military aid?"
WHY_NOT = (
    "why not?",
    ("will not compromise china's economic recovery", "red line it will not cross"),
)
WAR = "Why did Putin start the war?"
NOW = ("and what is it about now?", ("a war for the survival of putin's regime",))


def mention(fake, text: str) -> str:
    return f"<@{fake.bot_user['id']}> {text}"


def following(message: dict) -> str | None:
    """The previous question an answer says it follows up on, if it says so."""
    description = message["embeds"][0]["description"].replace("\\", "")
    first = description.split("\n", 1)[0]
    prefix = "-# (following up on: "
    return first[len(prefix) : -1] if first.startswith(prefix) else None


def quotes(message: dict, gold: tuple[str, ...]) -> bool:
    return any(normalise_for_match(g) in quoted_text(message) for g in gold)


async def ask_alone(fake, question: str) -> dict:
    sent = await fake.invoke_slash("ask", {"question": question})
    return await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)


async def test_reply_to_an_answer_is_answered_as_its_follow_up(discord_bot):
    """ "why not?" in reply to an answer is searched with the question it answered, and says so."""
    fake, _ = discord_bot
    alone = await ask_alone(fake, WHY_NOT[0])
    assert not quotes(alone, WHY_NOT[1]) and following(alone) is None
    question = await fake.send_user_message(content=mention(fake, AID))
    answer = await fake.wait_for_reply_to(question["id"], timeout=TIMEOUT)
    reply = await fake.send_user_message(
        content=mention(fake, WHY_NOT[0]), message_reference=answer["id"]
    )
    followed = await fake.wait_for_reply_to(reply["id"], timeout=TIMEOUT)
    assert following(followed) == AID
    assert quotes(followed, WHY_NOT[1])


async def test_mention_in_the_answers_thread_follows_it_up(discord_bot):
    """In the thread an answer opened, the next mention follows up on the thread's question."""
    fake, _ = discord_bot
    await admin(fake, "quotebot channel add")
    await admin(fake, "quotebot settings", {"threads": True})
    question = await fake.send_user_message(content=WAR)
    thread_id = question["id"]  # a thread started from a message takes the message's id
    await fake.wait_for_message(
        lambda m: m["channel_id"] == thread_id and m.get("embeds"), from_bot=True, timeout=TIMEOUT
    )
    asked = await fake.send_user_message(channel_id=thread_id, content=mention(fake, NOW[0]))
    followed = await fake.wait_for_reply_to(asked["id"], timeout=TIMEOUT)
    assert following(followed) == WAR
    assert quotes(followed, NOW[1])


async def test_next_dm_follows_up_on_the_previous_one(discord_bot):
    """In a DM, a question right after an answer follows it up; a DM alone does not."""
    fake, _ = discord_bot
    alone = await ask_alone(fake, NOW[0])
    assert not quotes(alone, NOW[1])
    first = await fake.send_dm(content=WAR)
    await fake.wait_for_reply_to(first["id"], timeout=TIMEOUT)
    second = await fake.send_dm(content=NOW[0])
    followed = await fake.wait_for_reply_to(second["id"], timeout=TIMEOUT)
    assert following(followed) == WAR
    assert quotes(followed, NOW[1])


async def test_a_new_question_in_reply_is_answered_as_new(discord_bot):
    """A reply that asks something complete on its own is not bent by the previous question."""
    fake, _ = discord_bot
    question = await fake.send_user_message(content=mention(fake, WAR))
    answer = await fake.wait_for_reply_to(question["id"], timeout=TIMEOUT)
    reply = await fake.send_user_message(
        content=mention(fake, "Which country supplies Russia with drones?"),
        message_reference=answer["id"],
    )
    new = await fake.wait_for_reply_to(reply["id"], timeout=TIMEOUT)
    assert following(new) is None
    assert "banking on iran" in quoted_text(new)


async def test_the_conversation_expires(bot_factory):
    """After the follow-up window, a reply is a question of its own again."""
    async with bot_factory(followup_seconds=1.0) as (fake, _):
        question = await fake.send_user_message(content=mention(fake, AID))
        answer = await fake.wait_for_reply_to(question["id"], timeout=TIMEOUT)
        await asyncio.sleep(1.5)
        reply = await fake.send_user_message(
            content=mention(fake, WHY_NOT[0]), message_reference=answer["id"]
        )
        late = await fake.wait_for_reply_to(reply["id"], timeout=TIMEOUT)
        assert following(late) is None


async def test_a_follow_up_is_answered_as_new_when_the_conversations_cannot_be_read(
    retriever, caplog, tmp_path
):
    """The database refuses the conversations (their table is gone): a reply to an answer and
    an /ask in a DM are still answered, as new questions, with their buttons (the answers are
    recorded without their turns); each logs one WARNING saying which conversation could not be
    read and what to check, and one that its own turn could not be stored."""
    path = tmp_path / "quotebot.db"
    async with connected(retriever, database_url=f"sqlite+aiosqlite:///{path}") as (fake, _):
        question = await fake.send_user_message(content=mention(fake, WAR))
        answer = await fake.wait_for_reply_to(question["id"], timeout=TIMEOUT)
        with sqlite3.connect(path) as raw:
            raw.execute("ALTER TABLE conversation_turns RENAME TO conversation_turns_elsewhere")
        with caplog.at_level(logging.WARNING):
            reply = await fake.send_user_message(
                content=mention(fake, NOW[0]), message_reference=answer["id"]
            )
            replied = await fake.wait_for_reply_to(reply["id"], timeout=TIMEOUT)
            dm = fake.world.dm_channel(fake.user)
            sent = await fake.invoke_slash("ask", {"question": NOW[0]}, channel_id=dm["id"])
            asked = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    for new in (replied, asked):
        assert new.get("embeds") and new.get("components") and following(new) is None
    logged = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("bot")
    ]
    assert len(logged) == 4, logged
    reads = [w for w in logged if "could not read conversation" in w]
    writes = [w for w in logged if "could not store the conversation turn" in w]
    assert len(reads) == len(writes) == 2, logged
    assert all("check the database" in w for w in logged)
    assert all("no such table: conversation_turns" in w and "\n" not in w for w in logged)
