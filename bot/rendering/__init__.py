"""Pure rendering: answers, browsing and stats as plain `Card`s within Discord's limits.

Nothing here talks to Discord or storage (tests/test_structure.py holds it to that; the values it
shows come from bot/models.py): bot/ui/embeds.py turns a card into an embed, the console prints
it as text. text.py holds the limits, escaping and helpers; answers.py, browsing.py, stats.py
(and chart.py, the `/stats` PNG) one kind of content each; links.py the text-fragment links
that open a source at the quoted sentence.
"""
