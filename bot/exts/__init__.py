"""One extension per feature, loaded by `Quotebot.setup_hook`."""
