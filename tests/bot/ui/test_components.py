"""The buttons under an answer, clicked over the wire: paging, context, votes, share, why."""

from __future__ import annotations

import asyncio

from tests.bot.conftest import TIMEOUT, database_locked
from tests.bot.test_e2e import EPHEMERAL

QUESTION = "Why did Putin start the war?"


def buttons(message: dict) -> dict[str, dict]:
    """The message's buttons by label."""
    return {
        c["label"]: c
        for row in message.get("components", [])
        for c in row["components"]
        if c.get("type") == 2
    }


def button_id(message: dict, label_start: str) -> str:
    return next(
        c["custom_id"] for label, c in buttons(message).items() if label.startswith(label_start)
    )


async def ask(fake, question: str = QUESTION, **options) -> dict:
    sent = await fake.invoke_slash("ask", {"question": question, **options})
    return await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)


async def click(fake, message: dict, label: str, user=None) -> dict:
    """Click a button; return the interaction's visible reply (the edited message or a new one)."""
    sent = await fake.click_component(message, button_id(message, label), user=user)
    return await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)


async def test_more_and_back_page_through_passages_in_the_same_message(discord_bot):
    """More shows the next passages by editing the answer; Back returns to the first page."""
    fake, _ = discord_bot
    first = await ask(fake)
    assert "page 1/3" in first["embeds"][0]["footer"]["text"]
    assert buttons(first)["Back"].get("disabled")
    second = await click(fake, first, "More")
    assert second["id"] == first["id"]  # edited, not a new message
    assert "page 2/3" in second["embeds"][0]["footer"]["text"]
    assert second["embeds"][0]["description"] != first["embeds"][0]["description"]
    back = await click(fake, second, "Back")
    assert back["embeds"][0]["description"] == first["embeds"][0]["description"]
    assert len(fake.sent_messages(include_interactions=False)) == 0


async def test_context_adds_the_paragraphs_around_the_quote(discord_bot):
    """Context shows the paragraphs before and after the quoted one, in place."""
    fake, _ = discord_bot
    first = await ask(fake, "Does Russia face strained ties?")
    with_context = await click(fake, first, "Context")
    description = with_context["embeds"][0]["description"]
    assert "(before)" in description and "(after)" in description
    assert buttons(with_context)["Hide context"]
    hidden = await click(fake, with_context, "Hide context")
    assert "(before)" not in hidden["embeds"][0]["description"]


async def test_votes_one_per_user_changeable_and_stored(discord_bot):
    """👍/👎: one vote per user per answer, changeable, counted on the buttons and stored."""
    fake, bot = discord_bot
    answer = await ask(fake)
    after_up = await click(fake, answer, "👍")
    assert "👍 1" in buttons(after_up)
    changed = await click(fake, after_up, "👎")
    assert {"👍 0", "👎 1"} <= set(buttons(changed))
    other = await click(fake, changed, "👍", user=fake.other_user)
    assert {"👍 1", "👎 1"} <= set(buttons(other))
    summary = await bot.database.stats(int(fake.guild["id"]))
    assert (summary.questions, summary.up, summary.down) == (1, 1, 1)


async def test_share_posts_a_private_answer_publicly_credited(discord_bot):
    """Share posts the private answer in the channel, credited to who asked, without pings."""
    fake, _ = discord_bot
    private = await ask(fake, private=True)
    assert private["flags"] & EPHEMERAL
    sent = await fake.click_component(private, button_id(private, "Share"))
    shared = await fake.wait_for_message(
        lambda m: m.get("embeds") and m["embeds"][0].get("author"), from_bot=True, timeout=TIMEOUT
    )
    assert shared["embeds"][0]["author"]["name"].startswith("Asked by ")
    assert not shared.get("flags", 0) & EPHEMERAL
    assert shared["embeds"][0]["description"] == private["embeds"][0]["description"]
    assert shared["allowed_mentions"]["parse"] == []
    await fake.wait_for_interaction_callback(sent["id"], timeout=TIMEOUT)


async def test_why_explains_the_scores_privately(discord_bot):
    """Why this passage? answers privately with the scores and the threshold."""
    fake, _ = discord_bot
    answer = await ask(fake)
    why = await click(fake, answer, "Why")
    assert why["flags"] & EPHEMERAL
    assert "paragraph cosine" in why["content"] and "threshold" in why["content"]
    abstained = await ask(fake, "What is the recipe for pancakes?")
    assert set(buttons(abstained)) == {"👍 0", "👎 0", "Why this passage?"}
    why = await click(fake, abstained, "Why")
    assert why["content"].startswith("Abstained")
    partial = await ask(fake, "What did Xi say about Macron?")
    why = await click(fake, partial, "Why")
    assert why["content"].startswith("Partial: The article doesn't mention Macron")
    assert "Words of the question the article lacks: Macron." in why["content"]


async def test_only_the_asker_can_page(discord_bot):
    """Someone else clicking More is told privately; the answer does not change."""
    fake, _ = discord_bot
    answer = await ask(fake)
    refusal = await click(fake, answer, "More", user=fake.other_user)
    assert refusal["flags"] & EPHEMERAL and "Only the person who asked" in refusal["content"]
    assert "page 1/3" in fake.message(answer["id"])["embeds"][0]["footer"]["text"]


async def test_a_click_is_acknowledged_in_time_when_the_database_hangs(bot_factory):
    """Another process holds the database file locked: More is still acknowledged within
    Discord's 3 s, and pages the answer once the lock is gone."""
    async with bot_factory(database_wait_seconds=0.5) as (fake, quotebot):
        first = await ask(fake)
        async with database_locked(quotebot):
            sent = await fake.click_component(first, button_id(first, "More"))
            # The fake refuses a callback later than Discord's 3 s: this is the window.
            acknowledged = await fake.wait_for_interaction_callback(sent["id"])
        second = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert acknowledged.callback_type == 6  # deferred update of the answer's message
    assert second["id"] == first["id"]
    assert "page 2/3" in second["embeds"][0]["footer"]["text"]


async def test_an_expired_button_says_so_privately_and_greys_the_buttons(bot_factory):
    """After the timeout a click is answered privately ("expired; ask again"), the buttons grey."""
    async with bot_factory(components_timeout=1.0) as (fake, _):
        answer = await ask(fake)
        await asyncio.sleep(1.5)
        sent = await fake.click_component(answer, button_id(answer, "More"))
        notice = await fake.wait_for_followup(sent["id"], timeout=TIMEOUT)
        assert notice["flags"] & EPHEMERAL
        assert notice["content"] == "This answer's buttons have expired; ask again."
        current = fake.message(answer["id"])
        assert all(c.get("disabled") for c in buttons(current).values())
        assert "page 1/3" in current["embeds"][0]["footer"]["text"]  # not paged
