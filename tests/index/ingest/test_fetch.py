"""`python -m index add`: files and web pages into the sources folder, with the safety checks."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from index.config import IndexSettings
from index.errors import SourceLoadError
from index.ingest.fetch import add_source
from index.ingest.loaders import load_source

DATA = Path(__file__).parent / "data"
PAGE = (DATA / "page.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """A small web server on 127.0.0.1 with an article, an image, a huge page and a redirect."""
    app = web.Application()

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

    app.add_routes(
        [
            web.get("/news/volcano-wakes-up", article),
            web.get("/news/o'brien's-volcano", article),
            web.get("/logo.png", image),
            web.get("/huge", huge),
            web.get("/moved", moved),
        ]
    )
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


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
        ("{site}/news/volcano-wakes-up", False, "private or loopback"),
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
