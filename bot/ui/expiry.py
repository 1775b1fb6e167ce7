"""Shared behaviour of the bot's button views."""

from __future__ import annotations

import logging

import discord

log = logging.getLogger(__name__)


class ExpiringView(discord.ui.View):
    """A view whose buttons are greyed out on the message when it times out."""

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.message: (
            discord.Message | discord.InteractionMessage | discord.WebhookMessage | None
        ) = None

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException as exc:
                log.debug("could not disable the buttons of message %s: %s", self.message.id, exc)
