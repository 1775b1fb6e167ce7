"""Read `.txt` (with an optional `.toml` sidecar), `.md` (with front matter) and `.html` sources."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from index.errors import SourceLoadError
from index.ingest.attribution import attribute, is_quote
from index.ingest.cleaning import clean_paragraphs
from index.ingest.sentences import split_sentences
from index.models import Passage, Source

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
# Bump when cleaning, splitting or attribution changes, so built indexes are rebuilt.
INGEST_VERSION = "2"
MAX_SOURCE_BYTES = 20 * 1024 * 1024
_META_KEYS = ("id", "title", "publisher", "url", "author", "date")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class RawDocument:
    """A file's text before cleaning, with whatever metadata came with it."""

    text: str
    meta: dict[str, str]
    title_in_text: bool  # True when the title is (maybe) the first line of `text`


def slugify(value: str) -> str:
    """`Why Putin needs Xi!` -> `why-putin-needs-xi`."""
    return _SLUG.sub("-", value.lower()).strip("-")[:64] or "source"


def passage_id(source_id: str, text: str) -> str:
    """Derived from the source and the paragraph's words only, so unchanged paragraphs keep it."""
    return hashlib.sha256(f"{source_id}\n{text}".encode()).hexdigest()[:16]


def _read_text(path: Path) -> tuple[bytes, str]:
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise SourceLoadError(
                f"{path} is {size // 1024} KiB, over the {MAX_SOURCE_BYTES // 1024} KiB limit: "
                "split it into several sources"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SourceLoadError(f"{path} does not exist: check the sources folder") from None
    except OSError as exc:
        raise SourceLoadError(
            f"{path} cannot be read ({exc.strerror}): check its permissions"
        ) from None
    try:
        return raw, raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceLoadError(
            f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None


# Characters no article holds: NUL and other C0/C1 controls, and U+FFFD left by undecodable bytes.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
MAX_NOT_TEXT_SHARE = 0.01


def check_is_text(text: str, origin: str) -> None:
    """Refuse binary content (an image or random bytes served or saved as text)."""
    bad = len(_NOT_TEXT.findall(text))
    if bad and bad > MAX_NOT_TEXT_SHARE * len(text):
        raise SourceLoadError(
            f"{origin} is not text ({bad} of {len(text)} characters are control characters or "
            "undecodable bytes): give the article as UTF-8 text, Markdown or HTML"
        )


# Characters that could end a markdown link or break a URL out of `<...>` or a code span (an
# apostrophe cannot, and stays as written); `@` too, so no `@everyone` is ever spelled out.
# A citation links in the embed's description: a URL longer than this would crowd out the quote.
MAX_URL_CHARS = 1000
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?", re.IGNORECASE)
_URL_UNSAFE = "".join(chr(c) for c in range(0x21)) + '\x7f ()[]<>"`\\{}|^@'


def normalise_url(url: str | None) -> str | None:
    """An http(s) URL with every character markdown could act on percent-encoded; else None."""
    if not url:
        return None
    try:
        parsed = urlsplit(url.strip())
    except ValueError:  # "Invalid IPv6 URL": an unclosed `[`
        parsed = urlsplit("")
    if parsed.scheme.lower() not in ("http", "https") or not parsed.hostname:
        log.warning("ignored source URL %r: only http:// and https:// URLs are linked", url)
        return None
    try:
        host = parsed.hostname.encode("idna").decode("ascii")
        if ":" in host:
            host = f"[{ipaddress.IPv6Address(host)}]"
        elif not _HOST.fullmatch(host):
            raise ValueError(host)
        port = f":{parsed.port}" if parsed.port else ""
    except (UnicodeError, ValueError):
        log.warning("ignored source URL %r: its host or port is not valid", url)
        return None

    def encode(part: str) -> str:
        return "".join(
            quote(ch, safe="") if ch in _URL_UNSAFE or not ch.isascii() else ch for ch in part
        )

    normalised = urlunsplit(
        (
            parsed.scheme.lower(),
            host + port,
            encode(parsed.path) or "/",
            encode(parsed.query),
            encode(parsed.fragment),
        )
    )
    if len(normalised) > MAX_URL_CHARS:
        log.warning("ignored source URL %r: over %d characters once encoded", url, MAX_URL_CHARS)
        return None
    return normalised


def _digest(raw: bytes, meta_raw: bytes) -> str:
    return hashlib.sha256(INGEST_VERSION.encode() + b"\0" + raw + b"\0" + meta_raw).hexdigest()


def content_hash(path: Path) -> str:
    """What a source's passages depend on: its bytes, its sidecar and the ingestion version."""
    sidecar = path.with_suffix(".toml")
    meta_raw = sidecar.read_bytes() if sidecar.is_file() else b""
    try:
        return _digest(path.read_bytes(), meta_raw)
    except OSError as exc:
        raise SourceLoadError(
            f"{path} cannot be read ({exc.strerror}): check its permissions"
        ) from None


def _sidecar(path: Path) -> tuple[bytes, dict[str, str]]:
    meta_path = path.with_suffix(".toml")
    if not meta_path.is_file():
        return b"", {}
    raw = meta_path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourceLoadError(f"{meta_path} is not valid TOML ({exc}): fix or delete it") from None
    return raw, {k: str(v) for k, v in data.items() if k in _META_KEYS and v not in (None, "")}


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<body>.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")


def parse_markdown(text: str) -> RawDocument:
    """Front matter (`key: value` lines) as metadata; the first `# heading` as the title."""
    meta: dict[str, str] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        for line in match.group("body").splitlines():
            key, sep, value = line.partition(":")
            key = key.strip().lower()
            if sep and key in _META_KEYS:
                value = value.strip().strip("\"'")
                if value:
                    meta[key] = value
        text = text[match.end() :]
    elif text.startswith("---"):
        raise SourceLoadError(
            "front matter opened with --- is never closed: add a closing --- line"
        )
    lines: list[str] = []
    for line in text.splitlines():
        heading = _MD_HEADING.match(line)
        if heading:
            if heading.group(1) == "#" and "title" not in meta:
                meta["title"] = heading.group(2)
            # Headings are signposts, not answers: keep them out of the paragraphs.
            lines.append("")
            continue
        line = re.sub(r"^\s*(?:>\s?|[-*+]\s+|\d+\.\s+)", "", line)
        line = _MD_EMPHASIS.sub(r"\2", _MD_LINK.sub(r"\1", line))
        lines.append(line)
    return RawDocument(text="\n".join(lines), meta=meta, title_in_text=False)


def parse_html(html: str, url: str | None = None) -> RawDocument:
    """Main text via trafilatura, with the page's own title, site name, author and date."""
    import trafilatura  # heavy import, only needed for HTML sources

    text = trafilatura.extract(
        html, url=url, include_comments=False, include_tables=False, favor_precision=True
    )
    if not text:
        raise SourceLoadError("no article text found in the HTML: is it a full article page?")
    meta: dict[str, str] = {}
    metadata = trafilatura.extract_metadata(html, default_url=url)
    if metadata is not None:
        for key, value in (
            ("title", metadata.title),
            ("publisher", metadata.sitename),
            ("author", metadata.author),
            ("date", metadata.date),
            ("url", metadata.url or url),
        ):
            if value:
                meta[key] = str(value)
    # trafilatura writes one paragraph per line.
    return RawDocument(text="\n\n".join(text.splitlines()), meta=meta, title_in_text=True)


def build_source(source_id: str, document: RawDocument, content_hash: str, origin: str) -> Source:
    """Clean, number, split and attribute a document's paragraphs."""
    cleaned = clean_paragraphs(document.text, known_title=document.meta.get("title"))
    if not cleaned.paragraphs:
        raise SourceLoadError(
            f"{origin} holds no paragraphs after cleaning: is it the article text?"
        )
    title = document.meta.get("title") or cleaned.title or source_id
    speakers = attribute(cleaned.paragraphs)
    passages = tuple(
        Passage(
            id=passage_id(source_id, text),
            source_id=source_id,
            number=number,
            text=text,
            sentences=tuple(split_sentences(text)) or (text,),
            speaker=speaker,
            is_quote=is_quote(text),
        )
        for number, (text, speaker) in enumerate(zip(cleaned.paragraphs, speakers, strict=True), 1)
    )
    return Source(
        id=source_id,
        title=title,
        publisher=document.meta.get("publisher"),
        url=normalise_url(document.meta.get("url")),
        author=document.meta.get("author"),
        date=document.meta.get("date"),
        content_hash=content_hash,
        passages=passages,
    )


def load_source(path: Path) -> Source:
    """Load one source file; raises SourceLoadError with the fix when it cannot be used."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SourceLoadError(
            f"{path.name}: unsupported file type {suffix or '(none)'}; use one of "
            + ", ".join(SUPPORTED_SUFFIXES)
        )
    raw, text = _read_text(path)
    check_is_text(text, path.name)
    meta_raw, sidecar = _sidecar(path)
    digest = _digest(raw, meta_raw)
    try:
        if suffix in (".md", ".markdown"):
            document = parse_markdown(text)
        elif suffix in (".html", ".htm"):
            document = parse_html(text, url=sidecar.get("url"))
        else:
            document = RawDocument(text=text, meta={}, title_in_text=True)
    except SourceLoadError as exc:
        raise SourceLoadError(f"{path.name}: {exc}") from None
    document = RawDocument(document.text, {**document.meta, **sidecar}, document.title_in_text)
    source_id = slugify(document.meta.get("id") or path.stem)  # as `declared_id` says
    return build_source(source_id, document, digest, origin=path.name)


def declared_id(path: Path) -> str:
    """The id a source file will load with, without cleaning it: its metadata `id`, else its name."""
    meta_id = _sidecar(path)[1].get("id")
    if meta_id is None and path.suffix.lower() in (".md", ".markdown"):
        meta_id = parse_markdown(_read_text(path)[1]).meta.get("id")
    return slugify(meta_id or path.stem)


def source_files(directory: Path) -> list[Path]:
    """The loadable files of a sources folder, in a stable order (sidecars are not sources)."""
    if not directory.is_dir():
        raise SourceLoadError(
            f"sources folder {directory} does not exist: create it or set index.sources_dir"
        )
    return sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
    )


def load_sources(directory: Path) -> list[Source]:
    """Every source in a folder, in file-name order; an empty folder is an error with its fix.

    When two files give the same id, the one that was there first (older modification time)
    keeps it and the other is skipped with a warning: a file dropped in by hand must not take
    every other source offline with it.
    """
    loaded = [(path, load_source(path)) for path in source_files(directory)]
    owner: dict[str, Path] = {}
    for path, source in sorted(loaded, key=lambda item: (item[0].stat().st_mtime_ns, item[0])):
        if source.id in owner:
            log.warning(
                "skipped %s: %s already has the id %r; rename one or set a different id in "
                "its metadata",
                path,
                owner[source.id].name,
                source.id,
            )
        else:
            owner[source.id] = path
    sources = [source for path, source in loaded if owner[source.id] == path]
    if not sources:
        raise SourceLoadError(f"no sources in {directory}: add a .txt, .md or .html article there")
    log.debug("loaded %d sources from %s", len(sources), directory)
    return sources
