"""Answering off the event loop, with concurrent questions micro-batched into few forward passes.

Every question the bot or the console answers goes through here. Questions that arrive within
`max_wait` of each other (up to `max_batch`) are answered together by `Retriever.search_many` in
a worker thread, so the gateway heartbeat never waits for the model and a burst of questions
costs little more than one. A burst is answered in chunks of similar length, one forward pass
each, the shortest first (`Retriever.answer_chunks`): the model pads each chunk only to its own
longest question, and each chunk's answers go out while the next one is being encoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from index.models import Answer
from index.retriever import Retriever

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    text: str
    k: int | None
    source: str | None
    future: asyncio.Future[Answer]


class Answerer:
    """Queue + one worker task; retrieval runs in a dedicated thread."""

    def __init__(self, retriever: Retriever, max_batch: int = 32, max_wait: float = 0.005) -> None:
        self.retriever = retriever
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.batches = 0  # for tests and benchmarks: forward passes (chunks) answered so far
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retrieval")

    async def ask(self, question: str, k: int | None = None, source: str | None = None) -> Answer:
        """The answer to one question. EmptyQueryError (and other domain errors) come back as-is."""
        # Validated here, alone, so one bad question never fails the batch it would have joined.
        return await self.ask_cleaned(self.retriever.clean(question, source), k, source)

    async def ask_cleaned(
        self, text: str, k: int | None = None, source: str | None = None
    ) -> Answer:
        """The answer to a question `Retriever.clean` already returned (it is not cleaned again)."""
        if self._worker is None or self._worker.done():
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run(), name="quotebot-answerer")
        assert self._queue is not None
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(text, k, source, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            # No name holds the batch between passes: idle, the worker keeps no answers alive.
            await self._answer(await self._next_batch(queue))

    async def _next_batch(self, queue: asyncio.Queue[_Pending]) -> list[_Pending]:
        """The next question and those arriving within `max_wait` of it (up to `max_batch`)."""
        loop = asyncio.get_running_loop()
        batch = [await queue.get()]
        deadline = loop.time() + self.max_wait
        while len(batch) < self.max_batch:
            try:
                batch.append(queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _answer(self, batch: list[_Pending]) -> None:
        groups: dict[tuple[int | None, str | None], list[_Pending]] = defaultdict(list)
        for item in batch:
            groups[(item.k, item.source)].append(item)
        loop = asyncio.get_running_loop()
        for (k, source), items in groups.items():
            try:
                await loop.run_in_executor(
                    self._executor, self._answer_group, loop, items, k, source
                )
            except asyncio.CancelledError:  # closing: nobody will answer these now
                for item in items:
                    item.future.cancel()
                raise
            except RuntimeError as exc:  # the thread is already shut down
                self._fail(items, exc)

    def _answer_group(
        self,
        loop: asyncio.AbstractEventLoop,
        items: list[_Pending],
        k: int | None,
        source: str | None,
    ) -> None:
        """In the retrieval thread: hand each chunk's answers to the loop as soon as it is done."""
        answered: set[int] = set()
        try:
            for rows, answers in self.retriever.answer_chunks([i.text for i in items], k, source):
                answered.update(rows)
                loop.call_soon_threadsafe(self._deliver, [items[row] for row in rows], answers)
        except Exception as exc:  # noqa: BLE001 - the batch is retried question by question
            rest = [item for row, item in enumerate(items) if row not in answered]
            log.warning(
                "a batch of %d questions failed (%s: %s); answering its %d unanswered questions "
                "one by one",
                len(items),
                type(exc).__name__,
                exc,
                len(rest),
            )
            for item in rest:
                self._answer_alone(loop, item, k, source)

    def _answer_alone(
        self, loop: asyncio.AbstractEventLoop, item: _Pending, k: int | None, source: str | None
    ) -> None:
        """One question on its own, so a question that breaks retrieval fails only its asker."""
        try:
            ((_, (answer,)),) = self.retriever.answer_chunks([item.text], k, source)
        except Exception as exc:  # handed to its caller, logged with its traceback
            log.exception("retrieval failed for the question %r", item.text[:200])
            loop.call_soon_threadsafe(self._fail, [item], exc)
        else:
            loop.call_soon_threadsafe(self._deliver, [item], [answer])

    def _deliver(self, items: list[_Pending], answers: list[Answer]) -> None:
        self.batches += 1
        for item, answer in zip(items, answers, strict=True):
            if not item.future.done():
                item.future.set_result(answer)

    @staticmethod
    def _fail(items: list[_Pending], exc: Exception) -> None:
        for item in items:
            if not item.future.done():
                item.future.set_exception(exc)

    async def close(self) -> None:
        """Stop the worker and the thread; questions still queued get CancelledError."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait().future.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
