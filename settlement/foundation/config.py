"""Typed settings read from the environment (``SHUXIN_*``), checked before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from settlement.foundation.clock import Seconds

#: Values that are fine on a laptop and must never reach production.
DEFAULT_ADMIN_TOKEN = "sandbox-admin-token"
DEFAULT_SECRET_KEY = "sandbox-secret-key-not-for-production"
DEFAULT_WALLET_SECRET = "sandbox-wallet-secret"


class SettingsError(RuntimeError):
    """The settings cannot run the service; the message names the setting to change."""


def default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'shuxin.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHUXIN_", extra="ignore")

    database_url: str = ""
    mode: Literal["sandbox", "production"] = "sandbox"
    admin_token: str = DEFAULT_ADMIN_TOKEN
    #: Signs patient tokens and encrypts hospital secrets at rest.
    secret_key: str = DEFAULT_SECRET_KEY
    #: Shared with the wallet providers to sign their callbacks.
    wallet_secret: str = DEFAULT_WALLET_SECRET
    #: The patients' time zone, for the end of the day and for messages.
    timezone: str = "Asia/Shanghai"
    seeds_dir: Path = Path(__file__).resolve().parents[2] / "seeds"
    #: Where patients reach the service: links in messages are this plus ``/app/...`` (an SMS
    #: has no page a relative link could be relative to).
    public_base_url: str = "http://127.0.0.1:8000"
    scheduler_interval_seconds: int = 60
    #: Requests one API process works on at once (its thread pool). Charge batches that wait
    #: together post as one group (``settlement.usecases.charging.groups``), and a waiting request
    #: costs nothing, so enough threads for the HIS terminals that charge at once make the groups
    #: larger: 32 posted 1.2-1.3x the batches of 8 at 32 clients (``tests.bench api --threads``).
    api_threads: int = Field(default=32, ge=1, le=64)
    #: The lowest level logged (every process: API, workers, scheduler, CLI).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: ``json``: one JSON object per line (for a log collector); ``console``: lines for a person.
    log_format: Literal["json", "console"] = "json"
    #: A read-only bearer token for ``GET /metrics`` (give it to the scraper, not the admin token).
    metrics_token: str = ""
    #: Where ``shuxin serve --workers N`` keeps its processes' metrics (emptied at each start);
    #: unset, a fresh temporary directory, removed at exit.
    metrics_dir: Path | None = None

    # What one request may take of a server (``api.limits``, ``api.serving``). The largest
    # legitimate body is a 500-line charge batch, about 150 kB.
    #: A request body larger than this is refused (413) without being read.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    #: The request line and headers together; more is refused (431).
    max_header_bytes: int = Field(default=16_384, ge=1024)
    #: A request's line and headers must arrive whole within this time (else 408, closed).
    header_timeout_seconds: Seconds = Field(default=10.0, gt=0)
    #: The longest wait for the next part of a request body (else 408, closed).
    body_timeout_seconds: Seconds = Field(default=10.0, gt=0)
    #: An idle keep-alive connection is closed after this long.
    keep_alive_seconds: Seconds = Field(default=5.0, gt=0)

    #: Sent messages (the outbox and the sandbox's record) and refused unsigned wallet callbacks
    #: are deleted this many days after they were sent or received.
    message_retention_days: int = Field(default=30, ge=1)

    # Rate limits of what an unauthenticated caller can make the service do (``api.rate_limits``),
    # as the ``limits`` library writes them: "N/second|minute|hour|day", several joined by ";".
    # Counted in the database, so they hold across API processes; a refusal is 429 rate_limited
    # with Retry-After. "Per client" is per client address (behind a proxy, uvicorn takes it
    # from X-Forwarded-For when FORWARDED_ALLOW_IPS trusts the proxy).
    #: Login code requests (each sends an SMS) from one client address.
    rate_limit_otp_per_client: str = "5/minute;20/hour"
    #: Login code requests from everyone together: bounds the SMS bill of an attack.
    rate_limit_otp_overall: str = "120/minute;3000/hour"
    #: Login attempts (``POST /v1/auth/token``) from one client address.
    rate_limit_token_per_client: str = "10/minute;60/hour"
    #: Login attempts from everyone together.
    rate_limit_token_overall: str = "600/minute"
    #: Wrong codes for one phone, across all its codes, before it is locked for the window.
    login_failures_per_phone: str = "10/hour"
    #: Wallet callbacks (unauthenticated until their signature is checked) from one address.
    rate_limit_callbacks_per_client: str = "600/minute"
    #: Operator console logins (each guesses the administrator token) from one client address.
    rate_limit_console_login_per_client: str = "10/minute;30/hour"

    @field_validator(
        "rate_limit_otp_per_client",
        "rate_limit_otp_overall",
        "rate_limit_token_per_client",
        "rate_limit_token_overall",
        "login_failures_per_phone",
        "rate_limit_callbacks_per_client",
        "rate_limit_console_login_per_client",
    )
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        if not parse_many(value):
            raise ValueError(f"no rate limit in {value!r}")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _absolute_base_url(cls, value: str) -> str:
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query:
            raise ValueError(
                f"must be an absolute http(s) URL, e.g. https://shuxin.example: {value!r}"
            )
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _default_to_local_sqlite(cls, value: str) -> str:
        return value or default_database_url()

    @property
    def is_sandbox(self) -> bool:
        return self.mode == "sandbox"

    def check_can_start(self) -> None:
        """Refuse a production start with default or empty secrets, naming each setting."""
        if self.mode != "production":
            return
        problems = [
            f"SHUXIN_{name.upper()} must be set to a non-default secret in production mode"
            for name, default in (
                ("admin_token", DEFAULT_ADMIN_TOKEN),
                ("secret_key", DEFAULT_SECRET_KEY),
                ("wallet_secret", DEFAULT_WALLET_SECRET),
            )
            if getattr(self, name) in ("", default) or len(getattr(self, name)) < 16
        ]
        if self.metrics_token and len(self.metrics_token) < 16:
            problems.append("SHUXIN_METRICS_TOKEN must be at least 16 characters when set")
        if problems:
            raise SettingsError("; ".join(problems))


def load_settings(**overrides: object) -> Settings:
    """Read the settings now (never at import time); ``overrides`` win over the environment."""
    return Settings(**overrides)  # type: ignore[arg-type]
