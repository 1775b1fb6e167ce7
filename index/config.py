"""Settings of the retrieval core, read from `config/quotebot.toml` (`[index]`) and the environment.

Every default lives in `config/quotebot.toml` as well, with a comment saying why. An environment
variable `QUOTEBOT_INDEX__<NAME>` overrides a value, e.g. `QUOTEBOT_INDEX__MODEL=/models/e5`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from index.errors import QuotebotError

SettingsT = TypeVar("SettingsT", bound=BaseSettings)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


def default_config_path() -> Path:
    """`QUOTEBOT_CONFIG` when set, else the project's `config/quotebot.toml`."""
    return Path(os.environ.get("QUOTEBOT_CONFIG", PROJECT_ROOT / "config" / "quotebot.toml"))


class RankingWeights(BaseModel):
    """The `rrf` method: weighted reciprocal rank fusion of three rankings (README "How answers
    are scored"). The default `learned` method reads index/search/weights.json instead."""

    paragraph: float = Field(0.5, ge=0)
    sentence: float = Field(1.0, ge=0)
    bm25: float = Field(1.0, ge=0)
    rrf_k: int = Field(20, ge=1)


class EvidenceWeights(BaseModel):
    """The absolute score behind the `rrf` method's abstention and every method's highlight."""

    paragraph: float = Field(0.5, ge=0)
    sentence: float = Field(0.2, ge=0)
    sentence_bm25: float = Field(0.3, ge=0)
    bm25_saturation: float = Field(4.0, gt=0)


class IndexSettings(BaseModel):
    """Everything the retriever needs; no Discord in here."""

    sources_dir: Path = Field(Path("sources"), validate_default=True)
    cache_dir: Path = Field(Path(".cache/quotebot"), validate_default=True)
    model: str = BUNDLED_MODEL
    device: str = "cpu"
    # Which runtime encodes questions; passages are always embedded by the torch reference.
    backend: Literal["torch", "onnx", "onnx-int8"] = "onnx"
    faiss_index: Literal["auto", "flat", "hnsw"] = "auto"
    hnsw_min_vectors: int = Field(20_000, ge=1)
    hnsw_m: int = Field(32, ge=4)
    hnsw_ef_search: int = Field(128, ge=8)
    k: int = Field(3, ge=1, le=25)
    max_query_chars: int = Field(500, ge=16)
    candidates: int = Field(50, ge=5)
    # How many of the best candidates the learned ranking compares token by token.
    late_candidates: int = Field(30, ge=1)
    ranking: RankingWeights = RankingWeights()
    evidence: EvidenceWeights = EvidenceWeights()
    abstain_threshold: float = Field(0.14, ge=0, le=1)
    highlight_margin: float = Field(0.05, ge=0, le=1)
    fetch_timeout_seconds: float = Field(20.0, gt=0)
    fetch_max_bytes: int = Field(5_000_000, ge=1024)
    allow_private_urls: bool = False
    encode_batch_size: int = Field(64, ge=1)
    progress_bar_min_texts: int = Field(500, ge=1)

    @field_validator("sources_dir", "cache_dir")
    @classmethod
    def _anchor_to_project(cls, value: Path) -> Path:
        # Relative paths mean "inside the project", wherever the command is run from.
        return value if value.is_absolute() else PROJECT_ROOT / value


class _IndexOnlySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QUOTEBOT_", env_nested_delimiter="__", extra="ignore"
    )

    index: IndexSettings = IndexSettings()


def read_settings(settings_cls: type[SettingsT], path: Path) -> SettingsT:
    """Instantiate `settings_cls` from init values, the environment, `.env`, then the TOML file.

    Raises QuotebotError naming the file and the field at fault when the config cannot be used.
    """

    class _FromFile(settings_cls):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            toml = TomlConfigSettingsSource(settings_cls, toml_file=path)
            return (init_settings, env_settings, dotenv_settings, toml)

    try:
        return _FromFile()
    except ValidationError as exc:
        raise QuotebotError(f"config {path} is invalid: {describe_validation_error(exc)}") from None
    except (OSError, ValueError) as exc:
        raise QuotebotError(f"config {path} cannot be read: {exc}; fix the TOML syntax") from None


def config_path_or_default(config_path: Path | None) -> Path:
    """An explicit config must exist; the default one may be absent (built-in defaults apply)."""
    if config_path is not None and not config_path.is_file():
        raise QuotebotError(f"config file {config_path} does not exist: pass an existing TOML file")
    return config_path or default_config_path()


def load_index_settings(config_path: Path | None = None) -> IndexSettings:
    """Read `[index]` from the config file, then environment overrides."""
    return read_settings(_IndexOnlySettings, config_path_or_default(config_path)).index


def describe_validation_error(exc: ValidationError) -> str:
    """One line per wrong field: `index.k: Input should be less than or equal to 25`."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )
