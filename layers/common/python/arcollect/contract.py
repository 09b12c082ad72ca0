"""The names that the CDK app, the functions and the local stack must agree on.

Everything here is a plain constant so that ``infra/`` (synth time), the Lambda functions (run time) and
``arcollect_cli`` (the local stack) import one definition; a test checks the synthesized template
against it, which is what keeps the local stack from drifting away from AWS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


class EnvVar:
    """Environment variable names that CDK sets on the functions."""

    TABLE_NAME: Final = "TABLE_NAME"
    DROP_BUCKET: Final = "DROP_BUCKET"
    REPORTS_BUCKET: Final = "REPORTS_BUCKET"
    SENDER_EMAIL: Final = "SENDER_EMAIL"
    SES_CONFIGURATION_SET: Final = "SES_CONFIGURATION_SET"
    LINK_SECRET_ARN: Final = "LINK_SECRET_ARN"  # noqa: S105 (a variable name, not a secret)
    PORTAL_BASE_URL: Final = "PORTAL_BASE_URL"
    ENVIRONMENT_NAME: Final = "ENVIRONMENT_NAME"
    # The ingest function sends the chunks of a large file back to its own queue.
    INGEST_QUEUE_URL: Final = "INGEST_QUEUE_URL"
    # The dunning function's own queue: a large sweep fans its customers out through it.
    DUNNING_QUEUE_URL: Final = "DUNNING_QUEUE_URL"
    # SES's maximum send rate for the account (emails per second); the sender paces itself below it.
    SES_MAX_SEND_RATE: Final = "SES_MAX_SEND_RATE"
    # How many days a portal link in an email works (dunning signs them, the portal signs fresh ones).
    PORTAL_LINK_DAYS: Final = "PORTAL_LINK_DAYS"
    # Where "pay" goes for an invoice without its own pay link ({invoice_number}, {open_amount}, ...).
    PAYMENT_URL_TEMPLATE: Final = "PAYMENT_URL_TEMPLATE"
    # The staff console signs collectors and managers in against this Cognito user pool and app client.
    STAFF_USER_POOL_ID: Final = "STAFF_USER_POOL_ID"
    STAFF_CLIENT_ID: Final = "STAFF_CLIENT_ID"
    # The company's settings (arcollect/company.py): the currency of documents exported without one, and
    # the locale that settles the dates and amounts a file's own values leave open.
    HOME_CURRENCY: Final = "HOME_CURRENCY"
    EXPORT_LOCALE: Final = "EXPORT_LOCALE"
    # The stack's dead-letter queues, whose depths the staff console's status page shows (JSON: see
    # ``dead_letter_queues_json``).
    DEAD_LETTER_QUEUES: Final = "DEAD_LETTER_QUEUES"
    # Days records of collections activity are kept (retention_days): their items expire by TTL.
    RETENTION_DAYS: Final = "RETENTION_DAYS"
    # The engine of the KPI report (reports/engines.py): auto (by size), python, duckdb or athena.
    REPORTS_ENGINE: Final = "REPORTS_ENGINE"
    # The athena engine's workgroup and Glue database (infra/constructs/warehouse.py).
    REPORTS_WORKGROUP: Final = "REPORTS_WORKGROUP"
    REPORTS_DATABASE: Final = "REPORTS_DATABASE"
    # The domain SES receives customers' replies on (``reply+<token>@<domain>``): unset, reminders keep
    # the owner's own Reply-To and no reply is threaded by its address (docs/inbox.md).
    INBOUND_DOMAIN: Final = "INBOUND_DOMAIN"
    # Reminder texts (docs/sms.md): the origination identity SendTextMessage sends from (a phone number,
    # pool or sender id, its ARN or id), the configuration set, the opt-out list. Unset: no texts.
    SMS_ORIGINATION_IDENTITY: Final = "SMS_ORIGINATION_IDENTITY"
    SMS_CONFIGURATION_SET: Final = "SMS_CONFIGURATION_SET"
    SMS_OPT_OUT_LIST: Final = "SMS_OPT_OUT_LIST"


class Output:
    """CloudFormation output keys of the stack; ``.local/outputs.json`` uses the same keys."""

    TABLE_NAME: Final = "TableName"
    DROP_BUCKET: Final = "DropBucketName"
    REPORTS_BUCKET: Final = "ReportsBucketName"
    INGEST_QUEUE_URL: Final = "IngestQueueUrl"
    DUNNING_QUEUE_URL: Final = "DunningQueueUrl"
    PORTAL_URL: Final = "PortalUrl"
    SES_CONFIGURATION_SET: Final = "SesConfigurationSetName"
    LINK_SECRET_ARN: Final = "LinkSecretArn"  # noqa: S105 (an output name, not a secret)
    INGEST_FUNCTION: Final = "IngestFunctionName"
    DUNNING_FUNCTION: Final = "DunningFunctionName"
    PORTAL_FUNCTION: Final = "PortalFunctionName"
    REPORTS_FUNCTION: Final = "ReportsFunctionName"
    STAFF_USER_POOL_ID: Final = "StaffUserPoolId"
    STAFF_CLIENT_ID: Final = "StaffClientId"
    # With a sender domain: the DNS records to publish (JSON [{type, name, value}]; `arcollect mail dns`).
    SENDER_DNS_RECORDS: Final = "SenderDnsRecords"
    # The dead-letter queues by name (JSON, as EnvVar.DEAD_LETTER_QUEUES): `arcollect status` reads them.
    DEAD_LETTER_QUEUES: Final = "DeadLetterQueueUrls"
    # With an inbound domain: the receipt rule set to activate (`aws ses set-active-receipt-rule-set`)
    # and the DNS records to publish (the MX record; DKIM when it is not the sender's domain).
    INBOUND_RULE_SET: Final = "InboundRuleSetName"
    INBOUND_DNS_RECORDS: Final = "InboundDnsRecords"
    # With an SMS origination identity: the SNS topic its two-way channel publishes replies to.
    SMS_REPLIES_TOPIC: Final = "SmsRepliesTopicArn"


# The functions' own metrics: one namespace, each function a ``service`` dimension (``service_name``).
METRICS_NAMESPACE: Final = "arcollect"
# The dunning function's count of reminders SES refused for good: the stack alarms on it.
REMINDERS_REFUSED_METRIC: Final = "RemindersRefused"
# The reports function's count of the table's exports that failed in a run (reports/exports.py): the
# stack alarms on it; the next run starts a failed export again.
EXPORTS_FAILED_METRIC: Final = "ExportsFailed"
# The reports' engines (reports/engines.py), as the reportsEngine context names them.
REPORTS_ENGINES: Final = ("auto", "python", "duckdb", "athena")


def retention_days(years: int) -> int:
    """Days that are never fewer than ``years`` years (a leap day each year)."""
    return years * 366


def service_name(function: str) -> str:
    """The function's service name (Powertools' ``service`` dimension of its metrics, its logs' key)."""
    return f"arcollect-{function}"


