from pathlib import Path

import pytest
from pydantic import ValidationError

from duecall.errors import ConfigurationError
from duecall.logs import mask_name, mask_phone
from duecall.settings import Settings, load_settings


def test_defaults_are_the_spec_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    settings = Settings()
    assert settings.database_url == "sqlite:///duecall.db"
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert (settings.telephony, settings.agent_mode, settings.policy) == (
        "simulator",
        "scripted",
        "rbi",
    )
    assert settings.twilio_api_base_url == "https://api.twilio.com"
    assert (settings.scheduler, settings.lender_name, settings.clock) == ("on", "Demo Bank", None)


def test_environment_and_dotenv_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "DUECALL_LENDER_NAME=Shakti Finance\nTWILIO_AUTH_TOKEN=tw-secret-value\n"
    )
    monkeypatch.setenv("DUECALL_DATABASE_URL", "postgresql://u@db:5432/duecall")
    monkeypatch.setenv("DUECALL_CLOCK", "2026-03-02T09:00:00+05:30")
    settings = load_settings()
    assert settings.lender_name == "Shakti Finance"
    assert settings.database_url == "postgresql+psycopg://u@db:5432/duecall"
    assert settings.clock is not None and settings.clock.isoformat() == "2026-03-02T09:00:00+05:30"
    assert "tw-secret-value" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("DUECALL_ADMIN_TOKEN", "changethis", "placeholder value"),
        ("DUECALL_ADMIN_TOKEN", "short", "at least 16 characters"),
        ("DUECALL_CLOCK", "2026-03-02T09:00:00", "with an offset"),
        ("DUECALL_TELEPHONY", "asterisk", "should be 'twilio' or 'simulator'"),
        ("DUECALL_PUBLIC_BASE_URL", "duecall.example.com", "must start with http"),
        ("DUECALL_DEFAULT_TIMEZONE", "Mars/Base", "unknown IANA time zone"),
        ("DUECALL_AGENT_MODE", "gpt", "should be 'scripted' or 'llm'"),
        ("DUECALL_LLM_BUDGET_S", "0", "greater than 0"),
        ("DUECALL_LLM_BUDGET_S", "soon", "valid number"),
        ("DUECALL_LLM_TRANSPORT", "websocket", "should be 'gather' or 'relay'"),
        ("DUECALL_LLM_MAX_TOKENS", "5", "greater than or equal to 16"),
        ("OPENAI_BASE_URL", "api.openai.com/v1", "must start with http"),
        ("OPENAI_API_KEY", "changeme", "placeholder"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, problem: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=f"{name}: .*{problem}"):
        load_settings()


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+919812345678", "+91******5678"),
        ("+12125551234", "+12*****1234"),
        ("", ""),
        ("12345", "*****"),
    ],
)
def test_phone_masking(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


def test_name_masking() -> None:
    assert mask_name("Priya Sharma") == "P. S."


def test_the_session_secret_must_be_long_and_not_a_placeholder() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(DUECALL_SESSION_SECRET="short")
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(DUECALL_SESSION_SECRET="changeme")
    assert Settings(DUECALL_SESSION_SECRET="x" * 32).session_secret is not None
