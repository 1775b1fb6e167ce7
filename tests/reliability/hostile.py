"""The table of hostile questions shared by the Discord and console tests."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from types import EllipsisType

log = logging.getLogger(__name__)

WAR = "Why did Putin start the war?"
WAR_GOLD = "the reasons why he started the war"
_HUGE = ("Why does Putin need Xi Jinping now? " * 3000)[:100_000]
_ZALGO = "W" + "\u0300\u0301\u0302\u0336" * 5000 + "hy did Putin start the war?"


@dataclass(frozen=True, slots=True)
class Hostile:
    """One hostile question and what a sensible reply to it is.

    `slash` is what `/ask` can carry (Discord refuses empty options and caps them at 2000
    characters), None when a Discord client cannot send it; `console` is the one-line form for
    the terminal. `expect` is "answer" (an embed: a quote or the abstention) or "refusal" (a
    short message saying what to ask instead). `hidden` are fragments that must never appear
    unescaped where Discord formats text; `{user}`/`{role}` are filled in with real ids.
    """

    id: str
    text: str
    expect: str
    slash: str | EllipsisType | None = ...  # ...: the same as `text`
    console: str | EllipsisType | None = ...
    hidden: tuple[str, ...] = ()
    gold: str | None = None

    @property
    def slash_text(self) -> str | None:
        return self.text if self.slash is ... else self.slash

    @property
    def console_text(self) -> str | None:
        return self.text if self.console is ... else self.console


CASES = (
    Hostile("empty", "", "refusal", slash=None, console=""),
    Hostile("whitespace", " \t \u00a0  ", "refusal", slash="   ", console="  \t  "),
    Hostile("100k-chars", _HUGE, "answer", slash=_HUGE[:2000]),
    Hostile("only-emoji", "😀🎉🔥🇺🇦👍🏽🙏", "refusal"),
    Hostile("only-punctuation", "?!?!... ;;; --- ***", "refusal"),
    Hostile(
        "zero-width-and-bidi",
        f"\u200b{WAR[:4]}\u200d{WAR[4:12]}\u202e{WAR[12:20]}\u202c\u2066{WAR[20:]}\u2069\u200f",
        "answer",
        hidden=("\u202e", "\u2066", "\u200f"),
        gold=WAR_GOLD,
    ),
    Hostile("only-invisible", "\u200b\u200c\u200d\u2060\ufeff\u202e\u2066", "refusal"),
    Hostile("rtl-script", "لماذا بدأ بوتين الحرب؟ למה פוטין צריך את שי?", "answer"),
    Hostile("combining-flood", _ZALGO, "answer", slash=_ZALGO[:2000]),
    Hostile(
        "nul-bytes",
        "Why\x00 did Putin\x00 start\x01 the war?\x7f\x00",
        "answer",
        hidden=("\x00", "\x01"),
        gold=WAR_GOLD,
    ),
    Hostile(
        "markdown",
        f"**bold** __under__ ~~strike~~ ||spoiler|| `tick` # Heading {WAR}",
        "answer",
        hidden=("**bold**", "__under__", "~~strike~~", "||spoiler||", "`tick`"),
    ),
    Hostile(
        "code-fence",
        f"```py\nprint('pwned')\n```\n{WAR}",
        "answer",
        console=f"```py print('pwned')``` {WAR}",
        hidden=("```",),
    ),
    Hostile("everyone-and-here", f"@everyone @here {WAR}", "answer", hidden=("@everyone", "@here")),
    Hostile(
        "role-and-user-mentions",
        f"<@&{{role}}> <@{{user}}> <@!{{user}}> {WAR}",
        "answer",
        hidden=("<@",),
    ),
    Hostile(
        "masked-link",
        f"[Click for the answer](https://evil.example/phish) {WAR}",
        "answer",
        hidden=("[Click for the answer](https://evil",),
    ),
    Hostile("discord-invite", "https://discord.gg/freenitro", "answer", hidden=("discord.gg/",)),
)

_MARKDOWN = set("*_~|`[]()>#")


def shows_unescaped(text: str, fragment: str) -> bool:
    """Whether `fragment` appears in `text` with none of its markdown characters escaped."""
    pattern = "".join(
        rf"(?<!\\){re.escape(ch)}" if ch in _MARKDOWN else re.escape(ch) for ch in fragment
    )
    return re.search(pattern, text) is not None
