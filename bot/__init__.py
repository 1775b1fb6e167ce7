"""Quotebot's Discord layer: thin adapters from Discord events to the `index` retriever.

questions/ is the path every question takes, rendering/ turns results into plain cards, ui/ holds
the discord.ui views and the card-to-embed adapter, exts/ one cog per feature, storage/ what is
remembered.
"""
