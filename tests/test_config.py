"""The committed config documents every setting and holds no secret."""

from __future__ import annotations

import tomllib

from bot.settings import BotSettings, Settings
from index.config import PROJECT_ROOT, EvidenceWeights, IndexSettings, RankingWeights

CONFIG = PROJECT_ROOT / "config" / "quotebot.toml"


def test_every_setting_has_a_documented_default():
    """Each field of the settings models appears in config/quotebot.toml, so admins can find it."""
    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    text = CONFIG.read_text(encoding="utf-8")
    assert set(BotSettings.model_fields) <= set(data["bot"])
    assert set(IndexSettings.model_fields) - {"ranking", "evidence"} <= set(data["index"])
    assert set(RankingWeights.model_fields) <= set(data["index"]["ranking"])
    assert set(EvidenceWeights.model_fields) <= set(data["index"]["evidence"])
    assert "dev_guild_id" in text and "dev_guild_id" in Settings.model_fields


def test_committed_config_matches_the_code_defaults():
    """The TOML and the code agree, so deleting the file changes nothing."""
    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    index = IndexSettings(**data["index"])
    assert index == IndexSettings()
    bot = BotSettings(**data["bot"])
    assert bot == BotSettings()


def test_no_token_in_committed_files():
    """Secrets come only from the environment: the config has no token field."""
    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert "discord_token" not in data and "DISCORD_TOKEN" not in data
    assert ".env" in (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").split()
