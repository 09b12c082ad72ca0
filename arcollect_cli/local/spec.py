"""What the local stack creates: the same resources as the CDK stack, named for one machine.

``tests/e2e/test_local_drift.py`` synthesizes the CDK stack and checks this spec against the template,
so a change on one side without the other fails the tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arcollect.contract import (
    FUNCTION_ENVIRONMENT,
    DeadLetterQueue,
    DropPrefix,
    EnvVar,
    FunctionName,
    ReportCadence,
    StaffGroups,
    TableSchema,
    retention_days,
)
from arcollect.reports.exports import EXPORT_SCHEDULE
from arcollect_cli.local.sms import SMS_ENVIRONMENT

PREFIX = "arcollect-local"
REGION = "us-east-1"
SENDER_EMAIL = "collections@arcollect.local"
STAGE = "live"


@dataclass(frozen=True)
class QueueSpec:
    name: str
    dlq_name: str
    max_receive_count: int
    # Shorter than AWS's (6x the function timeout) so a failed message is retried within a demo.
    visibility_timeout_seconds: int


@dataclass(frozen=True)
class ScheduleSpec:
    function: str
    expression: str
    # The scheduled event's detail.cadence (the reports function's schedules); None: no detail.
    cadence: str | None = None


@dataclass(frozen=True)
class StaffUser:
    """A member of the collections team in the staff user pool; the username is their owner key."""

    username: str
    email: str
    group: str


# The password every demo staff user signs in with (the pool's policy: 12+ characters, upper and lower
# case, a digit and a symbol). Only the local stack seeds it.
DEMO_STAFF_PASSWORD = "Arcollect-demo-1"  # noqa: S105 (a documented demo password, local stack only)
# MFA is required: the demo team's authenticator key (base32), enrolled by the local stack, so that
# `arcollect staff totp USER` (or an authenticator app given this key) gives their codes.
DEMO_STAFF_TOTP_SECRET = "ARCOLLECTDEMOAUTHENTICATORKEY234"  # noqa: S105 (documented, local stack only)
# Where the local stack keeps the secret of every authenticator its pool accepted (in .local/).
AUTHENTICATORS_FILE = "staff-totp.json"
# The owners of the generated demo customers (arcollect_cli/generate.py): each a collector, so the
# worklist of the tasks they own is theirs once signed in.
DEMO_COLLECTORS = (
    "alex@yourco.example",
    "jordan@yourco.example",
    "maria@yourco.example",
    "priya@yourco.example",
    "sam@yourco.example",
)


def _demo_staff() -> tuple[StaffUser, ...]:
    from arcollect.policy import shipped_policy

    # Escalations go to the shipped dunning policy's manager key: that manager's worklist.
    manager = shipped_policy().settings.manager
    return (
        *(StaffUser(owner, owner, StaffGroups.COLLECTOR) for owner in DEMO_COLLECTORS),
        StaffUser(manager, f"{manager}@yourco.example", StaffGroups.MANAGER),
    )


def staff_user_pool_settings() -> dict[str, Any]:
    """CreateUserPool's settings: those of infra/constructs/staff.py (tests/infra checks they agree)."""
    return {
        "Policies": {
            "PasswordPolicy": {
                "MinimumLength": 12,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": True,
                "RequireUppercase": True,
                "TemporaryPasswordValidityDays": 3,
            }
        },
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
        "UsernameConfiguration": {"CaseSensitive": False},
        "Schema": [{"Name": "email", "Mutable": True, "Required": True}],
        "AutoVerifiedAttributes": ["email"],
        "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
    }


def staff_user_pool_mfa_settings() -> dict[str, Any]:
    """SetUserPoolMfaConfig's settings: MFA required, with an authenticator app (TOTP) and no SMS, as the
    template's MfaConfiguration ON and EnabledMfas SOFTWARE_TOKEN_MFA (tests/infra checks they agree)."""
    return {"MfaConfiguration": "ON", "SoftwareTokenMfaConfiguration": {"Enabled": True}}


