"""Settings, read once in the composition root from the environment and `.env`.

An invalid or missing value stops the program with one line naming the variable
(`SettingsError`, exit code 2); secrets are `SecretStr` and never printed.

An empty value (`QUIET_HOURS=` in `.env` or the environment) means empty, never "use the
default": an optional setting becomes unset, a text setting empty, a number invalid.

The company's legal identity has no default. Serving real people (a Telegram token or
`SMTP_HOST` set) requires it (`LEGAL_REQUIRED`, and `COMPANY_VAT` when VAT is charged);
the local console without it runs on a demo identity whose every document is a SPECIMEN.
"""

from __future__ import annotations

import re
from decimal import Decimal
from email.headerregistry import Address
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["LEGAL_REQUIRED", "Settings", "SettingsError", "load_settings"]

# Printed on every invoice by law (Code de commerce L441-9, R123-237; CGI 242 nonies A) or
# needed to be paid (the IBAN of the credit transfer). COMPANY_VAT is required as well when
# any VAT rate is charged; RCS city, capital, SIRET and BIC are printed when set.
LEGAL_REQUIRED = ("COMPANY_NAME", "COMPANY_ADDRESS", "COMPANY_SIREN", "COMPANY_IBAN", "COMPANY_EMAIL")


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it in one line."""


class Settings(BaseSettings):
    """Every setting of Entonnoir. `.env.example` documents each one."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=False,
        populate_by_name=True,
    )

    # Chat
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    bot_username: str = "entonnoir_bot"
    first_admin_name: str = "admin"
    # Storage
    database_url: str = "sqlite://var/entonnoir.db"
    var_dir: Path = Path("var")
    # Locale
    # COMPANY_TIMEZONE, not TIMEZONE: Tortoise writes TIMEZONE into the environment.
    timezone: str = Field(default="Europe/Paris", validation_alias="COMPANY_TIMEZONE")
    default_currency: str = "EUR"
    default_language: Literal["fr", "en"] = "fr"
    phone_region: str = "FR"
    # Company identity (invoices): no defaults, see LEGAL_REQUIRED.
    company_name: str = ""
    company_address: str = ""
    company_country: str = "FR"
    company_siren: str = ""
    company_siret: str = ""
    company_vat: str = ""
    company_rcs_city: str = ""
    company_capital: str = ""
    company_iban: str = ""
    company_bic: str = ""
    company_email: str = ""
    payment_terms_days: int = Field(default=30, ge=0, le=60)
    late_penalty_rate: Decimal = Decimal("12.0")
    recovery_indemnity_eur: int = 40
    vat_rates: str = "20,10,5.5,2.1,0"
    company_vat_on_debits: bool = False  # prints "Option pour le paiement de la TVA d'après les débits"
    # Outgoing mail
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout: float = 30.0
    mail_from: str = ""  # empty: the company's name and email (see `sender`)
    # Incoming mail (bank confirmations)
    imap_host: str | None = None
    imap_port: int = 993
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_security: Literal["tls", "starttls", "none"] = "tls"
    imap_folder: str = "INBOX"
    imap_processed_folder: str = "Processed"
    imap_quarantine_folder: str = "Quarantine"
    imap_poll_seconds: int = Field(default=60, ge=5)
    payments_allowed_senders: str = ""
    authserv_id: str | None = None
    bank_templates_file: Path | None = None
    # Background loop
    quiet_hours: str = "20:00-08:00"
    digest_time: str = "08:00"
    dunning_days: str = "1,15,30,45"
    outbox_flush_seconds: int = Field(default=30, ge=1)
    alert_flush_seconds: int = Field(default=5, ge=1)
    # Running as a service (issue 13)
    # Webhook mode (set WEBHOOK_URL): Telegram calls WEBHOOK_URL, served on LISTEN:PORT.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    # Updates of different users handled at once by one `run` (PostgreSQL only; 1 = one by
    # one). Benchmarks/tests against a fake Bot API only: TELEGRAM_RATE_LIMIT=false.
    concurrent_updates: int = Field(default=16, ge=1, le=256)
    telegram_rate_limit: bool = True
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    # Tests and demos only: a file holding the jobs' current time (ISO 8601, aware), and
    # how often (real seconds) every job's timer fires at most (the period, in the jobs'
    # time, is still enforced by the claim in the database).
    simulated_clock_file: Path | None = None
    job_tick_seconds: float | None = Field(default=None, gt=0)

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()):
            raise ValueError("16 to 256 characters among A-Z a-z 0-9 _ -")
        return value

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: object) -> object:
        """`NAME=` unsets an optional setting (token, hosts, files) instead of defaulting."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key, value in data.items():
            if value != "":
                continue
            name = str(key).lower()
            name = "timezone" if name == "company_timezone" else name
            field = cls.model_fields.get(name)
            if field is not None and field.default is None and not field.is_required():
                out[key] = None
        return out

    # E-invoicing platform (PA, AFNOR XP Z12-013). Unset: invoices are emailed as before.
    pa_flow_url: str | None = None
    pa_directory_url: str | None = None
    pa_token_url: str | None = None
    pa_client_id: str | None = None
    pa_client_secret: SecretStr | None = None
    pa_organization_id: str | None = None
    pa_webhook_token: SecretStr | None = None  # shared token the PA sends on webhook calls
    pa_poll_seconds: int = Field(default=300, ge=10)
    pa_auto_approve_matched: bool = False

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("an IANA time zone such as Europe/Paris") from exc
        return value

    @field_validator("company_address")
    @classmethod
    def _address(cls, value: str) -> str:
        return value.replace("\\n", "\n")

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("a three-letter ISO 4217 code such as EUR")
        return value.upper()

    @field_validator("database_url")
    @classmethod
    def _db(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
            raise ValueError("sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB")
        return value.replace("postgresql://", "postgres://", 1)

    @field_validator("company_iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        from stdnum import iban

        if value and not iban.is_valid(value):
            raise ValueError("a valid IBAN")
        return iban.compact(value) if value else value

    @field_validator("company_siren")
    @classmethod
    def _siren(cls, value: str) -> str:
        from stdnum.fr import siren

        if value and not siren.is_valid(value):
            raise ValueError("a valid 9-digit SIREN")
        return siren.compact(value) if value else value

    @field_validator("company_siret")
    @classmethod
    def _siret(cls, value: str) -> str:
        from stdnum.fr import siret

        if value and not siret.is_valid(value):
            raise ValueError("a valid 14-digit SIRET")
        return siret.compact(value) if value else value

    @field_validator("company_vat")
    @classmethod
    def _vat(cls, value: str) -> str:
        from stdnum.eu import vat

        if value and not vat.is_valid(value):
            raise ValueError("a valid EU VAT number such as FR44732829320")
        return vat.compact(value) if value else value

    @field_validator("vat_rates")
    @classmethod
    def _rates(cls, value: str) -> str:
        try:
            rates = [Decimal(v.strip()) for v in value.split(",") if v.strip()]
        except ArithmeticError as exc:
            raise ValueError("comma-separated percentages such as 20,10,5.5,2.1,0") from exc
        if not rates or any(r < 0 or r >= 100 for r in rates):
            raise ValueError("comma-separated percentages such as 20,10,5.5,2.1,0")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        import re

        if value and not re.fullmatch(r"\d{1,2}:\d{2}-\d{1,2}:\d{2}", value):
            raise ValueError("HH:MM-HH:MM such as 20:00-08:00, or empty")
        return value

    @field_validator("digest_time")
    @classmethod
    def _digest(cls, value: str) -> str:
        import re

        if not re.fullmatch(r"\d{1,2}:\d{2}", value):
            raise ValueError("HH:MM such as 08:00")
        return value

    @field_validator("dunning_days")
    @classmethod
    def _dunning(cls, value: str) -> str:
        try:
            days = [int(v) for v in value.split(",")]
        except ValueError as exc:
            raise ValueError("four comma-separated day counts such as 1,15,30,45") from exc
        if len(days) != 4 or days != sorted(days) or days[0] < 0:
            raise ValueError("four increasing day counts such as 1,15,30,45")
        return value

    @model_validator(mode="after")
    def _smtp_auth(self) -> Settings:
        if self.smtp_user and self.smtp_password is None:
            raise ValueError("SMTP_PASSWORD is required when SMTP_USER is set")
        return self

    @model_validator(mode="after")
    def _pa(self) -> Settings:
        if self.pa_flow_url:
            for name in ("pa_token_url", "pa_client_id", "pa_client_secret"):
                if not getattr(self, name):
                    raise ValueError(f"{name.upper()} is required when PA_FLOW_URL is set")
            for url in (self.pa_flow_url, self.pa_token_url, self.pa_directory_url):
                if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
                    raise ValueError("https:// URLs for the PA (plain http only on loopback)")
        return self

    # Derived values (plain values handed down to the layers below).
    @property
    def serves_people(self) -> bool:
        """A Telegram token or an SMTP server: documents reach real people."""
        return self.telegram_bot_token is not None or bool(self.smtp_host)

    def missing_identity(self) -> str | None:
        """The first legal setting missing for real invoices (env name), or None."""
        for name in LEGAL_REQUIRED:
            if not str(getattr(self, name.lower())).strip():
                return name
        if any(bp > 0 for bp in self.vat_rates_bp) and not self.company_vat:
            return "COMPANY_VAT"
        return None

    @property
    def pa_enabled(self) -> bool:
        return bool(self.pa_flow_url)

    @property
    def sender(self) -> str:
        """The From of outgoing email: MAIL_FROM, else COMPANY_NAME <COMPANY_EMAIL>, else (the
        console's specimen mode) a local address that reaches nobody."""
        if self.mail_from.strip():
            return self.mail_from.strip()
        if self.company_email.strip():
            return str(Address(display_name=self.company_name.strip(), addr_spec=self.company_email.strip()))
        return "Entonnoir <entonnoir@localhost>"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def vat_rates_bp(self) -> list[int]:
        return [int(Decimal(v.strip()) * 100) for v in self.vat_rates.split(",") if v.strip()]

    @property
    def dunning_levels(self) -> list[int]:
        return [int(v) for v in self.dunning_days.split(",")]

    @property
    def allowed_senders(self) -> list[str]:
        return [s.strip().lower() for s in self.payments_allowed_senders.split(",") if s.strip()]


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; any problem becomes one `SettingsError` line."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "_".join(str(p) for p in first.get("loc", ())).upper() or "settings"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise SettingsError(f"{name}: expected {message}") from None
    if settings.serves_people and (missing := settings.missing_identity()) is not None:
        raise SettingsError(
            f"{missing}: expected a value: the company's legal identity is printed on every "
            "invoice, and is required when TELEGRAM_BOT_TOKEN or SMTP_HOST is set"
        )
    return settings
