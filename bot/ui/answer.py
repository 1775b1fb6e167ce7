"""The buttons under every answer, persistent: More/Back, Context, 👍/👎, Share, Why this passage?.

Nothing about a posted answer is kept in memory. Each button's `custom_id` carries the answer's
id and what the message shows (page, context on or off); the answer itself is stored when it is
posted (`bot/storage/shown.py`). A click is handled by whichever process receives it, before or
after any restart, by discord.py's `DynamicItem`; memory no longer grows with the answers
posted. Expiry is the bot's decision, from the answer's age: an expired click greys the buttons
out and tells the clicker privately.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot.rendering.answers import render_answer, render_why
from bot.rendering.text import page_count
from bot.storage.failures import SLOW_DATABASE
from bot.storage.shown import ShownAnswer, from_json
from bot.ui.embeds import to_embed
from index.errors import PassageNotFoundError, QuotebotError
from index.models import Passage

if TYPE_CHECKING:
    from bot.bot import Quotebot
    from bot.storage.models import AnswerRecord

log = logging.getLogger(__name__)

EXPIRED = "This answer's buttons have expired; ask again."
GONE = "The passages this answer quoted are no longer in the index (it was reloaded); ask again."
ONLY_ASKER = "Only the person who asked can change this answer; ask your own with `/ask`."
CANNOT_POST = "I can't post in this channel."


class ButtonRefused(QuotebotError):
    """A click the bot answers privately instead of acting on it."""


def _custom_id(action: str, answer_id: int, page: int, context: bool) -> str:
    return f"answer:{action}:{answer_id}:{page}:{int(context)}"


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"answer:(?P<action>back|more|context|share|up|down|why):(?P<answer>[0-9]+):(?P<page>[0-9]+):(?P<context>[01])",
):
    """One button of one answer; everything it needs to act is in its custom_id."""

    def __init__(
        self,
        action: str,
        answer_id: int,
        page: int,
        context: bool,
        *,
        label: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        disabled: bool = False,
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=style,
                disabled=disabled,
                row=row,
                custom_id=_custom_id(action, answer_id, page, context),
            )
        )
        self.action = action
        self.answer_id = answer_id
        self.page = page
        self.context = context

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> AnswerButton:
        # The clicked button as the message shows it: its look is kept until the click redraws it.
        shown = item if isinstance(item, discord.ui.Button) else discord.ui.Button()
        return cls(
            match["action"],
            int(match["answer"]),
            int(match["page"]),
            match["context"] == "1",
            label=shown.label,
            style=shown.style,
            disabled=shown.disabled,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: Quotebot = interaction.client
        try:
            await _click(bot, interaction, self)
        except Exception as exc:  # noqa: BLE001 - discord.py would only log it; the user is told
            # Refusals (ButtonRefused) become their message, privately; anything else a reference.
            await bot.on_app_command_error(interaction, exc)  # type: ignore[arg-type]


# -- drawing ---------------------------------------------------------------------------------------


def _neighbours(bot: Quotebot, main: Passage) -> tuple[Passage | None, Passage | None]:
    found: list[Passage | None] = []
    for number in (main.number - 1, main.number + 1):
        try:
            found.append(bot.retriever.passage(main.source_id, number))
        except PassageNotFoundError:
            found.append(None)
    return found[0], found[1]


def answer_embed(
    bot: Quotebot, shown: ShownAnswer, page: int = 0, context: bool = False
) -> discord.Embed:
    """The answer as it stands: this page, with or without the paragraphs around its quote."""
    settings = bot.settings.bot
    answer = shown.answer
    around = None
    if context and answer.hits:
        page = min(page, page_count(len(answer.hits), shown.per_page) - 1)
        around = _neighbours(bot, answer.hits[page * shown.per_page].passage)
    return to_embed(
        render_answer(
            answer,
            {s.id: s for s in bot.retriever.sources},
            max_passage_chars=settings.max_passage_chars,
            max_other_chars=settings.max_other_passage_chars,
            question=shown.question,
            page=page,
            per_page=shown.per_page,
            context=around,
            following=shown.following,
        )
    )


def answer_view(
    shown: ShownAnswer,
    answer_id: int,
    page: int = 0,
    context: bool = False,
    votes: tuple[int, int] = (0, 0),
    *,
    shared: bool = False,
    expired: bool = False,
) -> discord.ui.View:
    """The buttons for this state of the answer. Row 0: what is shown; row 1: feedback."""
    view = discord.ui.View(timeout=None)
    pages = page_count(len(shown.answer.hits), shown.per_page)

    def add(action: str, label: str, style: discord.ButtonStyle, row: int, disabled: bool) -> None:
        view.add_item(
            AnswerButton(
                action,
                answer_id,
                page,
                context,
                label=label,
                style=style,
                disabled=disabled or expired,
                row=row,
            )
        )

    secondary, primary = discord.ButtonStyle.secondary, discord.ButtonStyle.primary
    if not shown.answer.abstained:
        add("back", "Back", secondary, 0, page <= 0)
        add("more", "More", primary, 0, page >= pages - 1)
        add("context", "Hide context" if context else "Context", secondary, 0, False)
        if shown.private:
            add("share", "Shared" if shared else "Share", discord.ButtonStyle.success, 0, shared)
    add("up", f"👍 {votes[0]}", secondary, 1, False)
    add("down", f"👎 {votes[1]}", secondary, 1, False)
    add("why", "Why this passage?", secondary, 1, False)
    return view


# -- clicks ----------------------------------------------------------------------------------------


def _expired(record: AnswerRecord, timeout: float) -> bool:
    created = record.created_at
    if created.tzinfo is None:  # SQLite hands back naive datetimes; they were stored in UTC
        created = created.replace(tzinfo=UTC)
    return datetime.now(UTC) - created > timedelta(seconds=timeout)


def _shared(message: discord.Message | None) -> bool:
    """Whether the message's Share button was already used (it is then disabled)."""
    if message is None:
        return False
    return any(
        isinstance(child, discord.Button)
        and (child.custom_id or "").startswith("answer:share:")
        and child.disabled
        for row in message.components
        if isinstance(row, discord.ActionRow)
        for child in row.children
    )


