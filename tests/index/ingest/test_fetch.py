"""`python -m index add`: files and web pages into the sources folder, with the safety checks."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from index.config import IndexSettings
from index.errors import SourceLoadError
from index.ingest import fetch
from index.ingest.fetch import add_source
from index.ingest.loaders import load_source, load_sources
from tests.conftest import SOURCES

DATA = Path(__file__).parent / "data"
PAGE = (DATA / "page.html").read_text(encoding="utf-8")


class _Server:
    """An aiohttp app on a given loopback address; counts the requests it answers."""

    def __init__(self, host: str, port: int, routes: list[web.RouteDef]) -> None:
        self.host, self.port, self.hits = host, port, 0
        app = web.Application(middlewares=[self._count])
        app.add_routes(routes)
        self._runner = web.AppRunner(app)
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, host, port)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    @web.middleware
    async def _count(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.hits += 1
        return await handler(request)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """A small web server on 127.0.0.1 with an article, an image, a huge page and a redirect."""

    async def article(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + b"0" * 100, content_type="image/png")

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        for _ in range(200):
            await response.write(b"<p>" + b"word " * 2000 + b"</p>")
        return response

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/news/volcano-wakes-up")

    async def phishing_redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/a)[Free Nitro](https://evil.example/phish")

    async def random_bytes(request: web.Request) -> web.Response:
        return web.Response(body=random.Random(7).randbytes(30_000), content_type="text/plain")

    async def png_as_markdown(request: web.Request) -> web.Response:
        png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(8).randbytes(20_000)
        return web.Response(body=png, content_type="text/markdown")

    async def idna_charset(request: web.Request) -> web.Response:
        return web.Response(body=PAGE.encode(), headers={"Content-Type": "text/html; charset=idna"})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text=PAGE, content_type="text/html")

    server = _Server(
        "127.0.0.1",
        0,
        [
            web.get("/news/volcano-wakes-up", article),
            web.get("/news/o'brien's-volcano", article),
            web.get("/logo.png", image),
            web.get("/huge", huge),
            web.get("/moved", moved),
            web.get("/phishing-redirect", phishing_redirect),
            web.get("/random-bytes", random_bytes),
            web.get("/png-as-markdown", png_as_markdown),
            web.get("/idna", idna_charset),
            web.get("/slow", slow),
            web.get("/a{tail:.*}", article),
            web.get("/elsewhere/{name}", article),
        ],
    )
    yield f"http://127.0.0.1:{server.port}"
    server.close()


def settings(tmp_path: Path, **overrides: object) -> IndexSettings:
    values = {"sources_dir": tmp_path / "sources", "cache_dir": tmp_path / "cache", **overrides}
    return IndexSettings(**values)


def test_page_is_downloaded_with_its_url(tmp_path, site):
    """A page (after a redirect) lands as .html with a sidecar holding its URL, for the citation link."""
    added = add_source(f"{site}/moved", settings(tmp_path, allow_private_urls=True))
    assert added is not None and added.path.name == "volcano-wakes-up.html"
    assert added.source.title == "Volcano wakes up"
    assert added.source.url == f"{site}/news/volcano-wakes-up"
    assert sorted(p.name for p in (tmp_path / "sources").iterdir()) == [
        "volcano-wakes-up.html",
        "volcano-wakes-up.toml",
    ]
    again = add_source(f"{site}/news/volcano-wakes-up", settings(tmp_path, allow_private_urls=True))
    assert again is None  # same content already there


def test_a_url_with_an_apostrophe_round_trips(tmp_path, site):
    """The sidecar is real TOML: a URL with an apostrophe comes back exactly as it was."""
    url = f"{site}/news/o'brien's-volcano"
    added = add_source(url, settings(tmp_path, allow_private_urls=True))
    assert added is not None and added.source.url == url
    assert load_source(added.path).url == url  # as a rebuild reads it from the folder


@pytest.mark.parametrize(
    ("target", "allow", "message"),
    [
        ("ftp://example.org/a.txt", True, "only http"),
        ("file:///etc/passwd", True, "only http"),
        ("{site}/news/volcano-wakes-up", False, "private, loopback or reserved"),
        ("{site}/logo.png", True, "not an article"),
        ("{site}/huge", True, "cap"),
        ("{site}/missing", True, "HTTP 404"),
    ],
)
def test_refused_urls_say_why(tmp_path, site, target, allow, message):
    """Other schemes, loopback, non-text and oversized pages are refused; nothing is written."""
    config = settings(tmp_path, allow_private_urls=allow, fetch_max_bytes=100_000)
    with pytest.raises(SourceLoadError, match=message):
        add_source(target.format(site=site), config)
    assert list((tmp_path / "sources").iterdir()) == []  # no staging left behind


def test_local_file_is_copied_with_its_sidecar(tmp_path):
    """A local .md is validated then copied; a file that is not an article is refused."""
    added = add_source(str(DATA / "interview.md"), settings(tmp_path))
    assert added is not None and added.source.publisher == "Coast Weekly"
    junk = tmp_path / "junk.txt"
    junk.write_text("Related Articles\n\nBack to top button\n", encoding="utf-8")
    with pytest.raises(SourceLoadError, match="no paragraphs"):
        add_source(str(junk), settings(tmp_path))
    assert sorted(p.name for p in (tmp_path / "sources").iterdir()) == ["interview.md"]


def test_cli_add_rebuilds_and_the_page_is_searchable(tmp_path, site):
    """`python -m index add URL` adds the page and rebuilds; `search` then quotes it."""
    env = {
        **os.environ,
        "QUOTEBOT_INDEX__SOURCES_DIR": str(tmp_path / "sources"),
        "QUOTEBOT_INDEX__CACHE_DIR": str(tmp_path / "cache"),
        "QUOTEBOT_INDEX__ALLOW_PRIVATE_URLS": "true",
    }
    done = subprocess.run(
        [sys.executable, "-m", "index", "add", f"{site}/news/volcano-wakes-up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "added 'volcano-wakes-up'" in done.stdout and "/reload" in done.stdout
    search = subprocess.run(
        [sys.executable, "-m", "index", "search", "--json", "When did the volcano erupt?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert '"source": "volcano-wakes-up"' in search.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "index", "add", "ftp://example.org/x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 2 and refused.stderr.startswith("error: ")


@pytest.mark.parametrize(
    "url",
    [
        "http://100.64.0.1/",  # shared address space: cloud metadata sits there, not is_private
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fd00::1]/",
        "http://224.0.0.1/",
    ],
)
def test_addresses_that_are_not_global_are_refused_before_connecting(tmp_path, url):
    """Only globally routable addresses may be fetched: the check is `is_global`, not `is_private`."""
    with pytest.raises(SourceLoadError, match="private, loopback or reserved"):
        fetch._check_url(url, allow_private=False)


@pytest.fixture
def internet(monkeypatch) -> Iterator[tuple[_Server, _Server]]:
    """A pretend public site on 127.0.0.1 and a pretend intranet on 127.0.0.2 (same port).

    Only 127.0.0.1 counts as public here, and a test DNS answers `*.test` names: `news.test` is
    the public site, `intranet.test` the intranet, and `rebind.test` answers public first and
    the intranet on every later lookup. No traffic leaves 127.0.0.0/8.
    """

    async def article(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def secret(request: web.Request) -> web.Response:
        return web.Response(text=PAGE.replace("volcano", "vault"), content_type="text/html")

    async def to_intranet_name(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://intranet.test:{public.port}/secret")

    async def to_intranet_literal(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.2:{public.port}/secret")

    public = _Server(
        "127.0.0.1",
        0,
        [
            web.get("/news/volcano-wakes-up", article),
            web.get("/to-intranet-name", to_intranet_name),
            web.get("/to-intranet-literal", to_intranet_literal),
        ],
    )
    intranet = _Server("127.0.0.2", public.port, [web.get("/{tail:.*}", secret)])
    lookups: dict[str, int] = {}
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if not (isinstance(host, str) and host.endswith(".test")):
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups[host] = lookups.get(host, 0) + 1
        first = lookups[host] == 1
        address = {"news.test": "127.0.0.1", "intranet.test": "127.0.0.2"}.get(
            host, "127.0.0.1" if first else "127.0.0.2"
        )
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 80)))]

    real_is_public = fetch.is_public
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(fetch, "is_public", lambda ip: str(ip) == "127.0.0.1" or real_is_public(ip))
    yield public, intranet
    public.close()
    intranet.close()


def test_pretend_public_site_is_fetched(tmp_path, internet):
    """The fixture's public site is reachable with private URLs refused: the tests below mean it."""
    public, _ = internet
    added = add_source(f"http://news.test:{public.port}/news/volcano-wakes-up", settings(tmp_path))
    assert added is not None and added.source.title == "Volcano wakes up"


