"""Typed settings, read once from the environment CDK sets (see ``contract.FUNCTION_ENVIRONMENT``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from arcollect.contract import FUNCTION_REQUIRED, EnvVar


class ConfigurationError(RuntimeError):
    """A setting the code needs was not configured for this function."""


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _rate(env: Mapping[str, str], name: str) -> float:
    text = _optional(env, name)
    if text is None:
        return Settings.ses_max_send_rate
    try:
        rate = float(text)
    except ValueError:
        rate = 0.0
    if not rate > 0:
        raise ConfigurationError(f"{name} must be a positive number of emails per second, not {text!r}")
    return rate


def _days(env: Mapping[str, str], name: str) -> int:
    text = _optional(env, name)
    if text is None:
        return Settings.portal_link_days
    if not text.isdigit() or not 1 <= int(text) <= 365:
        raise ConfigurationError(f"{name} must be a whole number of days from 1 to 365, not {text!r}")
    return int(text)


def _retention(env: Mapping[str, str], name: str) -> int:
    text = _optional(env, name)
    if text is None:
        return Settings.retention_days
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(f"{name} must be a whole number of days, not {text!r}")
    return int(text)


@dataclass(frozen=True)
class Settings:
    environment_name: str = "dev"
    table_name: str | None = None
    drop_bucket: str | None = None
    reports_bucket: str | None = None
    sender_email: str | None = None
    ses_configuration_set: str | None = None
    link_secret_arn: str | None = None
    portal_base_url: str | None = None
    ingest_queue_url: str | None = None
    dunning_queue_url: str | None = None
    # SES's default sandbox rate is 1/s; production accounts are usually granted 14/s or more.
    ses_max_send_rate: float = 1.0
    portal_link_days: int = 30
    payment_url_template: str | None = None
    staff_user_pool_id: str | None = None
    staff_client_id: str | None = None
    # JSON {name: URL} (contract.parse_dead_letter_queues reads it).
    dead_letter_queues: str | None = None
    # How long records of collections activity are kept (their items' TTL): 7 years by default.
    retention_days: int = 7 * 366
    # The reports' engine (the reportsEngine context; reports/engines.py): auto, python, duckdb, athena.
    reports_engine: str = "auto"
    # Its athena engine's workgroup and Glue database (set by the stack's warehouse).
    reports_workgroup: str | None = None
    reports_database: str | None = None
    # The domain SES receives replies on: reminders then say "reply to reply+<token>@<it>".
    inbound_domain: str | None = None
    # Reminder texts (docs/sms.md): off unless an origination identity is set.
    sms_origination_identity: str | None = None
    sms_configuration_set: str | None = None
    sms_opt_out_list: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            environment_name=_optional(env, EnvVar.ENVIRONMENT_NAME) or "dev",
            table_name=_optional(env, EnvVar.TABLE_NAME),
            drop_bucket=_optional(env, EnvVar.DROP_BUCKET),
            reports_bucket=_optional(env, EnvVar.REPORTS_BUCKET),
            sender_email=_optional(env, EnvVar.SENDER_EMAIL),
            ses_configuration_set=_optional(env, EnvVar.SES_CONFIGURATION_SET),
            link_secret_arn=_optional(env, EnvVar.LINK_SECRET_ARN),
            portal_base_url=_optional(env, EnvVar.PORTAL_BASE_URL),
            ingest_queue_url=_optional(env, EnvVar.INGEST_QUEUE_URL),
            dunning_queue_url=_optional(env, EnvVar.DUNNING_QUEUE_URL),
            ses_max_send_rate=_rate(env, EnvVar.SES_MAX_SEND_RATE),
            portal_link_days=_days(env, EnvVar.PORTAL_LINK_DAYS),
            payment_url_template=_optional(env, EnvVar.PAYMENT_URL_TEMPLATE),
            staff_user_pool_id=_optional(env, EnvVar.STAFF_USER_POOL_ID),
            staff_client_id=_optional(env, EnvVar.STAFF_CLIENT_ID),
            dead_letter_queues=_optional(env, EnvVar.DEAD_LETTER_QUEUES),
            retention_days=_retention(env, EnvVar.RETENTION_DAYS),
            reports_engine=(_optional(env, EnvVar.REPORTS_ENGINE) or "auto").strip().lower(),
            reports_workgroup=_optional(env, EnvVar.REPORTS_WORKGROUP),
            reports_database=_optional(env, EnvVar.REPORTS_DATABASE),
            inbound_domain=(_optional(env, EnvVar.INBOUND_DOMAIN) or "").lower() or None,
            sms_origination_identity=_optional(env, EnvVar.SMS_ORIGINATION_IDENTITY),
            sms_configuration_set=_optional(env, EnvVar.SMS_CONFIGURATION_SET),
            sms_opt_out_list=_optional(env, EnvVar.SMS_OPT_OUT_LIST),
        )

    def require(self, attribute: str) -> str:
        """The value of a setting this code path cannot work without, or a clear error naming it."""
        value = getattr(self, attribute)
        if not value:
            env_name = attribute.upper()
            raise ConfigurationError(
                f"setting {attribute!r} is missing: set the {env_name} environment variable"
            )
        return str(value)

    def checked(self, function: str) -> Settings:
        """These settings, once every variable ``function`` cannot start without is set
        (``contract.FUNCTION_REQUIRED``); else a ConfigurationError naming each one that is not."""
        missing = [name for name in FUNCTION_REQUIRED[function] if not getattr(self, name.lower())]
        if missing:
            raise ConfigurationError(
                f"the {function} function cannot start: set the environment variable(s) {', '.join(missing)}"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached: the environment of a Lambda sandbox does not change)."""
    return Settings.from_env()
