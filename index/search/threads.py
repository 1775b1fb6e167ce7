"""numpy's BLAS on one thread: a search's products are too small to gain from more; every core
for building a FAISS index.

Scoring one question multiplies a few dozen question vectors by at most a few thousand token
vectors. OpenBLAS splits even those across its threads, and on a busy machine (the bot shares
its cores with the query encoder and with other processes) waking and joining the threads costs
several times the arithmetic: `max_sim` took 11 ms a question under load with two threads, about
1 ms with one (bench/README.md). The split is over output blocks, so every sum adds the same
terms in the same order and the scores do not change.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController, threadpool_limits

log = logging.getLogger(__name__)


@functools.cache
def single_threaded_blas() -> None:
    """Limit the BLAS libraries loaded so far to one thread (once per process)."""
    limited = ThreadpoolController().select(user_api="blas").limit(limits=1)
    log.debug("BLAS limited to one thread: %s", limited.get_original_num_threads())


@contextmanager
def every_core() -> Iterator[None]:
    """OpenMP on every core for the calling thread while the block runs: FAISS builds an HNSW
    index in parallel loops. Limiting BLAS above also limits OpenMP (FAISS ships an OpenMP
    OpenBLAS), which suits searches (a million-vector flat search: 63 ms on one thread, 230 ms
    on two) but doubled a million-vector HNSW build (223 s against 126; bench/README.md)."""
    with threadpool_limits(limits=os.cpu_count() or 1, user_api="openmp"):
        yield