def grouped_secret(secret: str) -> str:
    """An authenticator key in groups of four, easier to type into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def staff_client_settings() -> dict[str, Any]:
    """CreateUserPoolClient's settings: those of the stack's staff console client."""
    return {
        "GenerateSecret": False,
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        "PreventUserExistenceErrors": "ENABLED",
        "EnableTokenRevocation": True,
        "AccessTokenValidity": 60,
        "IdTokenValidity": 60,
        "RefreshTokenValidity": 720,
        "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"},
    }


# The checkout the local stack runs from: cdk.json, the CDK app (infra/) and the functions' folders.
REPO_ROOT = Path(__file__).resolve().parents[2]


def cdk_context() -> dict[str, Any]:
    """cdk.json's context: what ``cdk deploy`` deploys without ``-c``."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


# The context keys of the reports function's schedules, by cadence (as infra/config.py reads them).
REPORTS_SCHEDULE_KEYS = {
    ReportCadence.DAILY: "reportsSchedule",
    ReportCadence.WEEKLY: "reportsWeeklySchedule",
    ReportCadence.MONTHLY: "reportsMonthlySchedule",
}


def _schedules_from_cdk_json() -> tuple[ScheduleSpec, ...]:
    """The schedule expressions the CDK app deploys by default (cdk.json's context)."""
    context = cdk_context()
    return (
        ScheduleSpec(FunctionName.DUNNING, context["dunningSchedule"]),
        *(
            ScheduleSpec(FunctionName.REPORTS, context[REPORTS_SCHEDULE_KEYS[cadence]], cadence)
            for cadence in ReportCadence.ALL
        ),
        # The table's daily export ({"action": "export"}: infra/constructs/warehouse.py).
        ScheduleSpec(FunctionName.REPORTS, EXPORT_SCHEDULE),
    )


