"""Settings, read in one typed place from the environment (prefix ``DESKMATE_``).

Every setting has an embedded default, so ``deskmate serve`` runs with none set.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bot.core.policy import PolicyConfig
from bot.errors import ConfigError
from bot.ops.secrets_file import read_or_create_secret, read_secret

PREFIX = "DESKMATE_"
MIN_TOKEN_LENGTH = 16
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEMO_ACTIONS = "kb.demo.actions"
DEMO_KB = Path(__file__).resolve().parents[2] / "kb" / "demo"
# Float settings that are not probabilities: any positive, finite number (name -> what it is).
POSITIVE_FLOATS = {
    "session_hours": "positive number of hours, such as 12 or 0.5",
    "generation_timeout": "positive number of seconds, such as 20",
    "customer_rate": "positive number of messages per second, such as 1",
    "address_rate": "positive number of messages per second, such as 10",
    "customer_session_days": "positive number of days, such as 30",
}
MIN_SECRET_LENGTH = 32
# Secrets kept in the data folder (owner-only files, see bot/ops/secrets_file.py).
ADMIN_TOKEN_FILE = "admin-token"
SECRET_KEY_FILE = "secret-key"
GENERATORS = ("none", "local", "openai")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    kb_path: Path = DEMO_KB
    data_dir: Path = Path("var")
    db_path: Path | None = None  # default: <data_dir>/deskmate.sqlite3
    builds_dir: Path | None = None  # default: <data_dir>/builds
    log_level: str = "INFO"
    # Only for a build whose intent transformer is PyTorch (TrainingConfig.runtime "torch"): int8
    # dynamic quantisation, one activation scale per batch, so with micro-batching one customer's
    # message would nudge another's probabilities. A KB build serves its models through ONNX
    # Runtime in int8 with fixed scales instead (training/onnx_export.py), whatever this says.
    int8: bool = False
    # The admin credential (DESKMATE_ADMIN_TOKEN, 16+ characters). Unset: the token `deskmate admin
    # token` keeps in <data_dir>/admin-token (see with_stored_secrets); neither: admin endpoints
    # refuse every request and say how to set one.
    admin_token: str | None = field(default=None, repr=False)
    # Custom actions: a Rasa action server's URL (DESKMATE_ACTION_SERVER_URL, e.g. http://127.0.0.1:5055),
    # else the actions of this Python package (or folder) run in-process: DESKMATE_ACTIONS_PACKAGE, else
    # the KB folder's own actions/ (see :attr:`actions`)
    action_server_url: str | None = None
    actions_package: str | None = None
    # Generated replies (docs/reply-policy.md): "none", "local" (SmolLM2 on this machine) or
    # "openai" (any OpenAI-compatible chat-completions endpoint at llm_url serving llm_model).
    generator: str = "none"
    llm_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    generation_timeout: float = 20.0
    # How long an agent or admin stays logged in (DESKMATE_SESSION_HOURS, any positive number).
    session_hours: float = 12.0
    # Several replicas: a PostgreSQL store (DESKMATE_DATABASE_URL, postgresql://user:pass@host/db)
    # instead of SQLite, and a Redis bus (DESKMATE_REDIS_URL, redis://host:6379/0) instead of the
    # in-process one. Both unset: the embedded single-process defaults.
    database_url: str | None = field(default=None, repr=False)
    redis_url: str | None = field(default=None, repr=False)
    # Signs customer session tokens (DESKMATE_SECRET_KEY, 32+ characters, the same on every
    # replica). Unset on the embedded defaults: a key made on the first start and kept in
    # <data_dir>/secret-key (see with_stored_secrets); required with DESKMATE_DATABASE_URL.
    secret_key: str | None = field(default=None, repr=False)
    customer_session_days: float = 30.0
    # Web pages (origins) other than this server's own that may open the customer websocket,
    # comma-separated: "https://shop.example.com,https://help.example.com". "*" allows any.
    allowed_origins: str = ""
    # Abuse limits: messages per second (and burst) per customer connection and per client address,
    # open websockets per address. DESKMATE_TRUST_PROXY: take the address from X-Forwarded-For.
    customer_rate: float = 1.0
    customer_burst: int = 10
    address_rate: float = 10.0
    address_burst: int = 60
    max_connections_per_address: int = 30
    trust_proxy: bool = False
    # /metrics: open when unset (bind to a private network), else needs "Authorization: Bearer <token>".
    metrics_token: str | None = field(default=None, repr=False)
    policy: PolicyConfig = field(default_factory=PolicyConfig)

    @property
    def origins(self) -> frozenset[str]:
        """The allowed web origins, normalised (no trailing slash)."""
        return frozenset(o.strip().rstrip("/").lower() for o in self.allowed_origins.split(",") if o.strip())

    @property
    def database(self) -> Path:
        return self.db_path or self.data_dir / "deskmate.sqlite3"

    @property
    def builds(self) -> Path:
        return self.builds_dir or self.data_dir / "builds"

    @property
    def admin_token_file(self) -> Path:
        return self.data_dir / ADMIN_TOKEN_FILE

    @property
    def actions(self) -> str:
        """The custom actions to run in-process: ``actions_package``, else the KB's ``actions/`` (a
        package name when it can be imported as one, like ``kb.demo.actions``, else its folder),
        else the demo's."""
        if self.actions_package:
            return self.actions_package
        folder = self.kb_path / "actions"
        if not (folder / "__init__.py").is_file():
            return DEMO_ACTIONS
        try:
            parts = folder.resolve().relative_to(Path.cwd().resolve()).parts
        except ValueError:
            return str(folder)
        return ".".join(parts) if all(p.isidentifier() for p in parts) else str(folder)

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / SECRET_KEY_FILE

    def stored_admin_token(self) -> str | None:
        """The admin token ``deskmate admin token`` keeps in the data folder, or None when it made none."""
        return read_secret(self.admin_token_file, min_length=MIN_TOKEN_LENGTH)

    def with_stored_secrets(self) -> Settings:
        """These settings with the secrets kept in the data folder where the environment sets none.

        The admin token: ``DESKMATE_ADMIN_TOKEN``, else the stored one (never made here). The
        session key: ``DESKMATE_SECRET_KEY``, else on the embedded defaults (SQLite, one process)
        the stored one, made on the first call. With ``DESKMATE_DATABASE_URL`` the key stays unset:
        replicas must share one, from the environment.
        """
        admin_token = self.admin_token or self.stored_admin_token()
        secret_key = self.secret_key
        if secret_key is None and self.database_url is None:
            secret_key, _ = read_or_create_secret(
                self.secret_key_file, lambda: secrets.token_urlsafe(48), min_length=MIN_SECRET_LENGTH
            )
        return replace(self, admin_token=admin_token, secret_key=secret_key)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``DESKMATE_*`` variables (e.g. ``DESKMATE_PORT=9000``), then ``overrides``."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "policy":
                continue
            key = PREFIX + f.name.upper()
            if key in env:
                if env[key] == "" and f.default is None:
                    continue  # an empty optional setting (compose passes unset ones as ""): unset
                values[f.name] = _cast(key, env[key], f.name)
        policy_values: dict[str, Any] = {}
        for f in fields(PolicyConfig):
            key = PREFIX + f.name.upper()
            if key in env:
                policy_values[f.name] = _cast(key, env[key], f.name, PolicyConfig)
        values["policy"] = PolicyConfig(**policy_values)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _cast(key: str, raw: str, name: str, owner: type = Settings) -> Any:
    default = getattr(owner(), name)
    if default is None and name.endswith("_threshold"):
        default = 0.0  # an optional probability: cast like one
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            number = int(raw)
            if name == "port" and not 0 <= number <= 65535:
                raise ValueError(raw)
            if name != "port" and number < 1:
                raise ValueError(raw)
            return number
        if isinstance(default, float):
            value = float(raw)
            if name in POSITIVE_FLOATS:
                if not (math.isfinite(value) and value > 0.0):
                    raise ValueError(raw)
            elif not 0.0 <= value <= 1.0:
                raise ValueError(raw)
            return value
        if name.endswith("_path") or name.endswith("_dir"):
            return Path(raw)
        if name == "log_level" and raw.upper() not in LOG_LEVELS:
            raise ValueError(raw)
        if name == "secret_key" and len(raw) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"{key} is too short ({len(raw)} characters); use at least {MIN_SECRET_LENGTH}, for example "
                "the output of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        if name in ("admin_token", "metrics_token") and len(raw) < MIN_TOKEN_LENGTH:
            raise ConfigError(
                f"{key} is too short ({len(raw)} characters); use at least {MIN_TOKEN_LENGTH}, for example "
                "the output of `python -c 'import secrets; print(secrets.token_urlsafe(24))'`"
                + (" (or unset it: `deskmate admin token` makes and shows one)" if name == "admin_token" else "")
            )
        if name == "database_url" and not raw.startswith(("postgresql://", "postgres://")):
            raise ConfigError(f"{key} must be a PostgreSQL URL like postgresql://user:password@host:5432/deskmate")
        if name == "redis_url" and not raw.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"{key} must be a Redis URL like redis://host:6379/0")
        if name == "generator" and raw not in GENERATORS:
            raise ConfigError(f"{key}={raw!r} is not one of {', '.join(GENERATORS)}; fix or unset it")
        if name == "explicit_handoff_pattern":
            try:
                re.compile(raw)
            except re.error as exc:
                raise ValueError(raw) from exc
        return raw
    except ValueError as exc:
        kind = {"float": "number between 0 and 1"}.get(type(default).__name__, type(default).__name__)
        if name in POSITIVE_FLOATS:
            kind = POSITIVE_FLOATS[name]
        if default is None:
            kind = "path"
        raise ConfigError(f"{key}={raw!r} is not a valid {kind}; fix or unset it") from exc
