"""The fake Discord holds every payload to Discord's OpenAPI spec and says where one broke it.

Malformed payloads go over the real wire: the real discord.py HTTP client sends them to the
fake, and the fake itself serves or dispatches the broken ones.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import discord
import pytest
import pytest_asyncio
from discord.http import Route

from fakecord import FakeDiscord, FakeDiscordError, running_bot
from fakecord.spec_check import SpecChecker

log = logging.getLogger(__name__)

MESSAGES = "/channels/{channel_id}/messages"


@pytest_asyncio.fixture
async def client() -> AsyncIterator[tuple[FakeDiscord, discord.Client]]:
    """A started fake and a discord.py client logged in to it over HTTP (no gateway)."""
    async with FakeDiscord() as fake:
        client = discord.Client(intents=discord.Intents.none())
        await client.login(fake.token)
        try:
            yield fake, client
        finally:
            await client.close()


async def _send(client: discord.Client, channel_id: str, payload: dict) -> None:
    route = Route("POST", MESSAGES, channel_id=channel_id)
    await client.http.request(route, json=payload)


async def test_an_embed_field_without_a_name_is_named_with_its_operation_and_path(
    client: tuple[FakeDiscord, discord.Client],
) -> None:
    """An embed field without `name` is reported as the bot's, with operation, path and payload."""
    fake, bot = client
    embed = {"title": "Quote", "fields": [{"value": "the passage", "inline": False}]}
    with pytest.raises(discord.HTTPException):  # and the fake refuses it like Discord
        await _send(bot, fake.channel["id"], {"content": "hi", "embeds": [embed]})
    [violation] = fake.take_spec_violations()
    assert violation.culprit == "bot"
    assert "POST /channels/{channel_id}/messages (create_message)" in violation.where
    assert violation.json_path == "$.embeds[0].fields[0]"
    assert "'name' is a required property" in violation.message
    assert "the passage" in violation.excerpt


async def test_a_button_without_a_style_is_named_inside_its_action_row(
    client: tuple[FakeDiscord, discord.Client],
) -> None:
    """A button the spec rejects is traced to its place in the action row, not to the row,
    and refused with the field named, as Discord does."""
    fake, bot = client
    button = {"type": 2, "label": "More", "custom_id": "more"}
    with pytest.raises(discord.HTTPException) as refused:
        await _send(bot, fake.channel["id"], {"components": [{"type": 1, "components": [button]}]})
    assert "In components.0.components.0: 'style' is a required property" in str(refused.value)
    [violation] = fake.take_spec_violations()
    assert violation.json_path == "$.components[0].components[0]"
    assert "'style' is a required property" in violation.message
    assert fake.sent_messages() == []


async def test_a_button_without_a_custom_id_is_refused_with_discords_form_error(
    client: tuple[FakeDiscord, discord.Client],
) -> None:
    """The spec lets a button omit `custom_id` (link buttons have none); Discord refuses a
    clickable one without it, and so does the fake, naming the field."""
    fake, bot = client
    button = {"type": 2, "style": 1, "label": "More"}
    with pytest.raises(discord.HTTPException) as refused:
        await _send(bot, fake.channel["id"], {"components": [{"type": 1, "components": [button]}]})
    assert "components.0.components.0.custom_id" in str(refused.value)
    assert fake.take_spec_violations() == []


async def test_a_violation_fails_the_test_that_caused_it() -> None:
    """Leaving the fake with a violation raises, naming what broke the spec."""
    with pytest.raises(FakeDiscordError, match=r"create_message.*\$\.embeds\[0\]\.fields\[0\]"):
        async with FakeDiscord() as fake:
            bot = discord.Client(intents=discord.Intents.none())
            await bot.login(fake.token)
            embed = {"fields": [{"value": "no name"}]}
            try:
                await _send(bot, fake.channel["id"], {"embeds": [embed]})
            except discord.HTTPException:
                pass
            finally:
                await bot.close()


