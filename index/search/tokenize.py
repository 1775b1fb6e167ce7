"""Word tokens for BM25: lower-cased, straight quotes, English stop words out, Snowball-stemmed.

Stemming lets "meet" find "meeting" and "drones" find "drone"; possessives are cut first so
"Russia's" meets "Russia". Measured: it lifts BM25 R@1 on the dev set (README).
"""

from __future__ import annotations

import re
import threading

import Stemmer

from index.ingest.text import normalise_for_match

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further had hadn't has hasn't have haven't having
    he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm
    i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor not
    of off on once only or other ought our ours ourselves out over own same shan't she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's
    where where's which while who who's whom why why's will with won't would wouldn't you you'd
    you'll you're you've your yours yourself yourselves does did also just now us""".split()
)


_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    # A Stemmer object is not safe to share between threads; one per thread is cheap.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def tokenize(text: str) -> list[str]:
    """Content-word stems of `text`, in order."""
    words = [
        w[:-2] if w.endswith("'s") else w
        for w in _WORD.findall(normalise_for_match(text))
        if w not in STOP_WORDS
    ]
    return _stemmer().stemWords(words)
