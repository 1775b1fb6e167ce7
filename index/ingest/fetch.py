"""`python -m index add`: bring a file or a web page into the sources folder, safely.

A URL must be http(s), must not point at a private or loopback address (unless
`index.allow_private_urls`), must answer with a text content type within the size cap and the
timeout. Whatever comes in is loaded (cleaned, parsed) before it is moved into the folder, so a
file that cannot be a source never lands there; the move is a rename, so the folder never holds
half a file.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

import aiohttp
import tomli_w

from index import _atomic
from index.config import IndexSettings
from index.errors import SourceLoadError
from index.ingest.loaders import SUPPORTED_SUFFIXES, load_source, slugify
from index.models import Source

log = logging.getLogger(__name__)

TEXT_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
}
MAX_REDIRECTS = 3


@dataclass(frozen=True, slots=True)
class AddedSource:
    """What `add` put in the sources folder."""

    path: Path
    source: Source


def _check_host(url: str, allow_private: bool) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise SourceLoadError(f"{url}: only http:// and https:// URLs can be added")
    host = parsed.hostname
    if not host:
        raise SourceLoadError(f"{url}: the URL has no host")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parsed.port or 80)}
    except socket.gaierror as exc:
        raise SourceLoadError(f"{url}: cannot resolve {host} ({exc.strerror})") from None
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if not allow_private and (
            ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
        ):
            raise SourceLoadError(
                f"{url}: {host} is a private or loopback address ({ip}); set "
                "index.allow_private_urls = true to allow it"
            )


async def _download(url: str, settings: IndexSettings) -> tuple[str, bytes, str]:
    """(final URL, body, file suffix) after checked redirects, within the size cap and timeout."""
    timeout = aiohttp.ClientTimeout(total=settings.fetch_timeout_seconds)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(MAX_REDIRECTS + 1):
            _check_host(url, settings.allow_private_urls)
            async with session.get(url, allow_redirects=False) as response:
                if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    url = urljoin(url, response.headers["Location"])
                    continue
                if response.status != 200:
                    raise SourceLoadError(f"{url}: the server answered HTTP {response.status}")
                kind = response.content_type.lower()
                if kind not in TEXT_TYPES:
                    raise SourceLoadError(
                        f"{url}: content type {kind!r} is not an article; expected HTML, plain "
                        "text or Markdown"
                    )
                length = response.content_length
                cap = settings.fetch_max_bytes
                if length is not None and length > cap:
                    raise SourceLoadError(f"{url}: {length} bytes is over the {cap}-byte cap")
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body.extend(chunk)
                    if len(body) > cap:
                        raise SourceLoadError(f"{url}: the page is over the {cap}-byte cap")
                charset = response.charset or "utf-8"
                try:
                    text = bytes(body).decode(charset, errors="replace")
                except LookupError:
                    text = bytes(body).decode("utf-8", errors="replace")
                return url, text.encode("utf-8"), TEXT_TYPES[kind]
        raise SourceLoadError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _free_name(folder: Path, stem: str, suffix: str, content: bytes) -> Path | None:
    """A file name not yet taken; None when the same content is already there."""
    for n in range(1, 100):
        candidate = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        if not candidate.exists():
            return candidate
        if candidate.read_bytes() == content:
            return None
    raise SourceLoadError(f"too many sources named {stem}: rename some in {folder}")


def _install(content: bytes, name: Path, sidecar: str | None, folder: Path) -> AddedSource:
    """Load a candidate from a staging folder; only a loadable source is renamed into place."""
    with _atomic.staging_folder(folder, ".incoming-") as staging:
        candidate = staging / name.name
        candidate.write_bytes(content)
        if sidecar:
            candidate.with_suffix(".toml").write_text(sidecar, encoding="utf-8")
        source = load_source(candidate)
        if sidecar:
            os.replace(candidate.with_suffix(".toml"), name.with_suffix(".toml"))
        os.replace(candidate, name)
        return AddedSource(name, source)


def add_source(target: str, settings: IndexSettings) -> AddedSource | None:
    """Copy a file or download a page into the sources folder; None when it is already there."""
    folder = settings.sources_dir
    folder.mkdir(parents=True, exist_ok=True)
    if "://" in target:
        final_url, content, suffix = asyncio.run(_download(target, settings))
        parsed = urlparse(final_url)
        stem = slugify(Path(parsed.path).stem or parsed.hostname or "page")
        sidecar: str | None = tomli_w.dumps({"url": final_url})
    else:
        path = Path(target).expanduser()
        if not path.is_file():
            raise SourceLoadError(
                f"{target} is not a file: give a path to a .txt, .md or .html file"
            )
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise SourceLoadError(f"{path.name}: use a .txt, .md or .html file")
        content = path.read_bytes()
        stem = slugify(path.stem)
        side = path.with_suffix(".toml")
        sidecar = side.read_text(encoding="utf-8") if side.is_file() else None
    name = _free_name(folder, stem, suffix, content)
    if name is None:
        return None
    added = _install(content, name, sidecar, folder)
    log.info("added %s as %s", added.source.id, added.path)
    return added
