"""Typed configuration: ``hub.toml`` plus ``HUB_*`` environment variables (which win).

Everything is described and ``extra="forbid"``, so a misspelt key is an error, not a silent
default. A secret is never written in the file itself: it is referenced as ``{ env = "NAME" }``
(read from the environment) or ``{ encrypted = "TOKEN" }`` (made by ``hub secret encrypt``,
decrypted with ``HUB_SECRET_KEY`` or the data directory's key file), and is redacted in every
dump. Errors name the key, the file and the line where possible, and say how to fix it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.host.environment import EnvironmentValues, deep_merge, read_environment
from hub.host.setting_values import (
    MAX_DUE_DAYS, MAX_REMINDER_DAYS, DueDays, Number, ReminderDays, WholeNumber,
)
from hub.errors import ConfigError

__all__ = [
    "HubSettings", "CompanySettings", "BillingSettings", "WebSettings", "MailSettings",
    "ConnectionConfig",
    "load_settings", "DEFAULT_CONFIG_FILE", "locate_key", "format_validation_error",
    "MAX_DUE_DAYS", "MAX_REMINDER_DAYS", "MAX_WEBHOOK_BYTES", "MAX_PULL_INTERVAL_MINUTES",
    "MAX_MAIL_TIMEOUT_SECONDS",
]

DEFAULT_CONFIG_FILE = "hub.toml"
SECRET_MARK = "**********"

#: The largest webhook body ``web.max_webhook_bytes`` may allow: 16 MiB. Processors' and
#: accounting systems' events are a few KiB; a bigger limit only lets a flood through.
MAX_WEBHOOK_BYTES = 16 * 1024 * 1024
#: The longest ``pull_interval_minutes``: a week. MSPs pull hourly to daily; a longer interval
#: is a mistyped value that would leave the pulled records weeks out of date.
MAX_PULL_INTERVAL_MINUTES = 7 * 24 * 60
#: The longest ``mail.timeout_seconds``: ten minutes. An SMTP server that has not answered by
#: then will not, and a send job must not hang its worker for hours.
MAX_MAIL_TIMEOUT_SECONDS = 600


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompanySettings(_Section):
    """The MSP itself: what appears on every invoice."""

    name: str = Field("Example MSP", description="company name on documents")
    currency: str = Field("USD", description="ISO 4217 currency of invoices")
    partner_id: WholeNumber = Field(1, ge=0, le=99,
                                    description="partner id used in invoice numbers (0–99)")
    invoice_number_format: str = Field(
        "{year}{partner_id|2}{next|6}", description="Splynx-style number format")
    credit_note_number_format: str = Field("CN{year}{next|6}", description="credit note numbers")
    payment_due_days: DueDays = Field(
        14, description=f"default days from document date to due (0–{MAX_DUE_DAYS})")
    locale: str = Field("en_US", description="locale for number and date formats on documents")
    address: list[str] = Field(default_factory=list, description="postal address lines on documents")
    email: str | None = Field(None, description="contact email printed on documents")
    phone: str | None = Field(None, description="contact phone printed on documents")
    website: str | None = Field(None, description="website printed on documents")
    tax_number: str | None = Field(None, description="VAT/GST/tax registration number")
    logo: Path | None = Field(None, description="PNG or JPEG logo for PDF documents")
    payment_instructions: str = Field(
        "", description="how to pay (bank details, reference to quote), printed on invoices")
    templates_dir: Path | None = Field(
        None, description="folder whose templates override the packaged PDF and email templates")
    time_zone: str = Field("UTC", description="IANA time zone (e.g. 'Europe/London') of the "
                           "company: billing dates and the scheduler's daily run time")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone; use a name such as "
                             "'Europe/London' or 'America/New_York'") from None
        return value

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The company's time zone."""
        return zoneinfo.ZoneInfo(self.time_zone)

    @field_validator("currency")
    @classmethod
    def _iso(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError("use a three-letter ISO 4217 code such as 'USD'")
        return value


class BillingSettings(_Section):
    """When and how the scheduled billing run happens."""

    run_at: dt.time = Field(dt.time(6, 0), description="time of the daily billing run, in the "
                            "company's time zone (company.time_zone)")
    auto_confirm: bool = Field(False, description="confirm the preview batch without approval")
    reminder_days: list[ReminderDays] = Field(
        default_factory=lambda: [7, 14, 30], max_length=50,
        description=f"days after the document date to remind (each 0–{MAX_REMINDER_DAYS})")
    tax_rounding: Literal["line", "document"] = Field(
        "line", description="round tax per line (as Xero does) or per tax rate over the "
                            "document (as QuickBooks Online does)")


class WebSettings(_Section):
    """The web server (webhooks and REST API)."""

    host: str = "127.0.0.1"
    port: WholeNumber = Field(8765, ge=1, le=65535)
    max_webhook_bytes: WholeNumber = Field(
        256 * 1024, ge=1024, le=MAX_WEBHOOK_BYTES,
        description=f"bigger bodies get 413; 1024 to {MAX_WEBHOOK_BYTES} (16 MiB)")
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="addresses (or CIDR networks) of the reverse proxies whose X-Forwarded-Proto "
                    "and X-Forwarded-For are believed: the proxy that terminates TLS, so the "
                    "admin's session cookie is marked Secure; '*' believes any sender")