class DeadLetterQueue:
    """The stack's dead-letter queues, by the names the alarms and `arcollect status` use."""

    INGEST: Final = "ingest"  # dropped files the ingest function failed on five times
    DUNNING_WORK: Final = "dunning-queue"  # customers the dunning workers failed on three times
    DUNNING: Final = "dunning"  # ticks and SES events the dunning function could not take
    REPORTS: Final = "reports"  # report ticks the reports function could not take
    ALL: Final = (INGEST, DUNNING_WORK, DUNNING, REPORTS)


def dead_letter_queues_json(urls: Mapping[str, str]) -> str:
    """The dead-letter queues' URLs by name, as the output and the environment variable carry them."""
    return json.dumps(dict(urls), sort_keys=True, separators=(",", ":"))


def parse_dead_letter_queues(text: str | None) -> dict[str, str]:
    """The dead-letter queues' URLs by name (empty when none are configured or the text is no map)."""
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


class DropPrefix:
    """Key prefixes of the drop bucket (see the README's drop layout)."""

    INCOMING: Final = "incoming/"
    RESULTS: Final = "results/"
    REJECTED: Final = "rejected/"
    CONFIG: Final = "config/"
    # Named mappings (``incoming/<kind>/<mapping>/<file>`` reads ``config/mappings/<mapping>.yaml``).
    MAPPINGS: Final = "config/mappings/"
    # Scratch space of ingest runs (the part results of a large file's chunks); expires on its own.
    WORK: Final = "work/"
    # An uploaded dunning policy replaces the shipped default (validated the same way when loaded).
    DUNNING_POLICY: Final = "config/dunning-policy.yaml"
    # The change feed to the ERP (arcollect/changes.py): what was decided here, for the ERP to import.
    OUTGOING: Final = "outgoing/"
    # Dunning letters and their manifests for the print-and-mail service (docs/letters.md).
    LETTERS: Final = "outgoing/letters/"
    # Files customers attach to a dispute in the portal (presigned uploads).
    ATTACHMENTS: Final = "attachments/"
    # An upload waits here until the portal has checked it (size, type by its content); one never
    # confirmed expires after a day. Checked ones move under DISPUTE_ATTACHMENTS and are linked.
    PENDING_ATTACHMENTS: Final = "attachments/pending/"
    DISPUTE_ATTACHMENTS: Final = "attachments/disputes/"
    # Invoice PDFs the ERP drops for the portal (``document_key``): not ERP files, ingest leaves them.
    DOCUMENTS: Final = "incoming/documents/"
    # Customers' replies as SES's receipt rule writes them (one raw MIME message per object, named by
    # SES's message id); the ingest function threads each one (docs/inbox.md).
    INBOX: Final = "inbox/"
    # The attachments of those replies, once filed: ``attachments/replies/<customer>/<reply>/<name>``.
    REPLY_ATTACHMENTS: Final = "attachments/replies/"


