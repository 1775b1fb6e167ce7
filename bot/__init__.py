"""Quotebot's Discord layer: thin adapters from Discord events to the `index` retriever."""
