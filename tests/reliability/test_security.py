"""Secrets and untrusted files: the token never leaks, index files are never unpickled."""

from __future__ import annotations

import json
import logging
import re
import secrets
import traceback
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from bot.__main__ import EXIT_LOGIN, run_discord
from bot.bot import Quotebot
from bot.log_masking import MASK, mask_in_logs
from fakecord import FakeDiscord, running_bot
from index.config import PROJECT_ROOT
from index.errors import IndexCorruptError
from index.retriever import Retriever
from index.search.store import MANIFEST, _sha256, current_build, load
from tests.bot.conftest import make_bot_settings
from tests.reliability.helpers import (
    DRONES,
    TIMEOUT,
    WAR,
    ask_by_mention,
    assert_quotes,
    bot_on_fake,
    mention,
)


def _leaks(token: str, text: str) -> bool:
    """The token, or its secret part after the first dot, appears in `text`."""
    return token in text or token.split(".", 1)[1] in text


async def test_token_is_in_no_log_line_exception_or_repr(retriever, caplog, monkeypatch):
    """Connecting, resuming, answering, crashing and a rejected login: the token is in no log, traceback or repr."""
    token = "MTIz.Gx" + secrets.token_urlsafe(30)
    settings = make_bot_settings(retriever)
    settings.discord_token = SecretStr(token)
    caplog.set_level(logging.DEBUG)
    for name in ("discord", "discord.http", "discord.gateway", "discord.client", "bot", "index"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with FakeDiscord(token=token) as fake:
        bot = Quotebot(settings, retriever)
        async with running_bot(bot, token, ready_timeout=TIMEOUT):
            await fake.wait_for_commands(["ask"], timeout=TIMEOUT)
            assert_quotes(await ask_by_mention(fake, DRONES[0]), DRONES[1])
            await fake.close_gateway(4000)  # the RESUME payload carries the token
            await fake.wait_for_resume(timeout=TIMEOUT)
            sent = await fake.invoke_slash("ask", {"question": WAR[0]})
            assert_quotes(
                await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT), WAR[1]
            )

            def broken(*args: object, **kwargs: object) -> None:
                raise RuntimeError("boom")

            monkeypatch.setattr(bot.retriever, "source", broken)
            crash = await fake.invoke_slash("source", {"id": "putin-needs-xi"})
            await fake.wait_for_interaction_reply(crash["id"], timeout=TIMEOUT)
            monkeypatch.undo()
            reprs = [repr(bot), repr(bot.http), repr(bot.ws), repr(settings), str(settings)]
            reprs.append(settings.model_dump_json())
    async with FakeDiscord(token="not-" + token):  # Discord rejects the token
        assert await run_discord(settings, retriever) == EXIT_LOGIN
    rejected = Quotebot(settings, retriever)
    async with FakeDiscord(token="not-" + token):
        try:
            await rejected.login(token)
        except Exception as exc:  # noqa: BLE001 - any exception text must be checked
            reprs += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        else:
            pytest.fail("a rejected token logged in")
        finally:
            await rejected.close()
    assert any(r.exc_info for r in caplog.records)  # the crash's traceback was logged
    assert "Discord rejected DISCORD_TOKEN" in caplog.text
    logged = [caplog.text] + [
        "".join(traceback.format_exception(*r.exc_info)) for r in caplog.records if r.exc_info
    ]
    for text in logged + reprs:
        assert not _leaks(token, text)


_PICKLE = re.compile(
    r"\b(import pickle|from pickle|pickle\.|cPickle|_pickle|joblib|dill\b|shelve|marshal\.load"
    r"|torch\.load|allow_pickle\s*=\s*True|PickleType)"
)


def test_no_code_path_can_unpickle():
    """No module of the bot or the index unpickles anything, and every np.load forbids pickles."""
    offenders = []
    for path in sorted([*PROJECT_ROOT.glob("bot/**/*.py"), *PROJECT_ROOT.glob("index/**/*.py")]):
        source = path.read_text(encoding="utf-8")
        for match in _PICKLE.finditer(source):
            offenders.append(f"{path.relative_to(PROJECT_ROOT)}: {match.group(0)}")
        for call in re.finditer(r"np\.load\(([^)]*)\)", source):
            if "allow_pickle=False" not in call.group(1):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}: {call.group(0)}")
    assert offenders == []


class _Payload:
    """Unpickling this creates `marker`: proof that a pickle inside an index file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize(
    "name", ["paragraphs.npy", "sentences.npy", "bm25_paragraphs/data.csc.index.npy"]
)
def test_index_file_carrying_a_pickle_is_refused_and_rebuilt(
    make_settings, encoder, tmp_path, caplog, name
):
    """An index file swapped for a pickle (checksum forged) is refused unread and rebuilt; answers work."""
    settings = make_settings()
    Retriever(settings, encoder=encoder)
    folder = current_build(settings)
    marker = tmp_path / "payload-ran"
    np.save(folder / name, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["checksums"][name] = _sha256(folder / name)
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError):
        load(folder)
    with caplog.at_level(logging.WARNING):
        retriever = Retriever(settings, encoder=encoder)
    assert not marker.exists()
    assert retriever.last_report.rebuilt and "corrupt" in caplog.text
    assert retriever.search(DRONES[0]).hits[0].passage.number == 9


async def test_a_server_error_echoing_the_token_is_masked_in_the_log(retriever, caplog):
    """A 503 whose body echoes the Authorization header: logged (with the question), but with the
    token masked, in the message and in any traceback."""
    token = "MTIz.Gx" + secrets.token_urlsafe(30)
    mask_in_logs(token)
    echo = {"message": f"upstream said: Authorization: Bot {token}", "code": 0}
    async with bot_on_fake(retriever, fake_options={"token": token}) as (fake, _):
        fake.add_fault("POST", "/channels/{channel_id}/messages", status=503, body=echo)
        with caplog.at_level(logging.DEBUG):
            await fake.send_user_message(content=mention(fake, DRONES[0]))
            await fake.wait_for_request(lambda r: r.status == 503, timeout=TIMEOUT)
            assert_quotes(await ask_by_mention(fake, WAR[0]), WAR[1])
    echoed = [r for r in caplog.records if "upstream said" in r.getMessage()]
    assert echoed, "the 503 was not logged: the test would prove nothing"
    assert all(MASK in r.getMessage() for r in echoed)
    handler_text = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert not _leaks(token, caplog.text) and not _leaks(token, handler_text)
