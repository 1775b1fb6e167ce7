"""REST faults on the bot's answers: rate limits, server errors and expired interactions."""

from __future__ import annotations

import logging

import pytest

from tests.reliability.helpers import (
    DRONES,
    TIMEOUT,
    TRADE,
    WAR,
    ask_by_mention,
    assert_quotes,
    bot_on_fake,
    mention,
    replies_to,
)

MESSAGES = "/channels/{channel_id}/messages"
FOLLOWUP = "/webhooks/{application_id}/{token}"


def _attempts_to_reply(fake, message_id: str) -> list:
    return [
        r
        for r in fake.requests_to("POST", MESSAGES)
        if isinstance(r.json, dict)
        and str((r.json.get("message_reference") or {}).get("message_id")) == message_id
    ]


def _followups(fake, interaction: dict) -> list:
    token = fake.interaction(interaction["id"]).token
    return [r for r in fake.requests_to("POST", FOLLOWUP) if r.params.get("token") == token]


async def test_rate_limited_reply_is_sent_once_after_the_wait(retriever):
    """A 429 on the reply: the answer arrives once, after retry_after, with no duplicate."""
    async with bot_on_fake(retriever) as (fake, _):
        fault = fake.rate_limit("POST", MESSAGES, retry_after=0.5)
        message = await fake.send_user_message(content=mention(fake, DRONES[0]))
        assert_quotes(await fake.wait_for_reply_to(message["id"], timeout=TIMEOUT), DRONES[1])
        assert fault.hits == 1
        limited, delivered = _attempts_to_reply(fake, message["id"])
        assert (limited.status, delivered.status) == (429, 200)
        assert delivered.monotonic - limited.monotonic >= 0.5
        assert_quotes(await ask_by_mention(fake, WAR[0]), WAR[1])
        assert len(replies_to(fake, message["id"])) == 1


async def test_rate_limited_followup_is_sent_once_after_the_wait(retriever):
    """A 429 on /ask's follow-up: the answer arrives once, after retry_after."""
    async with bot_on_fake(retriever) as (fake, _):
        fault = fake.rate_limit("POST", FOLLOWUP, retry_after=0.5)
        sent = await fake.invoke_slash("ask", {"question": TRADE[0]})
        assert_quotes(await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT), TRADE[1])
        assert fault.hits == 1
        limited, delivered = _followups(fake, sent)
        assert (limited.status, delivered.status) == (429, 200)
        assert delivered.monotonic - limited.monotonic >= 0.5
        assert fake.interaction(sent["id"]).followup_ids == []  # it filled the deferred reply


@pytest.mark.parametrize("status", [500, 502])
async def test_server_error_on_reply_is_retried(retriever, status):
    """A 500/502 on the reply is retried: the answer arrives once, and the next question works."""
    async with bot_on_fake(retriever) as (fake, _):
        fake.fail("POST", MESSAGES, status)
        message = await fake.send_user_message(content=mention(fake, DRONES[0]))
        assert_quotes(await fake.wait_for_reply_to(message["id"], timeout=TIMEOUT), DRONES[1])
        assert [r.status for r in _attempts_to_reply(fake, message["id"])] == [status, 200]
        assert_quotes(await ask_by_mention(fake, WAR[0]), WAR[1])
        assert len(replies_to(fake, message["id"])) == 1


async def test_unavailable_on_reply_is_logged_with_the_question(retriever, caplog):
    """A 503 on the reply is logged with the question; the bot stays up and answers the next one."""
    async with bot_on_fake(retriever) as (fake, bot):
        fake.fail("POST", MESSAGES, 503)
        with caplog.at_level(logging.WARNING):
            message = await fake.send_user_message(content=mention(fake, DRONES[0]))
            await fake.wait_for_request(
                lambda r: r.route == MESSAGES and r.status == 503, timeout=TIMEOUT
            )
            assert_quotes(await ask_by_mention(fake, WAR[0]), WAR[1])
        assert replies_to(fake, message["id"]) == []
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
        assert any(DRONES[0] in line and "503" in line for line in lines), lines
        assert not bot.is_closed()


async def test_unavailable_on_followup_is_retried(retriever):
    """A 503 on /ask's follow-up is retried: the answer arrives once."""
    async with bot_on_fake(retriever) as (fake, _):
        fake.fail("POST", FOLLOWUP, 503)
        sent = await fake.invoke_slash("ask", {"question": DRONES[0]})
        assert_quotes(await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT), DRONES[1])
        assert [r.status for r in _followups(fake, sent)] == [503, 200]
        assert fake.interaction(sent["id"]).followup_ids == []


async def test_interaction_expired_before_the_answer_is_logged(retriever, caplog):
    """A follow-up refused because the interaction expired is logged once with the question; no crash."""
    async with bot_on_fake(retriever) as (fake, bot):
        # Hold the follow-up in flight, expire the token meanwhile (as 15 minutes would).
        fake.add_fault("POST", FOLLOWUP, status=None, delay=1.0)
        with caplog.at_level(logging.WARNING):
            sent = await fake.invoke_slash("ask", {"question": WAR[0]})
            await fake.wait_until(
                lambda: _followups(fake, sent), timeout=TIMEOUT, what="the follow-up"
            )
            fake.expire_interaction(sent["id"])
            await fake.wait_until(
                lambda: [r for r in _followups(fake, sent) if r.status == 404],
                timeout=TIMEOUT,
                what="the follow-up to be refused",
            )
            assert_quotes(await ask_by_mention(fake, TRADE[0]), TRADE[1])
        assert [r.status for r in _followups(fake, sent)] == [404]
        expired = [r for r in caplog.records if "expired" in r.getMessage()]
        assert len(expired) == 1 and WAR[0] in expired[0].getMessage()
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not bot.is_closed()


async def test_interaction_expired_before_it_is_acknowledged_is_logged(retriever, caplog):
    """An interaction Discord already forgot (callback 404) is logged once, not answered twice."""
    async with bot_on_fake(retriever) as (fake, _):
        with caplog.at_level(logging.WARNING):
            sent = await fake.invoke_slash("ask", {"question": DRONES[0]})
            fake.expire_interaction(sent["id"])
            await fake.wait_for_request(
                lambda r: (
                    r.route == "/interactions/{interaction_id}/{token}/callback" and r.status == 404
                ),
                timeout=TIMEOUT,
            )
            assert_quotes(await ask_by_mention(fake, WAR[0]), WAR[1])
        callbacks = fake.requests_to("POST", "/interactions/{interaction_id}/{token}/callback")
        assert [r.status for r in callbacks if r.params["interaction_id"] == sent["id"]] == [404]
        assert len([r for r in caplog.records if "expired" in r.getMessage()]) == 1
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
