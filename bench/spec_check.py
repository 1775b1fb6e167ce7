"""What the fake Discord's OpenAPI check costs the tests: the spec loaded once, then each payload.

    .venv/bin/python bench/spec_check.py [--repeats 300]

The payloads are shaped like Quotebot's traffic: an answer (an embed of quoted passages, a row
of buttons) as the bot sends it and as the fake replies with it and dispatches it, an /ask
INTERACTION_CREATE, and the GUILD_CREATE of a guild with 10 channels and 5 roles. Prints one
table; nothing asserts.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # the project root, not bench/, so `bench` imports as a package

from bench.common import Row, print_table  # noqa: E402
from fakecord.interactions import InteractionBuilder  # noqa: E402
from fakecord.openapi import discord_spec  # noqa: E402
from fakecord.spec_check import SpecChecker  # noqa: E402
from fakecord.world import World  # noqa: E402

log = logging.getLogger(__name__)

ASK = {
    "name": "ask",
    "description": "Ask the article a question",
    "options": [{"type": 3, "name": "question", "description": "Your question", "required": True}],
}


def _answer_body() -> dict:
    fields = [
        {
            "name": f"Paragraph {i}",
            "value": "A quoted passage of the article. " * 6,
            "inline": False,
        }
        for i in range(1, 4)
    ]
    buttons = [
        {"type": 2, "style": 2, "label": label, "custom_id": f"answer:{label.lower()}"}
        for label in ("Back", "More", "Sources", "Helpful", "Not helpful")
    ]
    return {
        "content": "",
        "embeds": [{"title": "Why?", "description": "**The answer.** " * 20, "fields": fields}],
        "components": [{"type": 1, "components": buttons}],
        "allowed_mentions": {"parse": []},
    }


def _median_ms(check: Callable[[], object], repeats: int) -> float:
    check()  # compiles the validators this payload needs
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        check()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/spec_check.py", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=300, help="timed checks per payload")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    start = time.perf_counter()
    discord_spec()
    load_ms = (time.perf_counter() - start) * 1000

    world = World()
    user = world.add_user("alice")
    guild = world.add_guild("Server", owner=user)
    channel = world.add_text_channel(guild, "general")
    for number in range(9):
        world.add_text_channel(guild, f"channel-{number}")
    for number in range(5):
        world.add_role(guild, f"role-{number}")
    world.sync_commands(None, [ASK])
    body = _answer_body()
    message = world.wire_message(
        world.create_message(channel=channel, author=world.bot_user, body=body)
    )
    interaction = InteractionBuilder(world).chat_input(
        "ask", {"question": "Why?"}, user=user, channel_id=channel["id"]
    )
    guild_create = world.guild_create_payload(guild, intents=(1 << 16) - 1)
    checker = SpecChecker()
    checks: list[tuple[str, Callable[[], object]]] = [
        (
            "the bot's answer (POST create_message body)",
            lambda: checker.check_request("POST", "/channels/1/messages", {}, body, True),
        ),
        (
            "the fake's reply with it (200 create_message)",
            lambda: checker.check_reply("POST", "/channels/1/messages", 200, message),
        ),
        ("MESSAGE_CREATE dispatch", lambda: checker.check_dispatch("MESSAGE_CREATE", message)),
        (
            "/ask INTERACTION_CREATE dispatch",
            lambda: checker.check_dispatch("INTERACTION_CREATE", interaction),
        ),
        (
            "GUILD_CREATE: 10 channels, 7 roles, 3 members",
            lambda: checker.check_dispatch("GUILD_CREATE", guild_create),
        ),
    ]
    rows = [Row("spec check", "load and index the spec, once a process", f"{load_ms:.0f} ms")]
    rows += [
        Row(
            "spec check", figure, f"{_median_ms(check, args.repeats):.2f} ms", target="milliseconds"
        )
        for figure, check in checks
    ]
    if checker.violations:
        log.warning("the sample payloads broke the spec: %s", checker.violations)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
