"""The buttons under every answer: More/Back, Context, 👍/👎, Share and Why this passage?."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.rendering.answers import render_answer, render_why
from bot.rendering.text import page_count
from bot.ui.embeds import to_embed
from bot.ui.expiry import ExpiringView
from index.errors import PassageNotFoundError
from index.models import Answer, Passage

if TYPE_CHECKING:
    from bot.bot import Quotebot

log = logging.getLogger(__name__)


class AnswerView(ExpiringView):
    """State of one posted answer: its passages, the page shown, context on or off.

    Paging and context edit the same message (no new messages); only the asker may change what
    everyone sees. Votes and "Why" are open to all. The buttons are disabled on timeout.
    """

    def __init__(
        self,
        bot: Quotebot,
        answer: Answer,
        *,
        answer_id: int | None,
        asker_id: int,
        per_page: int,
        private: bool,
    ) -> None:
        super().__init__(timeout=bot.settings.bot.components_timeout)
        self.bot = bot
        self.answer = answer
        self.answer_id = answer_id
        self.asker_id = asker_id
        self.per_page = per_page
        self.private = private
        self.page = 0
        self.context = False
        self.votes = (0, 0)
        self.message: (
            discord.Message | discord.InteractionMessage | discord.WebhookMessage | None
        ) = None
        if answer_id is None:  # not recorded: there is nothing to attach a vote to
            for item in (self.up, self.down):
                self.remove_item(item)
        if answer.abstained:
            for item in (self.back, self.more, self.show_context, self.share):
                self.remove_item(item)
        elif not private:
            self.remove_item(self.share)
        self._sync()

    @property
    def pages(self) -> int:
        return page_count(len(self.answer.hits), self.per_page)

    def _neighbours(self) -> tuple[Passage | None, Passage | None] | None:
        if not self.context:
            return None
        main = self.answer.hits[self.page * self.per_page].passage
        found: list[Passage | None] = []
        for number in (main.number - 1, main.number + 1):
            try:
                found.append(self.bot.retriever.passage(main.source_id, number))
            except PassageNotFoundError:
                found.append(None)
        return found[0], found[1]

    def embed(self) -> discord.Embed:
        """The answer as it stands: current page, with or without context."""
        settings = self.bot.settings.bot
        return to_embed(
            render_answer(
                self.answer,
                {s.id: s for s in self.bot.retriever.sources},
                max_passage_chars=settings.max_passage_chars,
                max_other_chars=settings.max_other_passage_chars,
                page=self.page,
                per_page=self.per_page,
                context=self._neighbours(),
            )
        )

    def _sync(self) -> None:
        self.back.disabled = self.page <= 0
        self.more.disabled = self.page >= self.pages - 1
        self.show_context.label = "Hide context" if self.context else "Context"
        self.up.label = f"👍 {self.votes[0]}"
        self.down.label = f"👎 {self.votes[1]}"

    async def _only_asker(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.asker_id:
            return True
        await interaction.response.send_message(
            "Only the person who asked can change this answer; ask your own with `/ask`.",
            ephemeral=True,
        )
        return False

    async def _redraw(self, interaction: discord.Interaction) -> None:
        self._sync()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    # Row 0: what is shown. Row 1: feedback and explanations.
    @discord.ui.button(
        label="Back", style=discord.ButtonStyle.secondary, custom_id="answer:back", row=0
    )
    async def back(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """Show the previous passages."""
        if await self._only_asker(interaction):
            self.page = max(self.page - 1, 0)
            await self._redraw(interaction)

    @discord.ui.button(
        label="More", style=discord.ButtonStyle.primary, custom_id="answer:more", row=0
    )
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """Show the next passages in the same message."""
        if await self._only_asker(interaction):
            self.page = min(self.page + 1, self.pages - 1)
            await self._redraw(interaction)

    @discord.ui.button(
        label="Context", style=discord.ButtonStyle.secondary, custom_id="answer:context", row=0
    )
    async def show_context(
        self, interaction: discord.Interaction, button: discord.ui.Button
    ) -> None:
        """Add (or remove) the paragraphs before and after the quoted one."""
        if await self._only_asker(interaction):
            self.context = not self.context
            await self._redraw(interaction)

    @discord.ui.button(
        label="Share", style=discord.ButtonStyle.success, custom_id="answer:share", row=0
    )
    async def share(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """Post a private answer publicly in the channel, credited to who asked."""
        if not await self._only_asker(interaction):
            return
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            await interaction.response.send_message("I can't post in this channel.", ephemeral=True)
            return
        embed = self.embed()
        embed.set_author(name=f"Asked by {interaction.user.display_name}"[:256])
        await interaction.response.defer()
        try:
            await channel.send(embed=embed)
        except discord.HTTPException as exc:
            log.warning("could not share answer %s in channel %s: %s", self.answer_id, channel, exc)
            await interaction.followup.send(
                "I couldn't post in this channel (missing permission?).", ephemeral=True
            )
            return
        button.disabled = True
        button.label = "Shared"
        await interaction.edit_original_response(view=self)

    async def _vote(self, interaction: discord.Interaction, value: int) -> None:
        assert self.answer_id is not None  # the vote buttons are removed otherwise
        self.votes = await self.bot.database.vote(self.answer_id, interaction.user.id, value)
        await self._redraw(interaction)

    @discord.ui.button(
        label="👍 0", style=discord.ButtonStyle.secondary, custom_id="answer:up", row=1
    )
    async def up(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """This answer helped (one vote per person, changeable)."""
        await self._vote(interaction, 1)

    @discord.ui.button(
        label="👎 0", style=discord.ButtonStyle.secondary, custom_id="answer:down", row=1
    )
    async def down(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """This answer did not help."""
        await self._vote(interaction, -1)

    @discord.ui.button(
        label="Why this passage?",
        style=discord.ButtonStyle.secondary,
        custom_id="answer:why",
        row=1,
    )
    async def why(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """The scores behind the answer, privately."""
        await interaction.response.send_message(
            render_why(self.answer, self.page, self.per_page),
            ephemeral=True,
        )

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await self.bot.on_app_command_error(interaction, error)  # type: ignore[arg-type]
