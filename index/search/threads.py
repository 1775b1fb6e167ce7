"""numpy's BLAS on one thread: a search's products are too small to gain from more.

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

from threadpoolctl import ThreadpoolController

log = logging.getLogger(__name__)


@functools.cache
def single_threaded_blas() -> None:
    """Limit the BLAS libraries loaded so far to one thread (once per process), except an
    OpenMP build of OpenBLAS (FAISS ships one): its thread count is OpenMP's for the whole
    process, and limiting it left FAISS's own parallel loops on one core (an HNSW build of a
    million vectors took 223 s instead of ~105)."""
    controller = ThreadpoolController()
    ours = [
        blas.filepath
        for blas in controller.select(user_api="blas").lib_controllers
        if blas.info().get("threading_layer") != "openmp"
    ]
    limited = controller.select(filepath=ours).limit(limits=1)
    log.debug("BLAS limited to one thread: %s", limited.get_original_num_threads())
