import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings must come from what each test sets, not from the machine or a .env file."""
    for name in list(os.environ):
        if name.startswith("BCF_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_follow_the_documented_values() -> None:
    settings = Settings()
    assert settings.data_dir == Path(".bcf")
    assert settings.landing_path == Path(".bcf/landing")
    assert settings.reporting_tz == "America/Sao_Paulo"
    assert settings.reporting_currency == "BRL"
    assert settings.database_url is None
    assert settings.retention["audit_logs"] == "5 years"


def test_landing_dir_follows_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BCF_DATA_DIR", "/srv/bcf")
    assert Settings().landing_path == Path("/srv/bcf/landing")
    monkeypatch.setenv("BCF_LANDING_DIR", "/mnt/drop")
    assert Settings().landing_path == Path("/mnt/drop")


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BCF_REPORTING_CURRENCY=USD\nBCF_REDIS_URL=redis://h:1/2\n")
    settings = Settings()
    assert settings.reporting_currency == "USD"
    assert settings.redis_url == "redis://h:1/2"


def test_the_env_file_variable_names_another_file_or_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("BCF_REPORTING_CURRENCY=USD\n")
    (tmp_path / "staging.env").write_text("BCF_REPORTING_CURRENCY=EUR\n")
    monkeypatch.setenv("BCF_ENV_FILE", "staging.env")
    assert Settings().reporting_currency == "EUR"
    monkeypatch.setenv("BCF_ENV_FILE", "")
    assert Settings().reporting_currency == "BRL"


def test_retention_is_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BCF_RETENTION", '{"audit_logs": "10 years"}')
    retention = Settings().retention
    assert retention["audit_logs"] == "10 years"
    assert retention["visitor_tracking"] == "2 years"


@pytest.mark.parametrize("env", ["production", "test"])
def test_placeholder_secret_is_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    monkeypatch.setenv("BCF_ENV", env)
    with pytest.raises(ValidationError, match="BCF_SECRET_KEY is a placeholder"):
        Settings()
    monkeypatch.setenv("BCF_SECRET_KEY", "a-real-secret-of-some-length-5f1c")
    with pytest.raises(ValidationError, match="BCF_PSEUDONYMISATION_KEY is a placeholder"):
        Settings()
    monkeypatch.setenv("BCF_PSEUDONYMISATION_KEY", "another-real-secret-9a2e")
    assert Settings().env == env


def test_placeholder_secret_is_accepted_in_development() -> None:
    assert Settings().secret_key.get_secret_value() == "change-me"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BCF_REPORTING_TZ", "Mars/Olympus", "unknown time zone"),
        ("BCF_REPORTING_CURRENCY", "real", "ISO 4217"),
        ("BCF_TIMESCALE_CHUNK_INTERVAL", "7 days; DROP TABLE users", "interval"),
        ("BCF_RETENTION", '{"audit_logs": "forever"}', "retention of audit_logs"),
        ("BCF_RETENTION", '{"audit_log": "1 year"}', "retention of audit_log: not one of"),
    ],
)
def test_bad_values_are_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=message):
        Settings()