class MailSettings(_Section):
    """Outgoing email over SMTP: how invoices, credit notes and statements reach customers."""

    host: str = Field("localhost", description="SMTP server")
    port: WholeNumber = Field(587, ge=1, le=65535,
                              description="587 for STARTTLS, 465 for SSL, 25 plain")
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="STARTTLS upgrade, implicit TLS (SSL) or none (local relays)")
    username: str | None = Field(None, description="SMTP login; none: no authentication")
    password: dict[str, str] | None = Field(
        None, description='secret reference: { env = "NAME" } or { encrypted = "TOKEN" }')
    from_address: str = Field("billing@example.com", description="envelope and From address")
    from_name: str | None = Field(None, description="display name; default: the company name")
    reply_to: str | None = None
    bcc: list[str] = Field(default_factory=list, description="copied on every document sent")
    timeout_seconds: Number = Field(
        30.0, gt=0, le=MAX_MAIL_TIMEOUT_SECONDS,
        description=f"per SMTP connection; more than 0, at most {MAX_MAIL_TIMEOUT_SECONDS} "
                    "(ten minutes)")

    @field_validator("password", mode="before")
    @classmethod
    def _reference(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, dict)
                                  or set(value) not in ({"env"}, {"encrypted"})):
            raise ValueError('write the password as { env = "NAME" } or { encrypted = "TOKEN" }, '
                             "never in the file itself")
        return value


class ConnectionConfig(_Section):
    """One ``[[connections]]`` entry: a named instance of a plugin's connection type."""

    name: str = Field(description="unique name, used in URLs and job ids")
    plugin: str = Field(description="connection type, e.g. 'xero', 'stripe', 'ninjaone'")
    enabled: bool = True
    pull_interval_minutes: WholeNumber = Field(
        60, ge=1, le=MAX_PULL_INTERVAL_MINUTES,
        description=f"how often pulls run: 1 to {MAX_PULL_INTERVAL_MINUTES} minutes (a week)")
    rate_time_scale: Number = Field(
        1.0, gt=0, le=100_000, description="local sandboxes only: the vendor's clock runs this "
        "many times faster, so its rate-limit windows are this many times shorter; 1 in production")
    settings: dict[str, Any] = Field(default_factory=dict,
                                     description="validated by the plugin's own settings model")

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", value):
            raise ValueError("use lower-case letters, digits, '-' and '_' (it appears in URLs)")
        return value


#: ``HUB_DATABASE_URL`` sets ``database_url``; ``HUB_COMPANY__CURRENCY`` sets ``company.currency``.
ENV_PREFIX = "HUB_"
ENV_NESTED_DELIMITER = "__"


class HubSettings(BaseModel):
    """All of the hub's configuration (:func:`load_settings` reads it from the file and the
    environment; constructed directly, it holds exactly what it is given)."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Field(Path("hub-data"), description="where the SQLite file and keys live")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    broker_url: str | None = Field(None, description="redis://... for Redis; default in-process")
    secret_key: str | None = Field(None, description="Fernet key for stored secrets")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = Field(
        "text", description="text: key=value lines; json: one JSON object per line")
    company: CompanySettings = Field(default_factory=CompanySettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    connections: list[ConnectionConfig] = Field(default_factory=list)
    config_file: Path | None = Field(None, exclude=True, description="the file this came from")

    @field_validator("connections")
    @classmethod
    def _unique_names(cls, value: list[ConnectionConfig]) -> list[ConnectionConfig]:
        seen: set[str] = set()
        for conn in value:
            if conn.name in seen:
                raise ValueError(f"connection name {conn.name!r} is used twice; names must be unique")
            seen.add(conn.name)
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in ``data_dir``."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'hub.sqlite').as_posix()}"

    def connection(self, name: str) -> ConnectionConfig:
        """The connection called ``name``."""
        for conn in self.connections:
            if conn.name == name:
                return conn
        known = ", ".join(c.name for c in self.connections) or "none configured"
        raise ConfigError(f"no connection named {name!r} (known: {known})",
                          hint="add a [[connections]] entry to hub.toml")

    def redacted(self) -> dict[str, Any]:
        """A dump safe to print: secrets and secret references masked."""
        data = self.model_dump(mode="json", exclude={"config_file"})
        if data.get("secret_key"):
            data["secret_key"] = SECRET_MARK
        for url in ("database_url", "broker_url"):  # passwords in URLs (Redis: ":pw@host")
            if data.get(url):
                data[url] = re.sub(r"://([^:/@]*):[^@]*@", r"://\1:" + SECRET_MARK + "@",
                                   data[url])
        for conn in data["connections"]:
            conn["settings"] = redact_secrets(conn["settings"])
        data["mail"] = redact_secrets(data["mail"])
        return data


_SECRET_WORDS = ("secret", "password", "token", "key", "credential")


def redact_secrets(value: Any, key: str = "") -> Any:
    """Mask secret references and anything whose key looks secret, recursively."""
    if isinstance(value, dict):
        if set(value) == {"env"}:
            return {"env": value["env"]}  # the variable's name is not secret; its value is
        if set(value) == {"encrypted"}:
            return {"encrypted": SECRET_MARK}
        return {k: redact_secrets(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_secrets(v, key) for v in value]
    if isinstance(value, str) and any(word in key.lower() for word in _SECRET_WORDS):
        return SECRET_MARK
    return value


def locate_key(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort 1-based line of the key at ``loc`` in TOML ``text``.

    Handles the shapes ``hub.toml`` uses: top-level keys, ``[section]`` keys and keys inside
    the n-th ``[[connections]]`` table. Returns ``None`` when it cannot tell.
    """
    lines = text.splitlines()
    section_start, section_end = 0, len(lines)
    parts = list(loc)
    if parts and parts[0] == "connections" and len(parts) > 1 and isinstance(parts[1], int):
        starts = [i for i, line in enumerate(lines) if line.strip() == "[[connections]]"]
        if parts[1] >= len(starts):
            return None
        section_start = starts[parts[1]]
        following = [i for i, line in enumerate(lines)
                     if i > section_start and re.match(r"\s*\[(?!connections\.settings)", line)]
        section_end = following[0] if following else len(lines)
        parts = [p for p in parts[2:] if p != "settings"]
        if not parts:
            return section_start + 1
    elif parts and len(parts) > 1:
        header = re.compile(rf"\s*\[{re.escape(str(parts[0]))}\]\s*$")
        for i, line in enumerate(lines):
            if header.match(line):
                section_start = i
                later = [j for j in range(i + 1, len(lines)) if lines[j].lstrip().startswith("[")]
                section_end = later[0] if later else len(lines)
                parts = parts[1:]
                break
    names = [p for p in parts if not isinstance(p, int)]  # a list item is on its key's line
    key = str(names[-1]) if names else ""
    pattern = re.compile(rf"\s*{re.escape(key)}\s*=")
    for i in range(section_start, section_end):
        if pattern.match(lines[i]):
            return i + 1
    return section_start + 1 if section_start else None


