"""Follow-up questions: what "he", "that" and "and Iran?" refer to, from the previous question.

Nothing is generated. A follow-up that leans on the conversation (a pronoun, a bare "and ...?",
"why not?") is searched together with what the previous question was searched as, and its
third-person pronouns are replaced by whom the previous answer was about: a person named in the
previous question, else the speaker the attribution data gives for the previous answer's top
passage. A question that stands on its own is searched alone. The rules use only English
function words, never anything of a source; README "Follow-up questions" has the measurements
behind the choice (`python -m index eval-followups`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from index.ingest.text import collapse_spaces
from index.models import Answer
from index.search.tokenize import tokenize

Strategy = Literal["alone", "concat", "resolve"]
STRATEGIES: tuple[Strategy, ...] = ("alone", "concat", "resolve")
# Chosen under grouped cross-validation on eval/followups.jsonl (README "Follow-up questions").
DEFAULT: Strategy = "concat"

_PERSONAL = frozenset(
    "he him his himself she her hers herself they them their theirs themselves".split()
)
_THING = frozenset("it its itself".split())
_DEMONSTRATIVE = frozenset("that this those these there then".split())
# A demonstrative after these words points back ("more on that", "why is that", "after this").
_POINTING_BEFORE = frozenset(
    "about on of for with after before from than like to by in at is was does did do".split()
)
# Openings that continue the previous question: "and Iran?", "what about Belarus?", "why not?".
_CONTINUATIONS = (
    "and",
    "but",
    "so",
    "also",
    "or",
    "even",
    "what about",
    "how about",
    "what else",
    "anything else",
    "more",
    "tell me more",
    "why not",
    "why so",
    "how so",
    "how come",
    "since when",
    "which one",
    "really",
    "then",
)
# Endings that do the same: "moral support too?", "who said so?", "and Belarus as well?".
_CONTINUING_ENDS = ("too", "so", "either", "as well", "then")
# In a question this short, "that"/"this" point back whatever follows ("how long will that
# last?"); in a longer one they more often introduce a clause ("who said that Russia is ...").
_SHORT_QUESTION_WORDS = 6
# The previous query is added up to this many characters, its most recent words: a long chain
# of follow-ups keeps its latest turns and never crowds out the question itself.
MAX_CONTEXT_CHARS = 300
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*(?:-[^\W_]+)*")
_NAME_WORD = re.compile(r"[A-Z][\w'’-]*")


@dataclass(frozen=True, slots=True)
class Context:
    """The previous question of a conversation, as much as a follow-up needs of it."""

    question: str  # as the user asked it: what the answer shows it follows up on
    query: str  # what was searched for it (itself resolved if it was a follow-up)
    speaker: str | None = None  # who speaks in the top passage of its answer

    @classmethod
    def of(cls, question: str, query: str, answer: Answer) -> Context:
        """The context an answer leaves for the next question."""
        top = answer.hits[0].passage if answer.hits else None
        speaker = top.speaker.name if top is not None and top.speaker is not None else None
        return cls(question=question, query=query, speaker=speaker)


@dataclass(frozen=True, slots=True)
class Resolution:
    """What to search for a question, and whether the previous question was used."""

    query: str
    follows_up: bool


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def leans_on_context(question: str) -> bool:
    """True when the question cannot be understood alone: a pronoun, a pointing word, or an
    opening that continues something ("and ...", "what about ...", "why not?")."""
    words = [w.casefold() for w in _words(question)]
    if not words:
        return False
    lowered = " ".join(words)
    if any(lowered == c or lowered.startswith(c + " ") for c in _CONTINUATIONS):
        return True
    if len(words) > 1 and any(lowered.endswith(" " + end) for end in _CONTINUING_ENDS):
        return True
    short = len(words) <= _SHORT_QUESTION_WORDS
    for i, word in enumerate(words):
        if word in _PERSONAL or word in _THING:
            return True
        if word in _DEMONSTRATIVE:
            last = i == len(words) - 1
            pointing = i > 0 and words[i - 1] in _POINTING_BEFORE
            if last or (word != "there" and (pointing or (short and word in ("that", "this")))):
                return True
    # Nothing left to search once function words are gone: "why?", "how so?", "when?".
    return not tokenize(question)


def _names(question: str) -> list[str]:
    """Capitalised words after the first (the first is capitalised anyway): likely names."""
    words = _words(question)
    return [w for w in words[1:] if _NAME_WORD.fullmatch(w) and w.casefold() not in _PERSONAL]


def referent(context: Context) -> str | None:
    """Whom a "he"/"she"/"they" in the follow-up most likely means."""
    names = _names(context.question)
    if names:
        return " ".join(dict.fromkeys(names))
    return context.speaker


def _replace_pronouns(question: str, who: str) -> str:
    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        folded = word.casefold()
        if folded in ("his", "her", "hers", "their", "theirs"):
            return f"{who}'s"
        return who if folded in _PERSONAL else word

    return _WORD.sub(swap, question)


def _recent(text: str, limit: int) -> str:
    """The last `limit` characters of `text`, starting at a word."""
    if len(text) <= limit:
        return text
    tail = text[-limit:]
    space = tail.find(" ")
    return tail[space + 1 :] if 0 <= space < limit // 2 else tail


def resolve(
    question: str,
    context: Context | None,
    strategy: Strategy = DEFAULT,
    max_chars: int | None = None,
) -> Resolution:
    """The query for `question` asked after `context` (None: no conversation, or it expired),
    at most `max_chars` long when the question itself is (the context gives way)."""
    question = collapse_spaces(question)
    if context is None or strategy == "alone" or not leans_on_context(question):
        return Resolution(question, follows_up=False)
    if strategy == "resolve" and (who := referent(context)):
        question = _replace_pronouns(question, who)
    budget = MAX_CONTEXT_CHARS
    if max_chars is not None:
        budget = min(budget, max_chars - len(question) - 1)
    previous = _recent(context.query, budget) if budget > 0 else ""
    if not previous:
        return Resolution(question, follows_up=False)
    # Previous words first, the new question last: the order in which they were asked.
    return Resolution(f"{previous} {question}", follows_up=True)
