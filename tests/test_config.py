"""Settings from the environment: defaults, validation, and the token kept out of sight."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from aseanbot.config import DEFAULT_API_BASE_URL, ConfigError, load_settings

# Shaped like a token so validation accepts it, but obviously fake.
TOKEN = "123456:FAKE-test-token-not-real-000000000"


def test_defaults_apply_when_nothing_is_set() -> None:
    settings = load_settings({})
    assert settings.token is None
    assert settings.api_base_url == DEFAULT_API_BASE_URL
    assert settings.db_path == Path("var/aseanbot.db")
    assert settings.data_dir == Path("data")
    assert settings.admin_ids == frozenset()
    assert settings.timezone.key == "Asia/Jakarta"
    assert settings.log_level == logging.INFO


def test_every_setting_is_read() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "ASEANBOT_DB_PATH": "/tmp/x.db",
            "ASEANBOT_DATA_DIR": "/srv/data",
            "ASEANBOT_ADMIN_IDS": " 42, 7 ,",
            "ASEANBOT_TIMEZONE": "Asia/Manila",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.require_token() == TOKEN
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.api_file_base_url == "http://127.0.0.1:8081/file/bot"
    assert settings.db_path == Path("/tmp/x.db")
    assert settings.data_dir == Path("/srv/data")
    assert settings.admin_ids == frozenset({42, 7})
    assert settings.timezone.key == "Asia/Manila"
    assert settings.log_level == logging.DEBUG


def test_the_token_never_shows_in_repr() -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert TOKEN not in repr(settings)
    assert TOKEN.split(":")[1] not in str(settings)


def test_a_missing_token_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is not set"):
        load_settings({}).require_token()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token-at-all"),
        ("TELEGRAM_API_BASE_URL", "ftp://example.invalid/bot"),
        ("ASEANBOT_ADMIN_IDS", "42,alice"),
        ("ASEANBOT_TIMEZONE", "Mars/Olympus_Mons"),
        ("ASEANBOT_TIMEZONE", "../../etc/passwd"),
        ("LOG_LEVEL", "LOUD"),
        ("HTTPS_PROXY", "socks5://127.0.0.1:1080"),
        ("all_proxy", "socks5h://user:secret@proxy.example:1080"),
    ],
)
def test_an_invalid_value_is_an_error_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({variable: value})
    assert variable in str(raised.value)


def test_an_http_proxy_is_accepted_and_a_proxys_password_never_echoed() -> None:
    load_settings({"HTTPS_PROXY": "http://proxy.example:3128"})
    with pytest.raises(ConfigError) as raised:
        load_settings({"HTTP_PROXY": "socks5://user:hunter2@proxy.example:1080"})
    assert "hunter2" not in str(raised.value)


def test_a_malformed_token_is_not_echoed_back() -> None:
    secret = "123:short"
    with pytest.raises(ConfigError) as raised:
        load_settings({"TELEGRAM_BOT_TOKEN": secret})
    assert secret not in str(raised.value)
