"""discord.ui views: the persistent buttons under an answer, source pages, expiry."""