@pytest.mark.parametrize(
    "path",
    [
        "/to-intranet-name",  # a name that resolves to a private address
        "/to-intranet-literal",  # a private address written in the Location
    ],
)
def test_redirect_to_a_private_address_is_refused(tmp_path, internet, path):
    """An allowed URL that redirects into the intranet is refused; the intranet is never asked."""
    public, intranet = internet
    with pytest.raises(SourceLoadError, match="private, loopback or reserved"):
        add_source(f"http://news.test:{public.port}{path}", settings(tmp_path))
    assert intranet.hits == 0
    assert list((tmp_path / "sources").iterdir()) == []


def test_dns_rebinding_cannot_reach_a_private_address(tmp_path, internet):
    """A name that answers public at the check and private at connect never reaches the intranet:
    the address connected to is the address checked."""
    public, intranet = internet
    added = add_source(
        f"http://rebind.test:{public.port}/news/volcano-wakes-up", settings(tmp_path)
    )
    assert intranet.hits == 0
    assert added is not None and "vault" not in added.source.title.lower()


def test_a_url_carrying_markdown_is_stored_percent_encoded(tmp_path, site):
    """A redirect to a path holding a masked link is stored with nothing markdown could act on."""
    added = add_source(f"{site}/phishing-redirect", settings(tmp_path, allow_private_urls=True))
    assert added is not None and added.source.url is not None
    for ch in '()[]<> "`':
        assert ch not in added.source.url
    sidecar = added.path.with_suffix(".toml").read_text(encoding="utf-8")
    assert "](" not in sidecar and ")[" not in sidecar


