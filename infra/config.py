"""Deployment configuration from CDK context: defaults in cdk.json, overridden with ``-c key=value``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arcollect import company
from arcollect.company import DEFAULT_HOME_CURRENCY
from arcollect.contract import REPORTS_ENGINES, ReportCadence

if TYPE_CHECKING:  # the local stack checks its context with these rules too, without loading the CDK
    from constructs import Node

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# AWS End User Messaging SMS: an origination identity's ARN (the IAM reference's resource types), and the
# name CreateConfigurationSet / CreateOptOutList take (botocore's service model: [A-Za-z0-9_-], 1-64).
_SMS_IDENTITY = re.compile(
    r"^arn:aws[a-z-]*:sms-voice:[a-z0-9-]+:\d{12}:(phone-number|pool|sender-id)/[A-Za-z0-9_:/+-]{1,200}$"
)
_SMS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SCHEDULE = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\((\S+ ){5}\S+\))$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
# The reports function's three schedules (UTC unless scheduleTimeZone says otherwise), an hour apart so
# that the runs of a Monday or a 1st never overlap (each may take up to the function's 15 minutes, and
# they all write latest/). The daily one keeps its original context key, reportsSchedule.
DEFAULT_REPORTS_SCHEDULES = {
    ReportCadence.DAILY: "cron(0 5 * * ? *)",
    ReportCadence.WEEKLY: "cron(0 6 ? * MON *)",  # Mondays: the week's summary email to the managers
    ReportCadence.MONTHLY: "cron(0 7 1 * ? *)",  # the 1st: as of the month that just ended
}
REPORTS_SCHEDULE_KEYS = {
    ReportCadence.DAILY: "reportsSchedule",
    ReportCadence.WEEKLY: "reportsWeeklySchedule",
    ReportCadence.MONTHLY: "reportsMonthlySchedule",
}
# The retention periods offered (days), a subset of what CloudWatch Logs accepts.
RETENTION_DAYS = (7, 14, 30, 90, 180, 365, 731, 1827, 3653)


class ConfigError(ValueError):
    """A context value that cannot be deployed; the message names the key and says what is expected."""


def _whole_number(key: str, raw: str, *, default: int) -> int:
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"context {key}={raw!r}: use a whole number") from None


def _flag(key: str, raw: str, *, default: bool) -> bool:
    if not raw:
        return default
    if raw.lower() in ("true", "yes", "1", "on"):
        return True
    if raw.lower() in ("false", "no", "0", "off"):
        return False
    raise ConfigError(f"context {key}={raw!r}: use true or false")


def _reports_engine(raw: str) -> str:
    engine = raw.lower() or "auto"
    if engine not in REPORTS_ENGINES:
        raise ConfigError(f"context reportsEngine={raw!r}: use one of {', '.join(REPORTS_ENGINES)}")
    return engine


@dataclass(frozen=True)
class StackConfig:
    environment_name: str
    sender_email: str
    # The sender's domain as an SES domain identity (Easy DKIM, a custom MAIL FROM): without it the
    # sender is an email identity, unsigned, and a domain that enforces DMARC rejects the reminders.
    sender_domain: str | None
    portal_domain: str | None
    portal_certificate_arn: str | None
    dunning_schedule: str
    reports_schedule: str  # the daily one
    reports_weekly_schedule: str
    reports_monthly_schedule: str
    schedule_time_zone: str
    alarm_email: str | None
    log_retention_days: int
    portal_rate_limit_per_5min: int
    # The portal's web ACL (a per-IP rate limit and AWS's managed rule groups). Off by default: it is $8
    # a month of fixed charges, more than the rest of a small portfolio's bill (docs/benchmarks.md), and
    # the console limits sign-in posts per client itself (docs/decisions.md, 2026-12-07).
    portal_waf: bool
    # SES's maximum send rate of the account (emails per second): 1 in the SES sandbox.
    ses_max_send_rate: str
    portal_link_days: str
    # How long records of collections activity are kept (the timeline, the send ledger, email records,
    # ERP files, the change feed, reports, dispute attachments): years, as `retentionYears`.
    retention_years: str
    payment_url_template: str | None
    # The company's settings (arcollect/company.py): the currency of documents exported without one,
    # and the locale that settles what an export's own dates and amounts leave open ("" = none).
    home_currency: str = DEFAULT_HOME_CURRENCY
    export_locale: str = ""
    # The reports' engine (reports/engines.py, docs/reports.md): auto picks DuckDB above a size.
    reports_engine: str = "auto"
    # The domain SES receives customers' replies on (docs/inbox.md): reminders then carry a per-touch
    # Reply-To on it. None: no receipt rule, and reminders keep the owner's mailbox as Reply-To.
    inbound_domain: str | None = None
    # Reminder texts (docs/sms.md): the origination identity's ARN (a phone number, pool or sender id of
    # the account), and the names of its configuration set and opt-out list. None: no texts.
    sms_origination_identity: str | None = None
    sms_configuration_set: str | None = None
    sms_opt_out_list: str | None = None

    def _validate_sms(self) -> None:
        """The SMS keys as SendTextMessage takes them (the API's patterns), the identity as an ARN (the
        function's permission names it), the set and the list only with an identity."""
        identity = self.sms_origination_identity
        if identity is not None and not _SMS_IDENTITY.match(identity):
            raise ConfigError(
                f"context smsOriginationIdentity={identity!r} is not the ARN of a phone number, pool or "
                "sender id of AWS End User Messaging SMS "
                "(arn:aws:sms-voice:<region>:<account>:phone-number/<id>)"
            )
        for key, name in (
            ("smsConfigurationSet", self.sms_configuration_set),
            ("smsOptOutList", self.sms_opt_out_list),
        ):
            if name is None:
                continue
            if identity is None:
                raise ConfigError(f"context {key} needs smsOriginationIdentity: texts go from an identity")
            if not _SMS_NAME.match(name):
                raise ConfigError(f"context {key}={name!r}: 1-64 letters, digits, '_' or '-'")

    @property
    def reports_schedules(self) -> dict[str, str]:
        """The reports function's schedule expression by cadence (``detail.cadence`` of its ticks)."""
        return {
            ReportCadence.DAILY: self.reports_schedule,
            ReportCadence.WEEKLY: self.reports_weekly_schedule,
            ReportCadence.MONTHLY: self.reports_monthly_schedule,
        }

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        return cls.from_lookup(node.try_get_context)

    @classmethod
    def from_mapping(cls, context: Mapping[str, object]) -> StackConfig:
        """The configuration of a context given as a whole (cdk.json's, with ``-c`` values over it): how
        ``arcollect local up -c`` checks its values by the rules of ``cdk deploy -c``."""
        return cls.from_lookup(context.get)

    @classmethod
    def from_lookup(cls, lookup: Callable[[str], object]) -> StackConfig:
        def value(key: str) -> str:
            raw = lookup(key)
            return "" if raw is None else str(raw).strip()

        try:
            settings = company.CompanySettings.of(value("homeCurrency"), value("exportLocale"))
        except company.SettingsError as error:
            raise ConfigError(f"context {error}") from None
        config = cls(
            environment_name=value("environmentName") or "dev",
            sender_email=value("senderEmail"),
            sender_domain=(value("senderDomain") or "").strip().lower() or None,
            portal_domain=value("portalDomain") or None,
            portal_certificate_arn=value("portalCertificateArn") or None,
            dunning_schedule=value("dunningSchedule") or "rate(1 hour)",
            reports_schedule=value(REPORTS_SCHEDULE_KEYS[ReportCadence.DAILY])
            or DEFAULT_REPORTS_SCHEDULES[ReportCadence.DAILY],
            reports_weekly_schedule=value(REPORTS_SCHEDULE_KEYS[ReportCadence.WEEKLY])
            or DEFAULT_REPORTS_SCHEDULES[ReportCadence.WEEKLY],
            reports_monthly_schedule=value(REPORTS_SCHEDULE_KEYS[ReportCadence.MONTHLY])
            or DEFAULT_REPORTS_SCHEDULES[ReportCadence.MONTHLY],
            schedule_time_zone=value("scheduleTimeZone") or "UTC",
            alarm_email=value("alarmEmail") or None,
            log_retention_days=_whole_number("logRetentionDays", value("logRetentionDays"), default=90),
            portal_rate_limit_per_5min=_whole_number(
                "portalRateLimitPer5Min", value("portalRateLimitPer5Min"), default=1000
            ),
            portal_waf=_flag("portalWaf", value("portalWaf"), default=False),
            ses_max_send_rate=value("sesMaxSendRate") or "1",
            portal_link_days=value("portalLinkDays") or "30",
            retention_years=value("retentionYears") or "7",
            payment_url_template=value("paymentUrlTemplate") or None,
            # As the functions read them: the currency's code, the locale's tag (de_de is de-DE).
            home_currency=settings.home_currency,
            export_locale=settings.export_locale.tag if settings.export_locale else "",
            reports_engine=_reports_engine(value("reportsEngine")),
            inbound_domain=value("inboundDomain").lower() or None,
            sms_origination_identity=value("smsOriginationIdentity") or None,
            sms_configuration_set=value("smsConfigurationSet") or None,
            sms_opt_out_list=value("smsOptOutList") or None,
        )
        config.validate()
        return config

    def validate(self) -> None:
        try:
            company.CompanySettings.of(self.home_currency, self.export_locale)
        except company.SettingsError as error:
            raise ConfigError(f"context {error}") from None
        if not _ENV_NAME.match(self.environment_name):
            raise ConfigError(
                f"context environmentName={self.environment_name!r}: "
                "use 2-20 lower-case letters, digits or '-'"
            )
        if not _EMAIL.match(self.sender_email):
            raise ConfigError(f"context senderEmail={self.sender_email!r} is not an email address")
        if self.sender_domain is not None:
            if not _DOMAIN.match(self.sender_domain):
                raise ConfigError(f"context senderDomain={self.sender_domain!r} is not a domain name")
            sender_host = self.sender_email.rsplit("@", 1)[1].lower()
            if sender_host != self.sender_domain and not sender_host.endswith("." + self.sender_domain):
                raise ConfigError(
                    f"context senderDomain={self.sender_domain!r}: senderEmail {self.sender_email!r} is "
                    "not an address of it (the domain signs the reminders it sends)"
                )
        if self.inbound_domain is not None and not _DOMAIN.match(self.inbound_domain):
            raise ConfigError(
                f"context inboundDomain={self.inbound_domain!r} is not a domain name (the domain SES "
                "receives replies on, e.g. replies.example.com)"
            )
        self._validate_sms()
        if self.alarm_email and not _EMAIL.match(self.alarm_email):
            raise ConfigError(f"context alarmEmail={self.alarm_email!r} is not an email address")
        for key, expression in (
            ("dunningSchedule", self.dunning_schedule),
            *((REPORTS_SCHEDULE_KEYS[c], e) for c, e in self.reports_schedules.items()),
        ):
            if not _SCHEDULE.match(expression):
                raise ConfigError(
                    f"context {key}={expression!r}: use rate(N unit) or a six-field cron(...) expression"
                )
        if bool(self.portal_domain) != bool(self.portal_certificate_arn):
            raise ConfigError(
                "context portalDomain and portalCertificateArn go together: set both or neither"
            )
        if self.log_retention_days not in RETENTION_DAYS:
            raise ConfigError(f"context logRetentionDays={self.log_retention_days}: one of {RETENTION_DAYS}")
        if not 100 <= self.portal_rate_limit_per_5min <= 2_000_000_000:
            raise ConfigError("context portalRateLimitPer5Min must be between 100 and 2,000,000,000")
        if not self.portal_link_days.isdigit() or not 1 <= int(self.portal_link_days) <= 365:
            raise ConfigError(
                f"context portalLinkDays={self.portal_link_days!r}: a whole number of days from 1 to 365"
            )
        if not self.retention_years.isdigit() or not 1 <= int(self.retention_years) <= 30:
            raise ConfigError(
                f"context retentionYears={self.retention_years!r}: a whole number of years from 1 to 30"
            )
        if self.payment_url_template and not self.payment_url_template.startswith("https://"):
            raise ConfigError(
                f"context paymentUrlTemplate={self.payment_url_template!r}: an https:// URL, with "
                "{invoice_number}, {open_amount}, {currency} or {customer_id} where the values go"
            )
        try:
            send_rate = float(self.ses_max_send_rate)
        except ValueError:
            send_rate = math.nan
        if not (math.isfinite(send_rate) and send_rate > 0):
            raise ConfigError(
                f"context sesMaxSendRate={self.ses_max_send_rate!r}: use a positive number of emails "
                "per second (SES's maximum send rate for the account; 1 in the SES sandbox)"
            )
