"""`Retriever`: load or build the index once, then answer queries from any thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from index.config import IndexSettings
from index.encoders.backends import passage_encoder, query_encoder
from index.encoders.base import PassageEncoder, QueryEncoder
from index.encoders.torch import Encoder
from index.errors import (
    IndexCorruptError,
    IndexVersionError,
    PassageNotFoundError,
    SourceNotFoundError,
)
from index.ingest.loaders import load_sources
from index.models import Answer, Passage, Source
from index.search.indexes import tune_search
from index.search.query import Query, clean_query
from index.search.rank import Method, score
from index.search.store import (
    IndexData,
    build,
    current_build,
    file_fingerprints,
    load,
    read_manifest,
    save,
    sources_from_manifest,
)
from index.search.threads import single_threaded_blas
from index.search.tokenize import tokenize
from index.search.weights import Weights, load_weights

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What a (re)build changed, for `/reload`, `python -m index build` and `add`."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    paragraphs_added: int
    paragraphs_removed: int
    rebuilt: bool
    texts_embedded: int = 0
    texts_cached: int = 0

    @property
    def summary(self) -> str:
        if not self.rebuilt:
            return "no change: every source is as indexed"
        parts = [
            f"{label}: {', '.join(ids)}"
            for label, ids in (
                ("added", self.added),
                ("changed", self.changed),
                ("removed", self.removed),
            )
            if ids
        ]
        parts.append(f"paragraphs +{self.paragraphs_added} / -{self.paragraphs_removed}")
        parts.append(
            f"embedded {self.texts_embedded} new texts, {self.texts_cached} from the cache"
        )
        return "; ".join(parts)


def diff(old: list[Source], new: IndexData) -> ReloadReport:
    """Sources and paragraphs that differ between the last build's sources and a new build."""
    before = {s.id: s for s in old}
    after = {s.id: s for s in new.sources}
    # A passage id covers its source and text: an edited paragraph is one removed, one added.
    old_ids = {p.id for s in old for p in s.passages}
    new_ids = {p.id for p in new.passages}
    return ReloadReport(
        added=tuple(sorted(after.keys() - before.keys())),
        changed=tuple(
            sorted(
                i
                for i in after.keys() & before.keys()
                if after[i].content_hash != before[i].content_hash
            )
        ),
        removed=tuple(sorted(before.keys() - after.keys())),
        paragraphs_added=len(new_ids - old_ids),
        paragraphs_removed=len(old_ids - new_ids),
        rebuilt=True,
        texts_embedded=new.texts_embedded,
        texts_cached=new.texts_cached,
    )