@pytest.mark.parametrize("path", ["/random-bytes", "/png-as-markdown"])
def test_binary_served_as_text_is_refused(tmp_path, site, path):
    """Random bytes as text/plain and a PNG as text/markdown are not articles."""
    with pytest.raises(SourceLoadError, match="is not text"):
        add_source(f"{site}{path}", settings(tmp_path, allow_private_urls=True))
    assert list((tmp_path / "sources").iterdir()) == []


def test_binary_file_is_refused(tmp_path):
    """A local file of binary bytes with a text suffix is refused before it lands."""
    junk = tmp_path / "noise.md"
    junk.write_bytes(b"\x00\x01\x02" * 3000 + b"Some words here.\n" * 10)
    with pytest.raises(SourceLoadError, match="is not text"):
        add_source(str(junk), settings(tmp_path))


def test_same_stem_as_a_bundled_source_never_touches_it(tmp_path, site):
    """A file or page named like an existing source gets a name and an id of its own; the
    existing source's text and sidecar are untouched and every source still loads."""
    config = settings(tmp_path, allow_private_urls=True)
    shutil.copytree(SOURCES, config.sources_dir)
    before = {p.name: p.read_bytes() for p in config.sources_dir.iterdir()}
    clash = tmp_path / "putin-needs-xi.md"
    clash.write_text((DATA / "interview.md").read_text(encoding="utf-8"), encoding="utf-8")
    by_file = add_source(str(clash), config)
    by_url = add_source(f"{site}/elsewhere/putin-needs-xi", config)
    assert by_file is not None and by_url is not None
    assert len({"putin-needs-xi", by_file.source.id, by_url.source.id}) == 3
    assert {p.name: p.read_bytes() for p in config.sources_dir.iterdir() if p.name in before} == (
        before
    )
    assert len(load_sources(config.sources_dir)) == 3