def format_validation_error(exc: ValidationError, *, source: Path | None, text: str | None,
                            prefix: tuple[Any, ...] = (),
                            environment: EnvironmentValues | None = None) -> str:
    """One line per problem: ``file:line: key: what is wrong``, or ``environment variable
    NAME: key: what is wrong`` for a value that ``environment`` supplied."""
    messages = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        dotted = ".".join(str(p) for p in loc)
        variable = environment.variable_for(loc) if environment else None
        if variable:
            where = f"environment variable {variable}"
        else:
            where = str(source) if source else "environment"
            line = locate_key(text, loc) if text else None
            if line:
                where = f"{where}:{line}"
        if err["type"] == "extra_forbidden":
            what = "unknown key (misspelt? `hub init --print` shows every key)"
        elif err["type"] == "missing":
            what = "required key is missing"
        else:
            what = err["msg"].removeprefix("Value error, ")
        # a check of several values together has no key of its own: its message names them
        messages.append(f"{where}: {dotted}: {what}" if dotted else f"{where}: {what}")
    return "; ".join(messages)


def load_settings(path: Path | str | None = None, **overrides: Any) -> HubSettings:
    """Load ``hub.toml`` (or ``$HUB_CONFIG``) plus the ``HUB_*`` environment variables, which
    win over the file (:mod:`hub.host.environment`), into :class:`HubSettings`; ``overrides`` win
    over both.

    A missing default file is fine (embedded defaults); a missing named file is an error.
    """
    named = path or os.environ.get("HUB_CONFIG")
    file = Path(named) if named else Path(DEFAULT_CONFIG_FILE)
    data: dict[str, Any] = {}
    text: str | None = None
    if file.exists():
        try:
            text = file.read_text(encoding="utf-8")
        except IsADirectoryError:
            raise ConfigError(f"config file {file} is a folder",
                              hint="point HUB_CONFIG (or --config) at the hub.toml in it"
                              ) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start})",
                              hint="save the file as UTF-8") from None
        except OSError as exc:
            raise ConfigError(f"config file {file} cannot be read: {exc.strerror}",
                              hint="check the path and its permissions") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}",
                              hint="fix the syntax at that line (strings need quotes)") from None
    elif named:
        raise ConfigError(f"config file {file} does not exist",
                          hint="create one with `hub init` or point HUB_CONFIG at it")
    environment = read_environment(HubSettings, ENV_PREFIX, nested_delimiter=ENV_NESTED_DELIMITER)
    data = deep_merge(data, environment.values)
    data.update(overrides)
    try:
        settings = HubSettings(**data)
    except ValidationError as exc:
        from_environment = all(environment.variable_for(tuple(e["loc"])) for e in exc.errors())
        raise ConfigError(format_validation_error(exc, source=file if text else None, text=text,
                                                  environment=environment),
                          hint="correct the variable and run again" if from_environment
                          else "correct the key and run again") from None
    object.__setattr__(settings, "config_file", file if text is not None else None)
    return settings
