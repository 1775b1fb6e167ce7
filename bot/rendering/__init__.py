"""Pure rendering: retrieval results and stats to plain views, within Discord's limits."""
