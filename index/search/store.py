"""The built index: vectors, FAISS and BM25 indexes and the passage table, in memory and on disk.

On disk every build is a folder `<cache>/index/<build id>/` holding a JSON manifest (format
version, model, per-source content hashes, the passage table, a sha256 of every other file) and
plain `.npy`/`.faiss`/bm25s files: nothing is pickled. A build is written under a temporary name,
renamed whole, and only then named in `CURRENT` (itself replaced atomically), so a crash at any
point leaves the previous index or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np

from index import _atomic
from index.config import IndexSettings
from index.encoders.base import PassageEncoder
from index.encoders.cache import cached_token_counts, cached_vectors
from index.encoders.torch import Encoder
from index.errors import IndexCorruptError, IndexVersionError
from index.ingest.loaders import content_hash, source_files
from index.models import Passage, Source, Speaker
from index.search.features import People
from index.search.indexes import build_bm25, build_faiss
from index.search.late import ParagraphTokens, SentenceStarts, idf_table, sentence_lengths
from index.search.spelling import ArticleWords

log = logging.getLogger(__name__)

# Bump when the files, the tokenizer or the vectors change meaning: older builds are then rebuilt.
FORMAT_VERSION = 5
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
_ARRAYS = ("paragraphs.npy", "sentences.npy")
_FAISS = ("paragraphs.faiss", "sentences.faiss")
_BM25 = ("bm25_paragraphs", "bm25_sentences")
# Late interaction: every paragraph's token vectors (int8, read memory-mapped), their scales,
# their token ids, and where each paragraph's and each sentence's tokens start.
_TOKENS = tuple(
    f"token_{name}.npy" for name in ("vectors", "scales", "ids", "start", "sentence_start")
)


@dataclass
class IndexData:
    """Everything a search needs, immutable once built (a reload builds a new one and swaps it)."""

    sources: list[Source]
    files: dict[str, str]  # source file name -> content hash, to tell when to rebuild
    model: str
    dimension: int
    built_at: str
    paragraph_vectors: np.ndarray
    sentence_vectors: np.ndarray
    paragraph_index: faiss.Index
    sentence_index: faiss.Index
    paragraph_bm25: bm25s.BM25
    sentence_bm25: bm25s.BM25
    tokens: ParagraphTokens
    passages: list[Passage] = field(init=False)
    sentence_owner: np.ndarray = field(init=False)  # sentence row -> paragraph row
    sentence_start: np.ndarray = field(init=False)  # paragraph row -> first sentence row
    source_rows: dict[str, tuple[int, int]] = field(init=False)  # id -> paragraph rows [a, b)
    people: People = field(init=False)
    vocabulary: frozenset[str] = field(init=False)  # every BM25 stem of the paragraphs
    words: ArticleWords = field(init=False)  # every word of the paragraphs, for spelling
    token_idf: np.ndarray = field(init=False)  # token id -> its IDF over the paragraphs
    sentence_tokens: SentenceStarts = field(init=False)
    # What the build that made this embedded, and found in the embedding cache (0 when loaded).
    texts_embedded: int = field(init=False, default=0)
    texts_cached: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.passages = [p for s in self.sources for p in s.passages]
        counts = np.array([len(p.sentences) for p in self.passages], dtype=np.int64)
        self.sentence_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.sentence_owner = np.repeat(np.arange(len(self.passages)), counts)
        self.source_rows = {}
        row = 0
        for source in self.sources:
            self.source_rows[source.id] = (row, row + len(source.passages))
            row += len(source.passages)
        if (
            len(self.paragraph_vectors) != len(self.passages)
            or len(self.sentence_vectors) != int(counts.sum())
            or len(self.tokens.start) != len(self.passages) + 1
            or int(self.tokens.start[-1]) != len(self.tokens.vectors)
            or len(self.tokens.sentence_start) != int(counts.sum()) + 1
        ):
            raise IndexCorruptError("vector counts do not match the passage table")
        self.people = People.of(self.passages)
        self.vocabulary = frozenset(self.paragraph_bm25.vocab_dict)
        self.words = ArticleWords.of(self.passages)
        self.token_idf = idf_table(self.tokens.document_frequency(), len(self.passages))
        self.sentence_tokens = SentenceStarts.of(self.tokens, self.sentence_start)


def file_fingerprints(sources_dir: Path) -> dict[str, str]:
    """Content hash of every source file, keyed by file name: cheap, no parsing."""
    return {path.name: content_hash(path) for path in source_files(sources_dir)}


def build(
    sources: list[Source],
    files: dict[str, str],
    encoder: Encoder,
    settings: IndexSettings,
    passages: PassageEncoder | None = None,
) -> IndexData:
    """Embed and index `sources`. Paragraph and sentence vectors, and paragraphs' token vectors,
    come from the embedding cache, or from one forward pass of `passages` (default: `encoder`,
    the torch reference) over the texts it lacks."""
    passages = passages or encoder
    paragraphs = [p.text for s in sources for p in s.passages]
    sentences = [sent for s in sources for p in s.passages for sent in p.sentences]
    texts = list(dict.fromkeys([*paragraphs, *sentences]))
    found = cached_vectors(texts, paragraphs, passages, settings)

    def stack(texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, passages.dimension), dtype=np.float32)
        return np.ascontiguousarray(np.stack([found.vectors[t] for t in texts]), dtype=np.float32)

    paragraph_vectors, sentence_vectors = stack(paragraphs), stack(sentences)
    data = IndexData(
        sources=sources,
        files=files,
        model=encoder.name,
        dimension=passages.dimension,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        paragraph_vectors=paragraph_vectors,
        sentence_vectors=sentence_vectors,
        paragraph_index=build_faiss(paragraph_vectors, settings),
        sentence_index=build_faiss(sentence_vectors, settings),
        paragraph_bm25=build_bm25(paragraphs),
        sentence_bm25=build_bm25(sentences),
        tokens=ParagraphTokens.stack(
            [found.tokens[t] for t in paragraphs],
            passages.dimension,
            sentence_lengths(
                cached_token_counts(encoder, settings),
                [p.sentences for s in sources for p in s.passages],
            ),
        ),
    )
    data.texts_embedded, data.texts_cached = found.embedded, len(texts) - found.embedded
    return data


# --- persistence -------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _speaker_json(speaker: Speaker | None) -> dict[str, Any] | None:
    if speaker is None:
        return None
    return {"name": speaker.name, "role": speaker.role, "organisation": speaker.organisation}


def _manifest(
    data: IndexData, checksums: dict[str, str], settings: IndexSettings
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "model": {"name": data.model, "dimension": data.dimension},
        "faiss_index": settings.faiss_index,
        "built_at": data.built_at,
        "files": data.files,
        "checksums": checksums,
        "sources": [
            {
                "id": s.id,
                "title": s.title,
                "publisher": s.publisher,
                "url": s.url,
                "author": s.author,
                "date": s.date,
                "content_hash": s.content_hash,
                "passages": [
                    {
                        "id": p.id,
                        "number": p.number,
                        "text": p.text,
                        "sentences": list(p.sentences),
                        "speaker": _speaker_json(p.speaker),
                        "is_quote": p.is_quote,
                    }
                    for p in s.passages
                ],
            }
            for s in data.sources
        ],
    }


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def save(data: IndexData, settings: IndexSettings) -> Path:
    """Persist a build and make it current; older builds are removed afterwards."""
    root = settings.cache_dir / "index"
    build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(3).hex()
    with _atomic.staging_folder(root, f".{build_id}.") as staging:
        np.save(staging / _ARRAYS[0], data.paragraph_vectors, allow_pickle=False)
        np.save(staging / _ARRAYS[1], data.sentence_vectors, allow_pickle=False)
        faiss.write_index(data.paragraph_index, str(staging / _FAISS[0]))
        faiss.write_index(data.sentence_index, str(staging / _FAISS[1]))
        data.paragraph_bm25.save(str(staging / _BM25[0]))
        data.sentence_bm25.save(str(staging / _BM25[1]))
        for name, array in zip(
            _TOKENS,
            [getattr(data.tokens, f.name) for f in fields(data.tokens)],
            strict=True,
        ):
            np.save(staging / name, np.asarray(array), allow_pickle=False)
        checksums = {
            str(p.relative_to(staging)): _sha256(p)
            for p in sorted(staging.rglob("*"))
            if p.is_file()
        }
        (staging / MANIFEST).write_text(
            json.dumps(_manifest(data, checksums, settings), ensure_ascii=False), encoding="utf-8"
        )
        _fsync_tree(staging)
        final = root / build_id
        os.replace(staging, final)
        _atomic.write_text(root / CURRENT, build_id + "\n")
    # Older builds, and what a killed build left: its staging folder or a `.CURRENT.*.tmp`.
    for old in root.iterdir():
        if old.is_dir() and old.name != build_id:
            shutil.rmtree(old, ignore_errors=True)
    _atomic.remove_leftovers(root / CURRENT)
    log.info("index saved to %s", final)
    return final


def _speaker(data: dict[str, Any] | None) -> Speaker | None:
    return Speaker(**data) if data else None


def sources_from_manifest(manifest: dict[str, Any]) -> list[Source]:
    sources = []
    for s in manifest["sources"]:
        passages = tuple(
            Passage(
                id=p["id"],
                source_id=s["id"],
                number=int(p["number"]),
                text=p["text"],
                sentences=tuple(p["sentences"]),
                speaker=_speaker(p["speaker"]),
                is_quote=bool(p["is_quote"]),
            )
            for p in s["passages"]
        )
        sources.append(
            Source(
                id=s["id"],
                title=s["title"],
                publisher=s["publisher"],
                url=s["url"],
                author=s["author"],
                date=s["date"],
                content_hash=s["content_hash"],
                passages=passages,
            )
        )
    return sources


def current_build(settings: IndexSettings) -> Path | None:
    """The folder `CURRENT` names, or None when nothing was built yet."""
    pointer = settings.cache_dir / "index" / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{pointer} is unreadable ({exc})") from None
    if not name or "/" in name or name.startswith("."):
        raise IndexCorruptError(f"{pointer} names no build")
    return settings.cache_dir / "index" / name


def read_manifest(folder: Path) -> dict[str, Any]:
    """Parse a build's manifest; IndexCorruptError when it is missing, truncated or foreign,
    IndexVersionError when another version of Quotebot wrote it."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{folder / MANIFEST} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"{folder / MANIFEST} is unreadable ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("format_version"), int):
        raise IndexCorruptError(f"{folder / MANIFEST} has no format version")
    if manifest["format_version"] != FORMAT_VERSION:
        raise IndexVersionError(manifest["format_version"], FORMAT_VERSION)
    return manifest