def document_key(customer_id: str, invoice_number: str, company_code: str | None = None) -> str:
    """Where the ERP drops an invoice's PDF: ``incoming/documents/<customer>/[<company code>/]<number>.pdf``.

    By customer, because invoice numbers are not unique across customers (SAP's are unique per company
    code and year): keyed by number alone, two customers would see each other's PDF. The customer's
    segment has ``%`` and ``/`` percent-encoded (``Müller/Søn GmbH`` is ``Müller%2FSøn GmbH``), so it
    is one segment and no other customer's key can begin like it; the number is written as it is."""
    customer = customer_id.replace("%", "%25").replace("/", "%2F")
    code = f"{company_code}/" if company_code else ""
    return f"{DropPrefix.DOCUMENTS}{customer}/{code}{invoice_number}.pdf"


def attachment_keys(customer_id: str, dispute_id: str, file_name: str) -> tuple[str, str]:
    """(pending, final) keys of a dispute's attachment: ``attachments/pending/<customer>/<dispute>/<name>``
    while unchecked, ``attachments/disputes/<customer>/<dispute>/<name>`` once checked; the customer's
    segment encoded as in ``document_key``."""
    customer = customer_id.replace("%", "%25").replace("/", "%2F")
    tail = f"{customer}/{dispute_id}/{file_name}"
    return f"{DropPrefix.PENDING_ATTACHMENTS}{tail}", f"{DropPrefix.DISPUTE_ATTACHMENTS}{tail}"


class ObjectMetadata:
    """User metadata (``x-amz-meta-*``) an uploader sets on a dropped file to steer its ingest."""

    MODE: Final = "arcollect-mode"  # snapshot | delta, instead of the mapping's
    AS_OF: Final = "arcollect-as-of"  # the date or instant the file describes


class ReportPrefix:
    KPI: Final = "kpi/"
    LATEST: Final = "latest/"
    # The pay-date model each run trains (issue 19): ``<as_of>.json`` and ``latest.json``.
    PAY_DATE_MODELS: Final = "models/pay-date/"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    hash_key: str
    range_key: str