def test_an_id_declared_in_metadata_that_is_taken_is_refused(tmp_path):
    """A sidecar `id =` naming an existing source is refused before anything lands, saying how."""
    config = settings(tmp_path)
    shutil.copytree(SOURCES, config.sources_dir)
    before = sorted(p.name for p in config.sources_dir.iterdir())
    article = tmp_path / "other.md"
    article.write_text((DATA / "interview.md").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "other.toml").write_text('id = "putin-needs-xi"\n', encoding="utf-8")
    with pytest.raises(SourceLoadError, match="already has: set a different id"):
        add_source(str(article), config)
    assert sorted(p.name for p in config.sources_dir.iterdir()) == before


def test_a_duplicate_id_dropped_in_by_hand_is_skipped_with_one_warning(tmp_path, caplog):
    """At load time a second file with a taken id is skipped, naming both files; the rest loads."""
    folder = tmp_path / "sources"
    shutil.copytree(SOURCES, folder)
    shutil.copy(DATA / "interview.md", folder / "putin-needs-xi.md")
    shutil.copy(DATA / "interview.md", folder / "interview.md")
    with caplog.at_level(logging.WARNING):
        sources = load_sources(folder)
    assert sorted(s.id for s in sources) == ["interview", "putin-needs-xi"]
    kept = next(s for s in sources if s.id == "putin-needs-xi")
    assert kept.publisher == "The Independent"  # the file that was there first keeps its id
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "putin-needs-xi.md" in warnings[0] and "putin-needs-xi.txt" in warnings[0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli_add(tmp_path: Path, target: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "index", "add", target],
        env={
            **os.environ,
            "QUOTEBOT_INDEX__SOURCES_DIR": str(tmp_path / "sources"),
            "QUOTEBOT_INDEX__CACHE_DIR": str(tmp_path / "cache"),
            "QUOTEBOT_INDEX__ALLOW_PRIVATE_URLS": "true",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("target", "env", "message"),
    [
        ("http://127.0.0.1:99999/", {}, "port must be a number"),
        ("http://127.0.0.1:{closed}/", {}, "cannot connect"),
        ("{site}/slow", {"QUOTEBOT_INDEX__FETCH_TIMEOUT_SECONDS": "0.5"}, "fetch_timeout_seconds"),
        ("{site}/idna", {}, "added 'idna'"),
        ("{local}", {}, "not UTF-8"),
    ],
    ids=["port-out-of-range", "closed-port", "slow-server", "charset-idna", "non-utf8-sidecar"],
)
def test_add_failures_are_one_line_with_the_fix(tmp_path, site, target, env, message):
    """Network and sidecar failures of `index add` are one line and exit 2, never a traceback."""
    local = tmp_path / "note.md"
    local.write_text((DATA / "interview.md").read_text(encoding="utf-8"), encoding="utf-8")
    local.with_suffix(".toml").write_bytes(b'title = "caf\xe9"\n')
    target = target.format(site=site, closed=_closed_port(), local=local)
    done = _cli_add(tmp_path, target, **env)
    assert "Traceback" not in done.stderr, done.stderr
    if message.startswith("added"):
        assert done.returncode == 0 and message in done.stdout, done.stderr
        return
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
