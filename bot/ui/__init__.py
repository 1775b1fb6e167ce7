"""discord.ui views: the buttons under an answer, source pages, expiry."""