async def test_a_test_failing_for_another_reason_also_shows_the_violation() -> None:
    """When the test fails first, the violation is added to its error rather than lost."""
    with pytest.raises(LookupError) as failure:
        async with FakeDiscord() as fake:
            bot = discord.Client(intents=discord.Intents.none())
            await bot.login(fake.token)
            with pytest.raises(discord.HTTPException):
                await _send(bot, fake.channel["id"], {"content": "hi", "tts": "loud"})
            await bot.close()
            raise LookupError("the test's own assertion")
    notes = "\n".join(getattr(failure.value, "__notes__", []))
    assert "$.tts" in notes and "create_message" in notes


async def test_the_fakes_own_replies_are_checked(
    client: tuple[FakeDiscord, discord.Client],
) -> None:
    """A user the fake serves without a username is reported as the fake's fault."""
    fake, bot = client
    del fake.world.users[fake.other_user["id"]]["username"]
    await bot.http.get_user(int(fake.other_user["id"]))
    [violation] = fake.take_spec_violations()
    assert violation.culprit == "fake"
    assert violation.where == "reply 200 to GET /users/{user_id} (get_user)"
    assert "'username' is a required property" in violation.message


async def test_the_fakes_dispatches_are_checked() -> None:
    """A message the fake dispatches with a nameless embed field is reported as the fake's."""
    async with FakeDiscord() as fake:
        intents = discord.Intents.default()
        intents.message_content = True
        async with running_bot(discord.Client(intents=intents), fake.token):
            embed = {"type": "rich", "fields": [{"value": "no name", "inline": False}]}
            await fake.send_user_message(content="look", embeds=[embed])
        [violation] = fake.take_spec_violations()
    assert violation.culprit == "fake"
    assert violation.where == "dispatch MESSAGE_CREATE (MessageResponse)"
    assert violation.json_path == "$.embeds[0].fields[0]"


@pytest.mark.parametrize(
    ("query", "body", "broken"),
    [
        ({"limit": "50"}, None, None),  # query strings carry integers as text
        ({"limit": "fifty"}, None, "$.limit"),
        ({"before": "not-a-snowflake"}, None, "$.before"),
        ({"around": "1", "colour": "red"}, None, "$.colour"),
    ],
)
def test_query_parameters_are_read_as_discord_reads_them(
    query: dict[str, str], body: None, broken: str | None
) -> None:
    """Query strings are decoded before checking; unknown or malformed ones are reported."""
    checker = SpecChecker()
    checker.check_request("GET", "/channels/1/messages", query, body, has_body=False)
    assert [v.json_path for v in checker.take()] == ([broken] if broken else [])


@pytest.mark.parametrize(
    ("body", "broken"),
    [
        # A nonce may be an integer or a string: "12" is both, which strict oneOf would refuse.
        ({"content": "hi", "nonce": "12"}, None),
        # Snowflakes as integers: a spec quirk on the allow-list (Discord accepts them).
        ({"content": "hi", "message_reference": {"message_id": 12, "channel_id": 3}}, None),
        ({"content": "hi", "message_reference": {"channel_id": "3"}}, "$.message_reference"),
        ({"content": 5}, "$.content"),
    ],
)
def test_bodies_are_read_with_the_specs_conventions(body: dict, broken: str | None) -> None:
    """oneOf unions read as one-of-any, allowed quirks pass, real mistakes are reported."""
    checker = SpecChecker()
    checker.check_request("POST", "/channels/1/messages", {}, body, has_body=True)
    assert [v.json_path for v in checker.take()] == ([broken] if broken else [])


def test_a_path_discord_does_not_have_is_reported() -> None:
    """A request to an endpoint the spec lacks is reported rather than ignored."""
    checker = SpecChecker()
    checker.check_request("GET", "/channels/1/quotes", {}, None, has_body=False)
    [violation] = checker.take()
    assert violation.where == "request GET /channels/1/quotes"