@dataclass(frozen=True, slots=True)
class _Clicked:
    """What a click needs from the database, read before anything is sent."""

    shown: ShownAnswer
    expired: bool
    votes: tuple[int, int]


async def _click(
    bot: Quotebot, interaction: discord.Interaction[Any], button: AnswerButton
) -> None:
    reads = asyncio.ensure_future(_read_click(bot, interaction, button))
    wait = bot.settings.bot.database_wait_seconds
    if not (await asyncio.wait({reads}, timeout=wait))[0]:
        # Discord drops a click not acknowledged within 3 s: acknowledged now, the message is
        # edited (or the clicker told) when the read ends.
        log.warning(
            "answer %s took over %g s to read for a click; acknowledged first, answered when "
            "the read ends: %s",
            button.answer_id,
            wait,
            SLOW_DATABASE,
        )
        await interaction.response.defer()
    clicked = await reads
    shown, page, context, action = clicked.shown, button.page, button.context, button.action
    if clicked.expired:
        view = answer_view(shown, button.answer_id, page, context, clicked.votes, expired=True)
        await _edit(interaction, view=view)
        await interaction.followup.send(EXPIRED, ephemeral=True)
        return
    if action == "why":
        why = render_why(shown.answer, page, shown.per_page)
        if interaction.response.is_done():
            await interaction.followup.send(why, ephemeral=True)
        else:
            await interaction.response.send_message(why, ephemeral=True)
        return
    if action == "share":
        await _share(bot, interaction, shown, button)
        return
    if action in ("back", "more", "context"):
        pages = page_count(len(shown.answer.hits), shown.per_page)
        if action == "back":
            page = max(page - 1, 0)
        elif action == "more":
            page = min(page + 1, pages - 1)
        else:
            context = not context
    view = answer_view(
        shown, button.answer_id, page, context, clicked.votes, shared=_shared(interaction.message)
    )
    await _edit(interaction, embed=answer_embed(bot, shown, page, context), view=view)


async def _read_click(
    bot: Quotebot, interaction: discord.Interaction[Any], button: AnswerButton
) -> _Clicked:
    """The answer and its votes (a vote stored first); ButtonRefused when the click cannot act."""
    record = await bot.database.answer(button.answer_id)
    if record is None or record.shown is None:
        raise ButtonRefused(EXPIRED)  # stored before buttons were persistent, or deleted
    shown = from_json(record.shown, bot.retriever.passage_by_id)
    if shown is None:
        raise ButtonRefused(GONE)
    action = button.action
    expired = _expired(record, bot.settings.bot.components_timeout)
    changes_it = action in ("back", "more", "context", "share")
    if changes_it and not expired and interaction.user.id != record.user_id:
        raise ButtonRefused(ONLY_ASKER)
    votes = (0, 0)  # "why" shows none, "share" reads them once it has posted
    if action in ("up", "down") and not expired:
        votes = await bot.database.vote(
            button.answer_id, interaction.user.id, 1 if action == "up" else -1
        )
    elif action in ("back", "more", "context") or expired:
        votes = await bot.database.vote_counts(button.answer_id)
    return _Clicked(shown, expired, votes)


async def _edit(interaction: discord.Interaction[Any], **changes: Any) -> None:
    """Edit the clicked message, whether or not the click was acknowledged already."""
    if interaction.response.is_done():
        await interaction.edit_original_response(**changes)
    else:
        await interaction.response.edit_message(**changes)


async def _share(
    bot: Quotebot, interaction: discord.Interaction[Any], shown: ShownAnswer, button: AnswerButton
) -> None:
    """Post a private answer publicly in the channel, credited to who asked."""
    channel = interaction.channel
    if not isinstance(channel, discord.abc.Messageable):
        raise ButtonRefused(CANNOT_POST)
    embed = answer_embed(bot, shown, button.page, button.context)
    embed.set_author(name=f"Asked by {interaction.user.display_name}"[:256])
    if not interaction.response.is_done():
        await interaction.response.defer()
    try:
        await channel.send(embed=embed)
    except discord.HTTPException as exc:
        log.warning("could not share answer %s in channel %s: %s", button.answer_id, channel, exc)
        await interaction.followup.send(
            "I couldn't post in this channel (missing permission?).", ephemeral=True
        )
        return
    votes = await bot.database.vote_counts(button.answer_id)
    view = answer_view(shown, button.answer_id, button.page, button.context, votes, shared=True)
    await interaction.edit_original_response(view=view)