class Retriever:
    """Search over every source in `settings.sources_dir`.

    The built index is one immutable `IndexData`; `reload()` builds a new one and swaps the
    reference, so searches already running finish on the index they started with.
    """

    def __init__(
        self,
        settings: IndexSettings,
        encoder: Encoder | None = None,
        weights: Weights | None = None,
    ) -> None:
        self.settings = settings
        single_threaded_blas()
        # The torch reference loads only when something needs it (the torch backend, a first
        # ONNX export, a model ONNX cannot take), so a cached start never imports torch.
        self.encoder = encoder or Encoder(
            settings.model,
            device=settings.device,
            batch_size=settings.encode_batch_size,
            progress_bar_min_texts=settings.progress_bar_min_texts,
            lazy=settings.backend != "torch",
        )
        self.query_encoder: QueryEncoder = query_encoder(settings, self.encoder)
        self._passage_encoder: PassageEncoder | None = None
        self.weights: Weights = weights or load_weights()
        self._reload_lock = threading.Lock()
        self._data: IndexData | None = None
        self._by_id: tuple[IndexData, dict[str, Passage]] | None = None
        self.last_report = self.reload()

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def passage_encoder(self) -> PassageEncoder:
        """What embeds passages (index/encoders/torch.py `passage_encoder`), made on first build."""
        if self._passage_encoder is None:
            self._passage_encoder = passage_encoder(self.settings, self.encoder, self.query_encoder)
        return self._passage_encoder

    def _on_disk(self, files: dict[str, str]) -> tuple[IndexData | None, list[Source]]:
        """The build on disk when it matches these files and this model, else None; and that
        build's sources (what a rebuild reports its changes against)."""
        try:
            folder = current_build(self.settings)
            if folder is None:
                return None, []
            manifest = read_manifest(folder)
            if (
                manifest.get("files") != files
                or manifest.get("model", {}).get("name") != self.encoder.name
                or manifest.get("faiss_index") != self.settings.faiss_index
            ):
                log.info(
                    "index cache is out of date (sources, model or index type changed); rebuilding"
                )
                return None, sources_from_manifest(manifest)
            data = load(folder)
            for index in (data.paragraph_index, data.sentence_index):
                tune_search(index, self.settings)
            return data, data.sources
        except IndexVersionError as exc:
            # Not damage: the format moved on (or back), and a rebuild is all it takes.
            era = "an older" if exc.older else "another"
            log.info("index cache was built by %s version of Quotebot; rebuilding", era)
            return None, []
        except IndexCorruptError as exc:
            log.warning("index cache is corrupt (%s); rebuilding", exc)
            return None, []

    def reload(self) -> ReloadReport:
        """Re-read the sources folder; rebuild (embedding only texts never embedded) if anything
        changed, and report the changes against the last build, in this process or on disk."""
        with self._reload_lock:
            files = file_fingerprints(self.settings.sources_dir)
            current = self._data
            if (
                current is not None
                and current.files == files
                and current.model == self.encoder.name
            ):
                return ReloadReport((), (), (), 0, 0, rebuilt=False)
            if current is None:
                cached, before = self._on_disk(files)
                if cached is not None:
                    self._data = cached
                    log.info("index loaded from cache: %d passages", len(cached.passages))
                    return ReloadReport((), (), (), 0, 0, rebuilt=False)
            else:
                before = current.sources
            sources = load_sources(self.settings.sources_dir)
            data = build(
                sources,
                files,
                self.encoder,
                self.settings,
                passages=self.passage_encoder,
            )
            save(data, self.settings)
            report = diff(before, data)
            self._data = data
            log.info(
                "index built: %d sources, %d passages (%s)",
                len(sources),
                len(data.passages),
                report.summary,
            )
            return report

    @property
    def data(self) -> IndexData:
        assert self._data is not None  # set in __init__
        return self._data

    # -- lookups ---------------------------------------------------------------------------------

    @property
    def sources(self) -> list[Source]:
        return list(self.data.sources)

    @property
    def built_at(self) -> str:
        return self.data.built_at

    def source(self, source_id: str) -> Source:
        """The source with this id; SourceNotFoundError lists the ids that exist."""
        for source in self.data.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.data.sources)
        raise SourceNotFoundError(f"no source with id {source_id!r}; known sources: {known}")

    def passage(self, source_id: str, number: int) -> Passage:
        """Paragraph `number` (from 1) of a source."""
        source = self.source(source_id)
        if not 1 <= number <= len(source.passages):
            raise PassageNotFoundError(
                f"{source.title!r} has paragraphs 1 to {len(source.passages)}; {number} is not one of them"
            )
        return source.passages[number - 1]

    def passage_by_id(self, passage_id: str) -> Passage | None:
        """The paragraph with this id in the current index; None once a reload removed it."""
        data = self.data
        by_id = self._by_id
        if by_id is None or by_id[0] is not data:
            by_id = self._by_id = (data, {p.id: p for p in data.passages})
        return by_id[1].get(passage_id)

    # -- search ------------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int | None = None,
        source: str | None = None,
        method: Method = "learned",
    ) -> Answer:
        """The best `k` paragraphs for `query`, or an abstention when none answers it."""
        return self.search_many([query], k=k, source=source, method=method)[0]

    def search_many(
        self,
        queries: list[str],
        k: int | None = None,
        source: str | None = None,
        method: Method = "learned",
    ) -> list[Answer]:
        """Like `search` for several queries, encoded together (a few forward passes).

        Every query is validated first, so one bad question raises before any work is done.
        """
        by_row: dict[int, Answer] = {}
        for rows, chunk in self.search_chunks(queries, k=k, source=source, method=method):
            by_row.update(zip(rows, chunk, strict=True))
        return [by_row[row] for row in range(len(queries))]

    def search_chunks(
        self,
        queries: list[str],
        k: int | None = None,
        source: str | None = None,
        method: Method = "learned",
    ) -> Iterator[tuple[list[int], list[Answer]]]:
        """`search_many` one forward pass at a time, shortest questions first.

        Yields (positions in `queries`, their answers) per chunk, so a caller can hand out the
        first answers while later chunks are still being encoded. Validation happens here, before
        the first chunk: a bad question or source raises at the call.
        """
        if source is not None:
            self.source(source)  # raises with the list of known ids
        texts = [self.clean(q) for q in queries]
        return self.answer_chunks(texts, k, source, method)

    def clean(self, query: str, source: str | None = None) -> str:
        """`query` as it is searched (cleaned once, here); EmptyQueryError or
        SourceNotFoundError before any work is spent on it."""
        text = clean_query(query, self.settings.max_query_chars)
        if source is not None:
            self.source(source)
        return text

    def answer_chunks(
        self,
        texts: list[str],
        k: int | None = None,
        source: str | None = None,
        method: Method = "learned",
    ) -> Iterator[tuple[list[int], list[Answer]]]:
        """`search_chunks` for texts `clean` already returned: they are not cleaned again."""
        data = self.data  # one snapshot for the whole batch, even if a reload swaps it meanwhile
        k = k or self.settings.k
        if k < 1:
            raise ValueError(f"k={k} must be at least 1")
        return self._chunks(data, texts, k, source, method)

    def _chunks(
        self, data: IndexData, texts: list[str], k: int, source: str | None, method: Method
    ) -> Iterator[tuple[list[int], list[Answer]]]:
        for rows, vectors, tokens in self.query_encoder.encode_chunks(texts):
            answers = []
            for row, vector, token_vectors in zip(rows, vectors, tokens, strict=True):
                query = Query(texts[row], vector, tokenize(texts[row]), token_vectors)
                answers.append(score(data, query, self.settings, k, source, method, self.weights))
            yield rows, answers
