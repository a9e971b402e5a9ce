"""bot.ops.config: settings from DESKMATE_* variables, cast to their types, ConfigError on bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.policy import PolicyConfig
from bot.errors import ConfigError
from bot.ops.config import DEMO_KB, Settings


def test_defaults_without_any_variable() -> None:
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.kb_path == DEMO_KB
    assert settings.policy == PolicyConfig()
    assert settings.database == Path("var") / "deskmate.sqlite3"
    assert settings.builds == Path("var") / "builds"
    assert (DEMO_KB / "intents.yml").is_file()


def test_values_are_cast() -> None:
    settings = Settings.from_env(
        {
            "DESKMATE_HOST": "0.0.0.0",
            "DESKMATE_PORT": "9000",
            "DESKMATE_KB_PATH": "/srv/kb",
            "DESKMATE_DATA_DIR": "/srv/data",
            "DESKMATE_LOG_LEVEL": "DEBUG",
            "DESKMATE_ANSWER_THRESHOLD": "0.75",
            "DESKMATE_RETRIEVAL_THRESHOLD": "1",
            "DESKMATE_MAX_FAILURES": "3",
        }
    )

    assert settings.host == "0.0.0.0"
    assert settings.port == 9000
    assert settings.kb_path == Path("/srv/kb")
    assert settings.data_dir == Path("/srv/data")
    assert settings.log_level == "DEBUG"
    assert settings.policy.answer_threshold == 0.75
    assert settings.policy.retrieval_threshold == 1.0
    assert settings.policy.max_failures == 3
    assert settings.policy.clarify_margin == PolicyConfig().clarify_margin
    assert settings.database == Path("/srv/data/deskmate.sqlite3")
    assert settings.builds == Path("/srv/data/builds")


def test_explicit_paths_win_over_data_dir() -> None:
    settings = Settings.from_env({"DESKMATE_DB_PATH": "/tmp/x.db", "DESKMATE_BUILDS_DIR": "/tmp/b"})

    assert isinstance(settings.db_path, Path)
    assert settings.database == Path("/tmp/x.db")
    assert settings.builds == Path("/tmp/b")


def test_other_variables_are_ignored() -> None:
    settings = Settings.from_env({"PORT": "1", "DESKMATE_NOPE": "x", "deskmate_port": "2"})

    assert settings.port == 8080


def test_overrides_win_and_none_overrides_are_ignored() -> None:
    settings = Settings.from_env({"DESKMATE_PORT": "9000", "DESKMATE_HOST": "a"}, port=9100, host=None)

    assert settings.port == 9100
    assert settings.host == "a"


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKMATE_PORT", "9123")

    assert Settings.from_env().port == 9123


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DESKMATE_PORT", "eighty"),
        ("DESKMATE_PORT", "80.5"),
        ("DESKMATE_PORT", ""),
        ("DESKMATE_PORT", "70000"),
        ("DESKMATE_PORT", "-1"),
        ("DESKMATE_MAX_FAILURES", "two"),
        ("DESKMATE_MAX_FAILURES", "1.5"),
        ("DESKMATE_ANSWER_THRESHOLD", "high"),
        ("DESKMATE_ANSWER_THRESHOLD", "1.5"),
        ("DESKMATE_HANDOFF_BELOW", "-0.1"),
        ("DESKMATE_CLARIFY_MARGIN", "nan"),
        ("DESKMATE_LOG_LEVEL", "chatty"),
        ("DESKMATE_EXPLICIT_HANDOFF_PATTERN", "(unclosed"),
    ],
)
def test_bad_values_raise_config_error(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({key: value})

    assert key in str(info.value)
    assert "fix or unset it" in str(info.value)


def test_admin_token_is_unset_by_default_read_from_env_and_never_printed() -> None:
    assert Settings.from_env({}).admin_token is None
    token = "s3cret-admin-token-0123"
    settings = Settings.from_env({"DESKMATE_ADMIN_TOKEN": token})

    assert settings.admin_token == token
    assert token not in repr(settings)


def test_a_short_admin_token_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(ConfigError, match=r"at least 16.*secrets.token_urlsafe"):
        Settings.from_env({"DESKMATE_ADMIN_TOKEN": "hunter2"})


def test_session_hours_is_any_positive_number() -> None:
    assert Settings.from_env({}).session_hours == 12.0
    assert Settings.from_env({"DESKMATE_SESSION_HOURS": "0.5"}).session_hours == 0.5
    assert Settings.from_env({"DESKMATE_SESSION_HOURS": "72"}).session_hours == 72.0


@pytest.mark.parametrize("value", ["0", "-2", "inf", "nan", "twelve", ""])
def test_bad_session_hours_say_what_is_expected(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"DESKMATE_SESSION_HOURS": value})

    assert str(info.value) == (
        f"DESKMATE_SESSION_HOURS={value!r} is not a valid positive number of hours, such as 12 or 0.5; fix or unset it"
    )


def test_an_empty_optional_setting_counts_as_unset() -> None:
    settings = Settings.from_env({"DESKMATE_METRICS_TOKEN": "", "DESKMATE_DATABASE_URL": "", "DESKMATE_REDIS_URL": ""})

    assert (settings.metrics_token, settings.database_url, settings.redis_url) == (None, None, None)


def test_secrets_are_checked_and_never_shown() -> None:
    secret = "s" * 40
    settings = Settings.from_env(
        {
            "DESKMATE_SECRET_KEY": secret,
            "DESKMATE_DATABASE_URL": f"postgresql://deskmate:{secret}@db/deskmate",
            "DESKMATE_REDIS_URL": "redis://:pw-in-url@cache:6379/0",
        }
    )

    assert secret not in repr(settings) and "pw-in-url" not in repr(settings)
    with pytest.raises(ConfigError, match="at least 32"):
        Settings.from_env({"DESKMATE_SECRET_KEY": "short"})
    with pytest.raises(ConfigError, match="PostgreSQL URL"):
        Settings.from_env({"DESKMATE_DATABASE_URL": "mysql://x"})


def test_abuse_limits_and_origins_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "DESKMATE_ALLOWED_ORIGINS": "https://shop.example.com/, https://help.example.com",
            "DESKMATE_MAX_CONNECTIONS_PER_ADDRESS": "5",
            "DESKMATE_ADDRESS_RATE": "2.5",
        }
    )

    assert settings.origins == {"https://shop.example.com", "https://help.example.com"}
    assert (settings.max_connections_per_address, settings.address_rate) == (5, 2.5)
    with pytest.raises(ConfigError):
        Settings.from_env({"DESKMATE_MAX_CONNECTIONS_PER_ADDRESS": "0"})