@dataclass(frozen=True)
class LocalSpec:
    table_name: str = f"{PREFIX}-table"
    drop_bucket: str = f"{PREFIX}-drop"
    reports_bucket: str = f"{PREFIX}-reports"
    access_logs_bucket: str = f"{PREFIX}-access-logs"
    # Athena's query results (infra/constructs/warehouse.py): no Athena runs locally (the reports use
    # DuckDB), the bucket is here so that the two stacks hold the same buckets.
    athena_results_bucket: str = f"{PREFIX}-athena-results"
    # The drop bucket's prefixes that notify the ingest queue: ERP files, and the replies SES writes.
    notification_prefixes: tuple[str, ...] = (DropPrefix.INCOMING, DropPrefix.INBOX)
    ingest_queue: QueueSpec = QueueSpec(f"{PREFIX}-ingest", f"{PREFIX}-ingest-dlq", 5, 30)
    # The dunning sweep's per-customer work, consumed by the dunning function like the ingest queue.
    dunning_queue: QueueSpec = QueueSpec(f"{PREFIX}-dunning", f"{PREFIX}-dunning-dlq", 3, 30)
    # Where AWS puts scheduled ticks and SES events that could not be delivered (the functions' async
    # DLQs); locally a tick is a synchronous invocation whose error the caller sees, so these stay empty,
    # but they exist as on AWS.
    dead_letter_queues: tuple[str, ...] = (f"{PREFIX}-dunning-async-dlq", f"{PREFIX}-reports-async-dlq")
    # SES's send rate the dunning function paces itself to: far above the sandbox's 1/s, so demos are fast.
    ses_max_send_rate: str = "50"
    # As the CDK app deploys them by default.
    portal_link_days: str = field(default_factory=lambda: str(cdk_context()["portalLinkDays"]))
    retention_years: str = field(default_factory=lambda: str(cdk_context().get("retentionYears") or "7"))
    payment_url_template: str = field(
        default_factory=lambda: str(cdk_context().get("paymentUrlTemplate", ""))
    )
    # The company's settings, as cdk.json's context sets them (``arcollect local up -c`` overrides).
    home_currency: str = field(default_factory=lambda: str(cdk_context().get("homeCurrency") or "USD"))
    export_locale: str = field(default_factory=lambda: str(cdk_context().get("exportLocale") or ""))
    reports_engine: str = field(default_factory=lambda: str(cdk_context().get("reportsEngine") or "auto"))
    # The domain replies are received on (reminders' Reply-To): none by default, as cdk.json deploys.
    inbound_domain: str = field(default_factory=lambda: str(cdk_context().get("inboundDomain") or ""))
    configuration_set: str = f"{PREFIX}-email"
    link_secret_name: str = f"{PREFIX}-link-signing-key"
    sender_email: str = SENDER_EMAIL
    staff_user_pool: str = f"{PREFIX}-staff"
    staff_client: str = f"{PREFIX}-staff-console"
    staff_groups: tuple[str, ...] = StaffGroups.ALL
    demo_staff: tuple[StaffUser, ...] = field(default_factory=_demo_staff)
    demo_staff_password: str = DEMO_STAFF_PASSWORD
    demo_staff_totp_secret: str = DEMO_STAFF_TOTP_SECRET
    # Locally a schedule is an explicit tick (`arcollect tick`); these say when AWS would fire them.
    schedules: tuple[ScheduleSpec, ...] = field(default_factory=lambda: _schedules_from_cdk_json())
    # API Gateway routes of the portal API: the proxy resource and the root, any method.
    api_routes: tuple[tuple[str, str], ...] = (("/", "ANY"), ("/{proxy+}", "ANY"))
    indexes: tuple[str, ...] = field(default_factory=lambda: tuple(i.name for i in TableSchema.INDEXES))

    def function_name(self, function: str) -> str:
        return f"{PREFIX}-{function}"

    @property
    def dead_letter_queue_names(self) -> dict[str, str]:
        """Each dead-letter queue's name, by the contract's name for it (as the CDK stack maps them)."""
        dunning_async, reports_async = self.dead_letter_queues
        return {
            DeadLetterQueue.INGEST: self.ingest_queue.dlq_name,
            DeadLetterQueue.DUNNING_WORK: self.dunning_queue.dlq_name,
            DeadLetterQueue.DUNNING: dunning_async,
            DeadLetterQueue.REPORTS: reports_async,
        }

    @property
    def event_source_queues(self) -> dict[str, QueueSpec]:
        """The queues a function consumes (Lambda's SQS event source mappings), by function."""
        return {FunctionName.INGEST: self.ingest_queue, FunctionName.DUNNING: self.dunning_queue}

    def environment(
        self,
        *,
        table: str,
        portal_url: str,
        link_secret_arn: str,
        ingest_queue_url: str,
        dunning_queue_url: str,
        staff_user_pool_id: str = "",
        staff_client_id: str = "",
        dead_letter_queues: str = "{}",
    ) -> dict[str, dict[str, str]]:
        """Each function's environment, by the contract's variable names."""
        values = {
            EnvVar.ENVIRONMENT_NAME: "local",
            EnvVar.TABLE_NAME: table,
            EnvVar.DROP_BUCKET: self.drop_bucket,
            EnvVar.REPORTS_BUCKET: self.reports_bucket,
            EnvVar.SENDER_EMAIL: self.sender_email,
            EnvVar.SES_CONFIGURATION_SET: self.configuration_set,
            EnvVar.PORTAL_BASE_URL: portal_url,
            EnvVar.LINK_SECRET_ARN: link_secret_arn,
            EnvVar.INGEST_QUEUE_URL: ingest_queue_url,
            EnvVar.DUNNING_QUEUE_URL: dunning_queue_url,
            EnvVar.SES_MAX_SEND_RATE: self.ses_max_send_rate,
            EnvVar.PORTAL_LINK_DAYS: self.portal_link_days,
            EnvVar.RETENTION_DAYS: str(retention_days(int(self.retention_years))),
            EnvVar.PAYMENT_URL_TEMPLATE: self.payment_url_template,
            EnvVar.STAFF_USER_POOL_ID: staff_user_pool_id,
            EnvVar.STAFF_CLIENT_ID: staff_client_id,
            EnvVar.HOME_CURRENCY: self.home_currency,
            EnvVar.EXPORT_LOCALE: self.export_locale,
            # The local stack has no Athena that runs SQL (moto's answers what it is told): an athena
            # engine finds no workgroup and the run says so, rather than reporting empty figures.
            EnvVar.REPORTS_ENGINE: self.reports_engine,
            EnvVar.REPORTS_WORKGROUP: "",
            EnvVar.REPORTS_DATABASE: "",
            EnvVar.DEAD_LETTER_QUEUES: dead_letter_queues,
            EnvVar.INBOUND_DOMAIN: self.inbound_domain,
            # Reminder texts through the local SMS stand-in's identity, set and list (docs/sms.md).
            **SMS_ENVIRONMENT,
        }
        return {
            name: {var: values[var] for var in variables} for name, variables in FUNCTION_ENVIRONMENT.items()
        }
