"""Which folder Quotebot uses for its sources, config, cache and database, and its first start."""

from __future__ import annotations

from bot.settings import load_settings
from index.home import home


def test_home_is_the_setting_then_a_folder_with_sources_then_the_user_folder(tmp_path, monkeypatch):
    """QUOTEBOT_HOME wins; else the working directory if it has sources/; else the per-user
    data folder, which a first start seeds with the bundled article and default config."""
    monkeypatch.delenv("QUOTEBOT_CONFIG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    prepared = tmp_path / "prepared"
    (prepared / "sources").mkdir(parents=True)
    monkeypatch.chdir(prepared)
    assert home() == prepared

    monkeypatch.chdir(tmp_path)
    user = load_settings()
    assert user.index.sources_dir.parent.name in ("quotebot", "Quotebot")
    folder = user.index.sources_dir.parent
    assert (folder / "sources" / "putin-needs-xi.txt").is_file()
    assert (folder / "config" / "quotebot.toml").is_file()
    assert user.index.cache_dir == folder / ".cache" / "quotebot"
    assert user.bot.database_url == f"sqlite+aiosqlite:///{folder}/data/quotebot.db"

    service = tmp_path / "service"
    monkeypatch.setenv("QUOTEBOT_HOME", str(service))
    monkeypatch.chdir(prepared)
    settings = load_settings()
    assert settings.index.sources_dir == service / "sources"
    assert (service / "sources" / "putin-needs-xi.txt").is_file()