def load(folder: Path) -> IndexData:
    """Load a build, checking every file against the manifest's sha256 before trusting it."""
    manifest = read_manifest(folder)
    try:
        for name, expected in manifest["checksums"].items():
            path = folder / name
            if not path.is_file() or _sha256(path) != expected:
                raise IndexCorruptError(f"{path} is missing or does not match its checksum")
        paragraph_vectors = np.load(folder / _ARRAYS[0], allow_pickle=False)
        sentence_vectors = np.load(folder / _ARRAYS[1], allow_pickle=False)
        data = IndexData(
            sources=sources_from_manifest(manifest),
            files=dict(manifest["files"]),
            model=manifest["model"]["name"],
            dimension=int(manifest["model"]["dimension"]),
            built_at=manifest["built_at"],
            paragraph_vectors=paragraph_vectors,
            sentence_vectors=sentence_vectors,
            paragraph_index=faiss.read_index(str(folder / _FAISS[0])),
            sentence_index=faiss.read_index(str(folder / _FAISS[1])),
            paragraph_bm25=bm25s.BM25.load(str(folder / _BM25[0])),
            sentence_bm25=bm25s.BM25.load(str(folder / _BM25[1])),
            tokens=ParagraphTokens(
                # Plain arrays over the file's mapping: still read from disk as needed, without
                # np.memmap's bookkeeping on every slice (a dozen slices a question).
                vectors=np.asarray(np.load(folder / _TOKENS[0], mmap_mode="r", allow_pickle=False)),
                scales=np.asarray(np.load(folder / _TOKENS[1], mmap_mode="r", allow_pickle=False)),
                ids=np.load(folder / _TOKENS[2], allow_pickle=False),
                start=np.load(folder / _TOKENS[3], allow_pickle=False),
                sentence_start=np.load(folder / _TOKENS[4], allow_pickle=False),
            ),
        )
    except IndexCorruptError:
        raise
    except (KeyError, TypeError, ValueError, OSError, RuntimeError) as exc:
        raise IndexCorruptError(
            f"build {folder.name} is unreadable ({type(exc).__name__}: {exc})"
        ) from None
    if data.paragraph_index.ntotal != len(data.passages) or data.paragraph_vectors.shape[1:] != (
        data.dimension,
    ):
        raise IndexCorruptError(f"build {folder.name} does not match its passage table")
    return data