class TableSchema:
    """The single table: generic keys, a TTL attribute and three sparse global secondary indexes."""

    PARTITION_KEY: Final = "pk"
    SORT_KEY: Final = "sk"
    TTL_ATTRIBUTE: Final = "expires_at"
    # Items that need the hourly sweep's attention carry these two attributes; everything else is absent
    # from the index, so the sweep reads what is due and nothing more. The shard spreads writes of one
    # hour over several partition keys (1,000 writes/s per key).
    BY_NEXT_ACTION: Final = IndexSpec("by_next_action", "next_action_shard", "next_action_at")
    # Collector tasks: worklist per owner, highest priority first.
    WORKLIST: Final = IndexSpec("worklist", "worklist_owner", "worklist_rank")
    # A customer's credits: its credit notes and its payments with cash no invoice took carry the
    # customer's partition key here, so a reminder about to ask for money reads them and nothing else
    # (not the years of invoices and payments beside them).
    BY_CREDIT: Final = IndexSpec("by_credit", "credit_owner", "sk")
    INDEXES: Final = (BY_NEXT_ACTION, WORKLIST, BY_CREDIT)
    NEXT_ACTION_SHARDS: Final = 8


class FunctionName:
    """Logical names of the four functions: their folder under ``functions/`` and their CDK ids."""

    INGEST: Final = "ingest"
    DUNNING: Final = "dunning"
    PORTAL: Final = "portal"
    REPORTS: Final = "reports"
    ALL: Final = (INGEST, DUNNING, PORTAL, REPORTS)


class StaffGroups:
    """The Cognito groups of the staff user pool (the workspace's ``StaffGroup`` uses the same names)."""

    COLLECTOR: Final = "collector"
    MANAGER: Final = "manager"
    ALL: Final = (COLLECTOR, MANAGER)


# The hour (UTC) of the dunning tick that also emails each collector the day's top tasks.
# Headers of every email arcollect sends, saying what the touch was: SES's events, the local outbox and
# anyone reading the mail find the customer, the step, the invoices and the touch by them.
HEADER_CUSTOMER: Final = "X-Arcollect-Customer"
HEADER_STEP: Final = "X-Arcollect-Step"
HEADER_INVOICES: Final = "X-Arcollect-Invoices"
HEADER_SENT_AT: Final = "X-Arcollect-Sent-At"
HEADER_TOUCH: Final = "X-Arcollect-Touch"

DIGEST_HOUR_UTC: Final = 6

# How many dunning workers the queue runs at once; each paces its sends to 1/n of the SES rate, so
# together they stay inside the account's limit.
DUNNING_SENDERS: Final = 5

# Which environment variables each function gets: least privilege starts with least knowledge.
FUNCTION_ENVIRONMENT: Final[dict[str, tuple[str, ...]]] = {
    FunctionName.INGEST: (
        EnvVar.ENVIRONMENT_NAME,
        EnvVar.RETENTION_DAYS,
        EnvVar.TABLE_NAME,
        EnvVar.DROP_BUCKET,
        EnvVar.INGEST_QUEUE_URL,
        EnvVar.HOME_CURRENCY,
        EnvVar.EXPORT_LOCALE,
        EnvVar.INBOUND_DOMAIN,
    ),
    FunctionName.DUNNING: (
        EnvVar.ENVIRONMENT_NAME,
        EnvVar.RETENTION_DAYS,
        EnvVar.TABLE_NAME,
        EnvVar.DROP_BUCKET,
        EnvVar.DUNNING_QUEUE_URL,
        EnvVar.SENDER_EMAIL,
        EnvVar.SES_CONFIGURATION_SET,
        EnvVar.SES_MAX_SEND_RATE,
        EnvVar.PORTAL_BASE_URL,
        EnvVar.LINK_SECRET_ARN,
        EnvVar.PORTAL_LINK_DAYS,
        EnvVar.INBOUND_DOMAIN,
        EnvVar.SMS_ORIGINATION_IDENTITY,
        EnvVar.SMS_CONFIGURATION_SET,
        EnvVar.SMS_OPT_OUT_LIST,
    ),
    # The portal builds its own URLs from the request (its URL would be a circular reference here).
    FunctionName.PORTAL: (
        EnvVar.ENVIRONMENT_NAME,
        EnvVar.RETENTION_DAYS,
        EnvVar.TABLE_NAME,
        EnvVar.DROP_BUCKET,
        EnvVar.LINK_SECRET_ARN,
        EnvVar.PORTAL_LINK_DAYS,
        EnvVar.PAYMENT_URL_TEMPLATE,
        EnvVar.SENDER_EMAIL,
        EnvVar.SES_CONFIGURATION_SET,
        # The staff console (/staff): its user pool, and the reports bucket managers download from.
        EnvVar.STAFF_USER_POOL_ID,
        EnvVar.STAFF_CLIENT_ID,
        EnvVar.REPORTS_BUCKET,
        # The status page managers see: the dead-letter queues' depths.
        EnvVar.DEAD_LETTER_QUEUES,
    ),
    # The reports function also reads the policy in force (its team: who gets the weekly summary) and
    # sends that email.
    FunctionName.REPORTS: (
        EnvVar.ENVIRONMENT_NAME,
        EnvVar.RETENTION_DAYS,
        EnvVar.TABLE_NAME,
        EnvVar.REPORTS_BUCKET,
        EnvVar.DROP_BUCKET,
        EnvVar.SENDER_EMAIL,
        EnvVar.SES_CONFIGURATION_SET,
        EnvVar.PORTAL_BASE_URL,
        EnvVar.REPORTS_ENGINE,
        EnvVar.REPORTS_WORKGROUP,
        EnvVar.REPORTS_DATABASE,
    ),
}

