"""Gateway faults mid-session: the bot resumes or re-identifies by itself and keeps answering."""

from __future__ import annotations

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


def _resumed(fake) -> list[dict]:
    return [r for r in fake.gateway.resumes if r.get("result") == "resumed"]


@pytest.mark.parametrize("fault", ["close-4000", "op7-reconnect"])
async def test_resumable_disconnect_resumes_and_answers_what_was_missed(retriever, fault):
    """After a dropped (4000) or recycled (op 7) connection the bot resumes and answers what was asked meanwhile, once."""
    async with bot_on_fake(retriever) as (fake, _):
        first = fake.gateway.open_connections[0]
        session_id = first.info.session_id
        if fault == "close-4000":
            await fake.close_gateway(4000)
        else:
            await fake.send_reconnect()
        # Sent before the bot is back: the fake buffers it (or it is lost on the closing
        # socket) and must replay it on RESUME.
        missed = await fake.send_user_message(content=mention(fake, DRONES[0]))
        resume = await fake.wait_for_resume(timeout=TIMEOUT)
        assert resume["session_id"] == session_id and resume["replayed"] >= 1
        assert_quotes(await fake.wait_for_reply_to(missed["id"], timeout=TIMEOUT), DRONES[1])
        assert_quotes(await ask_by_mention(fake, WAR[0]), WAR[1])
        assert len(fake.gateway.identifies) == 1  # resumed, never re-identified
        assert first.info.closed_at is not None
        assert len(replies_to(fake, missed["id"])) == 1  # replayed once, answered once


@pytest.mark.parametrize("fault", ["close-4009", "op9-invalid-session"])
async def test_ended_session_is_replaced_by_a_new_one(retriever, fault):
    """When Discord ends the session (4009, op 9) the bot starts a new one and keeps answering."""
    async with bot_on_fake(retriever) as (fake, _):
        assert_quotes(await ask_by_mention(fake, TRADE[0]), TRADE[1])
        if fault == "close-4009":
            await fake.close_gateway(4009)
        else:
            await fake.send_invalid_session(resumable=False)
        # discord.py waits 5 s before identifying again, as Discord asks.
        await fake.wait_for_identify(2, timeout=TIMEOUT)
        assert _resumed(fake) == []
        assert len(fake.gateway.live_sessions) == 1
        assert_quotes(await ask_by_mention(fake, DRONES[0]), DRONES[1])


async def test_silent_gateway_is_dropped_and_resumed(retriever):
    """When heartbeat ACKs stop (a zombie connection) the bot reconnects by itself and keeps answering."""
    async with bot_on_fake(
        retriever, fake_options={"heartbeat_interval_ms": 250}, heartbeat_timeout=2.0
    ) as (fake, _):
        first = fake.gateway.open_connections[0]
        fake.set_heartbeat_ack(False)
        await fake.wait_until(
            lambda: first.info.closed_at is not None,
            timeout=TIMEOUT,
            what="the bot to give up on the silent connection",
        )
        assert first.info.closed_by == "client"
        fake.set_heartbeat_ack(True)
        await fake.wait_for_resume(timeout=TIMEOUT)
        assert_quotes(await ask_by_mention(fake, WAR[0]), WAR[1])
        assert len(fake.gateway.identifies) == 1
