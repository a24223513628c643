"""Settings of the REST service: one pydantic model, built by the caller and passed to ``create_app``.

Nothing is read at import time. :class:`Settings` defaults read the environment only when a
``Settings()`` is constructed (the store secret from ``WALKOUT_STORE_SECRET``, like the engine's
entry desk, :func:`walkout.engine.desk.store_secret`), so tests build their own.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretBytes, model_validator

from walkout.carts.entry import MIN_SECRET_BYTES
from walkout.core.store import Store
from walkout.engine.desk import store_secret
from walkout.io import load_embedded_store

DEFAULT_TOKEN_TTL_S = 7 * 24 * 3600


def packaged_static_dir() -> Path:
    """The frontend shipped inside the package (``walkout/service/static``; it may not exist)."""
    return Path(str(resources.files("walkout.service"))) / "static"


class PasswordHashParams(BaseModel):
    """argon2id cost parameters (RFC 9106); the defaults are argon2-cffi's (its "low memory" profile).

    Attributes:
        time_cost: iterations.
        memory_kib: memory per hash, KiB (at least 8 x ``parallelism``).
        parallelism: lanes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_cost: int = Field(default=3, ge=1)
    memory_kib: int = Field(default=65536, ge=8)
    parallelism: int = Field(default=4, ge=1)

    @model_validator(mode="after")
    def _memory_per_lane(self) -> PasswordHashParams:
        if self.memory_kib < 8 * self.parallelism:
            raise ValueError(f"memory_kib must be at least 8 x parallelism = {8 * self.parallelism}")
        return self


class Settings(BaseModel):
    """What the service runs on.

    Attributes:
        db_url: SQLAlchemy URL of a migrated walkout database (``walkout serve`` migrates it).
            ``sqlite://`` (in memory) does not work: each server thread would see its own database.
        store: the store whose layout, catalogue and planogram the API serves (default: the
            embedded AiFi Nanostore).
        store_secret: signs the customers' rotating entry tokens (default:
            ``WALKOUT_STORE_SECRET``, else the public demo secret); at least 16 bytes.
        static_dir: the frontend mounted at ``/`` when the directory exists (default: the
            package's ``walkout/service/static``); None serves no files.
        cors_origins: origins allowed to call the API from a browser (empty: same origin only).
        token_ttl_s: lifetime of a login's bearer token, seconds (device tokens live until revoked).
        password_hash: argon2id parameters for new password hashes.
        auto_refund_max_cents: disputes up to this amount are refunded without review.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    db_url: str = "sqlite:///walkout.db"
    store: Store = Field(default_factory=load_embedded_store)
    store_secret: SecretBytes = Field(default_factory=lambda: SecretBytes(store_secret()))
    static_dir: Path | None = Field(default_factory=packaged_static_dir)
    cors_origins: tuple[str, ...] = ()
    token_ttl_s: int = Field(default=DEFAULT_TOKEN_TTL_S, gt=0)
    password_hash: PasswordHashParams = PasswordHashParams()
    auto_refund_max_cents: int = Field(default=500, ge=0)

    @model_validator(mode="after")
    def _secret_length(self) -> Settings:
        if len(self.store_secret.get_secret_value()) < MIN_SECRET_BYTES:
            raise ValueError(f"store_secret must be at least {MIN_SECRET_BYTES} bytes")
        return self
