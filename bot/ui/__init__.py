"""discord.ui: the persistent buttons under an answer and under the source list."""