# What each function cannot start without, of its FUNCTION_ENVIRONMENT: checked at its cold start
# (``Settings.checked``), so a missing one fails the container's init with the variable named, not the
# first event that needed it. The rest have defaults or switch a feature off (no staff pool: no /staff).
FUNCTION_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    FunctionName.INGEST: (EnvVar.TABLE_NAME, EnvVar.INGEST_QUEUE_URL),
    FunctionName.DUNNING: (
        EnvVar.TABLE_NAME,
        EnvVar.DROP_BUCKET,
        EnvVar.SENDER_EMAIL,
        EnvVar.SES_CONFIGURATION_SET,
        EnvVar.PORTAL_BASE_URL,
        EnvVar.LINK_SECRET_ARN,
    ),
    FunctionName.PORTAL: (
        EnvVar.TABLE_NAME,
        EnvVar.DROP_BUCKET,
        EnvVar.LINK_SECRET_ARN,
        EnvVar.SENDER_EMAIL,
        EnvVar.SES_CONFIGURATION_SET,
    ),
    FunctionName.REPORTS: (EnvVar.TABLE_NAME, EnvVar.REPORTS_BUCKET, EnvVar.DROP_BUCKET),
}

# The scheduled event the functions receive. EventBridge Scheduler's Lambda target sends whatever input
# it is given, so the stack gives it the shape of an EventBridge "Scheduled Event" with Scheduler's
# context attributes filled in; the local stack sends the same shape with real values.
SCHEDULED_EVENT_SOURCE: Final = "aws.scheduler"
SCHEDULED_EVENT_DETAIL_TYPE: Final = "Scheduled Event"


class ReportCadence:
    """The reports function's three schedules, named in the scheduled event's ``detail.cadence``:
    daily (as of the day), weekly (also emails the managers a summary), monthly (as of the month's end)."""

    DAILY: Final = "daily"
    WEEKLY: Final = "weekly"
    MONTHLY: Final = "monthly"
    ALL: Final = (DAILY, WEEKLY, MONTHLY)


def scheduled_event(
    *, execution_id: str, scheduled_time: str, schedule_arn: str, detail: dict[str, str] | None = None
) -> dict[str, object]:
    """The input of a scheduled invocation (placeholders at synth time, values in the local stack)."""
    return {
        "version": "0",
        "id": execution_id,
        "detail-type": SCHEDULED_EVENT_DETAIL_TYPE,
        "source": SCHEDULED_EVENT_SOURCE,
        "account": "",
        "time": scheduled_time,
        "region": "",
        "resources": [schedule_arn],
        "detail": dict(detail or {}),
    }
