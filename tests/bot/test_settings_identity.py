"""No demo identity on real invoices; an empty setting means empty, not the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import LEGAL_REQUIRED, Settings, SettingsError, load_settings
from tests.billing_data import SELLER_SETTINGS
from tests.bot.test_cli import run


def _env(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_empty_value_in_env_means_empty_not_the_default(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        "QUIET_HOURS=\nTELEGRAM_BOT_TOKEN=\nSMTP_HOST=\nAUTHSERV_ID=\n"
        "BANK_TEMPLATES_FILE=\nCOMPANY_VAT=\nCOMPANY_TIMEZONE=Europe/Paris\n",
    )
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    assert settings.quiet_hours == ""  # no quiet hours, not 20:00-08:00
    assert settings.telegram_bot_token is None and settings.smtp_host is None
    assert settings.authserv_id is None and settings.bank_templates_file is None
    assert settings.company_vat == ""
    assert Settings(_env_file=None, timezone="Europe/Paris").quiet_hours == "20:00-08:00"  # type: ignore[call-arg]


def test_an_empty_number_is_refused_not_defaulted(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^SMTP_PORT: expected"):
        load_settings(_env_file=_env(tmp_path, "SMTP_PORT=\nCOMPANY_TIMEZONE=Europe/Paris\n"))


def test_the_legal_identity_has_no_default() -> None:
    settings = Settings(_env_file=None, timezone="Europe/Paris")  # type: ignore[call-arg]
    for name in (
        *LEGAL_REQUIRED,
        "COMPANY_VAT",
        "COMPANY_SIRET",
        "COMPANY_RCS_CITY",
        "COMPANY_CAPITAL",
        "COMPANY_BIC",
    ):
        assert getattr(settings, name.lower()) == "", name
    assert settings.missing_identity() == "COMPANY_NAME"
    assert load_settings(_env_file=None, timezone="Europe/Paris").company_iban == ""  # console: fine


def test_email_goes_out_from_the_company_unless_mail_from_says_otherwise() -> None:
    company = Settings(_env_file=None, timezone="Europe/Paris", **SELLER_SETTINGS)  # type: ignore[call-arg]
    assert company.sender == "Entonnoir Démo SAS <factures@entonnoir.example>"
    chosen = company.model_copy(update={"mail_from": "Compta <compta@acme.example>"})
    assert chosen.sender == "Compta <compta@acme.example>"
    specimen = Settings(_env_file=None, timezone="Europe/Paris")  # type: ignore[call-arg]
    assert specimen.sender == "Entonnoir <entonnoir@localhost>"  # no demo company's domain


@pytest.mark.parametrize("missing", [*LEGAL_REQUIRED, "COMPANY_VAT"])
def test_serving_people_without_a_legal_setting_stops_naming_it(missing: str) -> None:
    values = {k: v for k, v in SELLER_SETTINGS.items() if k != missing.lower()}
    for serving in ({"smtp_host": "smtp.example"}, {"telegram_bot_token": "123:abc"}):
        with pytest.raises(SettingsError, match=f"^{missing}: expected a value"):
            load_settings(_env_file=None, timezone="Europe/Paris", **values, **serving)
    complete = load_settings(
        _env_file=None, timezone="Europe/Paris", smtp_host="smtp.example", **SELLER_SETTINGS
    )
    assert complete.missing_identity() is None


def test_no_vat_number_is_fine_when_no_vat_is_charged() -> None:
    values = {k: v for k, v in SELLER_SETTINGS.items() if k != "company_vat"}
    settings = load_settings(
        _env_file=None, timezone="Europe/Paris", smtp_host="smtp.example", vat_rates="0", **values
    )
    assert settings.company_vat == "" and settings.missing_identity() is None


def test_a_token_without_identity_stops_the_start_in_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "run", TELEGRAM_BOT_TOKEN="123456:ABCdefGHIjklMNOpqrSTUvwxYZ")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "entonnoir: invalid setting COMPANY_NAME: expected a value"
    ), lines
    assert "ABCdef" not in result.stderr and not (tmp_path / "e.db").exists()
    empty_vat = run(
        tmp_path,
        "run",
        SMTP_HOST="smtp.example",
        COMPANY_VAT="",
        **{k.upper(): v for k, v in SELLER_SETTINGS.items() if k != "company_vat"},
    )
    assert empty_vat.returncode == 2
    assert empty_vat.stderr.strip().startswith("entonnoir: invalid setting COMPANY_VAT:")


def test_the_console_starts_on_a_fresh_machine_with_a_specimen_identity(tmp_path: Path) -> None:
    result = run(tmp_path, "run", stdin="/help\n", DEFAULT_LANGUAGE="en")
    assert result.returncode == 0, result.stderr
    assert "(COMPANY_NAME is not set): specimen mode" in result.stdout
    assert "/refunded" in result.stdout
