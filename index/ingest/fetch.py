"""`python -m index add`: bring a file or a web page into the sources folder, safely.

A URL must be http(s) and reach only globally routable addresses (unless
`index.allow_private_urls`): the check runs in aiohttp's resolver, on the very addresses it then
connects to, for every request of a redirect chain, so a name cannot answer one address to the
check and another to the connection. It must answer with a text content type, within the size cap
and the timeout, with a body that is text. A new file never takes another source's name, sidecar
or id. Whatever comes in is loaded (cleaned, parsed) before it is moved into the folder, so a
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
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from index import _atomic
from index.config import IndexSettings
from index.errors import SourceLoadError
from index.ingest.loaders import (
    SUPPORTED_SUFFIXES,
    declared_id,
    load_source,
    normalise_url,
    slugify,
    source_files,
)
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


class PrivateAddressError(OSError):
    """Raised inside aiohttp's resolver: an address the policy refuses, found at connect time."""


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Only globally routable addresses: `is_private` misses shared (100.64/10) and other ranges."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _refusal(host: str, ip: object) -> str:
    return (
        f"{host} is a private, loopback or reserved address ({ip}); set "
        "index.allow_private_urls = true to allow it"
    )


def _check_url(url: str, allow_private: bool) -> None:
    """Scheme, host and port, and the host itself when it is an address (no lookup happens then)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise SourceLoadError(f"{url}: only http:// and https:// URLs can be added")
    host = parsed.hostname
    if not host:
        raise SourceLoadError(f"{url}: the URL has no host")
    try:
        parsed.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise SourceLoadError(f"{url}: the port must be a number from 1 to 65535") from None
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return  # a name: checked by the resolver, at connect time, on every connection
    if not allow_private and not is_public(ip):
        raise SourceLoadError(f"{url}: {_refusal(host, ip)}")


class PublicOnlyResolver(AbstractResolver):
    """Resolves a name and refuses it when any of its addresses is not public.

    aiohttp connects to exactly the addresses returned here, so a name cannot pass a check with
    one answer and then be connected to with another (DNS rebinding), redirects included.
    """

    def __init__(self) -> None:
        self._resolver = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            ip = ipaddress.ip_address(result["host"].split("%")[0])
            if not is_public(ip):
                raise PrivateAddressError(_refusal(host, ip))
        return results

    async def close(self) -> None:
        await self._resolver.close()


def _decode(body: bytes, charset: str | None) -> str:
    """The body as text; an unknown or unusable charset (`idna`, `base64`...) falls back to UTF-8."""
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except (LookupError, UnicodeError, TypeError):
        return body.decode("utf-8", errors="replace")


async def _download(url: str, settings: IndexSettings) -> tuple[str, bytes, str]:
    """(final URL, body, file suffix) after checked redirects, within the size cap and timeout."""
    timeout = aiohttp.ClientTimeout(total=settings.fetch_timeout_seconds)
    allow_private = settings.allow_private_urls
    connector = aiohttp.TCPConnector(
        resolver=None if allow_private else PublicOnlyResolver(), use_dns_cache=False
    )
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        for _ in range(MAX_REDIRECTS + 1):
            _check_url(url, allow_private)
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
                text = _decode(bytes(body), response.charset)
                return url, text.encode("utf-8"), TEXT_TYPES[kind]
        raise SourceLoadError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _fetch(url: str, settings: IndexSettings) -> tuple[str, bytes, str]:
    """`_download` with every network failure turned into one line that says what to do."""
    try:
        return asyncio.run(_download(url, settings))
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, PrivateAddressError):
            raise SourceLoadError(f"{url}: {exc.os_error}") from None
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            raise SourceLoadError(
                f"{url}: cannot resolve {exc.host}: check the address for typos"
            ) from None
        raise SourceLoadError(
            f"{url}: cannot connect to {exc.host} port {exc.port} ({exc.strerror or exc.os_error}): "
            "check the address and that the site is up"
        ) from None
    except TimeoutError:
        raise SourceLoadError(
            f"{url}: no complete answer within {settings.fetch_timeout_seconds:g} s: try again "
            "later or raise index.fetch_timeout_seconds"
        ) from None
    except (aiohttp.ClientError, ValueError) as exc:
        raise SourceLoadError(
            f"{url}: the download failed ({type(exc).__name__}: {exc}): check the URL"
        ) from None


def _ids_in_use(folder: Path) -> dict[str, Path]:
    """Each source id the folder already serves, with the file that holds it."""
    ids: dict[str, Path] = {}
    for path in source_files(folder):
        try:
            ids.setdefault(declared_id(path), path)
        except SourceLoadError:
            ids.setdefault(slugify(path.stem), path)
    return ids


def _free_name(
    folder: Path, stem: str, suffix: str, content: bytes, ids: dict[str, Path]
) -> Path | None:
    """A name whose stem no file (source or sidecar) and no source id uses yet; None when the
    same content is already there."""
    for n in range(1, 100):
        name = stem if n == 1 else f"{stem}-{n}"
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file() and candidate.read_bytes() == content:
            return None
        if name in ids or any(p.stem == name for p in folder.iterdir()):
            continue
        return candidate
    raise SourceLoadError(f"too many sources named {stem}: rename some in {folder}")


def _install(
    content: bytes,
    name: Path,
    sidecar: str | None,
    folder: Path,
    ids: dict[str, Path],
    origin: str,
) -> AddedSource:
    """Load a candidate from a staging folder; only a loadable source with an id of its own is
    renamed into place, and only onto names nothing else uses."""
    with _atomic.staging_folder(folder, ".incoming-") as staging:
        candidate = staging / name.name
        candidate.write_bytes(content)
        if sidecar:
            candidate.with_suffix(".toml").write_text(sidecar, encoding="utf-8")
        source = load_source(candidate)
        if source.id in ids:
            raise SourceLoadError(
                f"{origin}: its metadata gives the id {source.id!r}, which {ids[source.id].name} already "
                "has: set a different id in its front matter or .toml sidecar"
            )
        if sidecar:
            os.replace(candidate.with_suffix(".toml"), name.with_suffix(".toml"))
        os.replace(candidate, name)
        return AddedSource(name, source)


def _read_sidecar(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceLoadError(
            f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    except OSError as exc:
        raise SourceLoadError(f"{path} cannot be read ({exc.strerror}): check it") from None


def add_source(target: str, settings: IndexSettings) -> AddedSource | None:
    """Copy a file or download a page into the sources folder; None when it is already there."""
    folder = settings.sources_dir
    folder.mkdir(parents=True, exist_ok=True)
    if "://" in target:
        final_url, content, suffix = _fetch(target, settings)
        parsed = urlparse(final_url)
        stem = slugify(Path(parsed.path).stem or parsed.hostname or "page")
        url = normalise_url(final_url)
        sidecar: str | None = tomli_w.dumps({"url": url}) if url else None
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
        sidecar = _read_sidecar(side) if side.is_file() else None
    ids = _ids_in_use(folder)
    name = _free_name(folder, stem, suffix, content, ids)
    if name is None:
        return None
    added = _install(content, name, sidecar, folder, ids, origin=target)
    log.info("added %s as %s", added.source.id, added.path)
    return added
