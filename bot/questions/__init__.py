"""The one path every question takes: validate and clean once, cooldowns, answer, record; and
the conversation a question continues, for follow-ups (conversations.py)."""
