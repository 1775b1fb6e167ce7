"""The one path every question takes: validate and clean once, cooldowns, answer, record."""
