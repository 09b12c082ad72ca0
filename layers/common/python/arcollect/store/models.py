"""pynamodb models of the single table.

Every item type shares one table and one key pair (``pk``/``sk``); a discriminator attribute tells the
item types apart so one query over a customer's partition returns typed items (the 360 view).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.constants import NUMBER
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from arcollect.contract import TableSchema


class DecimalAttribute(Attribute[Decimal]):
    """Money as an exact DynamoDB number (pynamodb's NumberAttribute would round-trip through float)."""

    attr_type = NUMBER

    def serialize(self, value: Decimal) -> str:
        return str(value)

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class ByNextActionIndex(GlobalSecondaryIndex["TableItem"]):
    """Sparse, sharded: only items with a pending action are in it (the hourly sweep's read path)."""

    class Meta:
        index_name = TableSchema.BY_NEXT_ACTION.name
        projection = AllProjection()

    next_action_shard = UnicodeAttribute(hash_key=True, attr_name=TableSchema.BY_NEXT_ACTION.hash_key)
    next_action_at = UnicodeAttribute(range_key=True, attr_name=TableSchema.BY_NEXT_ACTION.range_key)


class WorklistIndex(GlobalSecondaryIndex["TableItem"]):
    """Collector tasks per owner, ordered by rank (a sortable priority key)."""

    class Meta:
        index_name = TableSchema.WORKLIST.name
        projection = AllProjection()

    worklist_owner = UnicodeAttribute(hash_key=True, attr_name=TableSchema.WORKLIST.hash_key)
    worklist_rank = UnicodeAttribute(range_key=True, attr_name=TableSchema.WORKLIST.range_key)


class ByCreditIndex(GlobalSecondaryIndex["TableItem"]):
    """A customer's credit notes and its payments with unapplied cash (what lowers what it owes)."""

    class Meta:
        index_name = TableSchema.BY_CREDIT.name
        projection = AllProjection()

    credit_owner = UnicodeAttribute(hash_key=True, attr_name=TableSchema.BY_CREDIT.hash_key)
    sk = UnicodeAttribute(range_key=True, attr_name=TableSchema.BY_CREDIT.range_key)


class TableItem(Model):
    """Base of every item type; ``bind_table`` points all of them at the deployed table."""

    class Meta:
        table_name = "arcollect-unbound"
        # Lambda's botocore retries throttles already; a few more attempts ride out short bursts.
        max_retry_attempts = 5

    pk = UnicodeAttribute(hash_key=True, attr_name=TableSchema.PARTITION_KEY)
    sk = UnicodeAttribute(range_key=True, attr_name=TableSchema.SORT_KEY)
    item_type = DiscriminatorAttribute(attr_name="item_type")

    next_action_shard = UnicodeAttribute(null=True, attr_name=TableSchema.BY_NEXT_ACTION.hash_key)
    next_action_at = UnicodeAttribute(null=True, attr_name=TableSchema.BY_NEXT_ACTION.range_key)
    worklist_owner = UnicodeAttribute(null=True, attr_name=TableSchema.WORKLIST.hash_key)
    worklist_rank = UnicodeAttribute(null=True, attr_name=TableSchema.WORKLIST.range_key)
    expires_at = NumberAttribute(null=True, attr_name=TableSchema.TTL_ATTRIBUTE)
    credit_owner = UnicodeAttribute(null=True, attr_name=TableSchema.BY_CREDIT.hash_key)

    by_next_action = ByNextActionIndex()
    worklist = WorklistIndex()
    by_credit = ByCreditIndex()


class IngestFileItem(TableItem, discriminator="ingest_file"):
    kind = UnicodeAttribute(null=True)
    bucket = UnicodeAttribute()
    key = UnicodeAttribute()
    version_id = UnicodeAttribute()
    size = NumberAttribute()
    etag = UnicodeAttribute()
    event_time = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    rows_read = NumberAttribute(default=0)
    errors = ListAttribute(of=UnicodeAttribute, default=list)
    layout = UnicodeAttribute(null=True)
    accepted = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    unchanged = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    invoices_closed = NumberAttribute(default=0)
    payments_applied = NumberAttribute(default=0)
    results_key = UnicodeAttribute(null=True)
    rejected_rows_key = UnicodeAttribute(null=True)


class InvoiceItem(TableItem, discriminator="invoice"):
    customer_id = UnicodeAttribute()
    invoice_number = UnicodeAttribute()
    currency = UnicodeAttribute()
    amount = DecimalAttribute()
    open_amount = DecimalAttribute()
    invoice_date = UnicodeAttribute()
    due_date = UnicodeAttribute()
    status = UnicodeAttribute(default="open")
    document_type = UnicodeAttribute(default="invoice")
    disputed = BooleanAttribute(default=False)
    pay_url = UnicodeAttribute(null=True)
    paid_date = UnicodeAttribute(null=True)
    po_number = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    company_code = UnicodeAttribute(null=True)
    source_as_of = UnicodeAttribute(null=True)
    closed_on = UnicodeAttribute(null=True)
    # Dunning state (written by the dunning engine only; ingest leaves it alone).
    steps_done = UnicodeSetAttribute(null=True)
    # Steps whose email bounced for good (written by SES's bounce event): they go by the next channel.
    bounced_steps = UnicodeSetAttribute(null=True)
    last_touch_at = UnicodeAttribute(null=True)
    promised_until = UnicodeAttribute(null=True)
    promise_id = UnicodeAttribute(null=True)
    # What the ERP last said (ingest writes these) and the decisions made in arcollect (the portal and
    # the staff console write these; ingest only carries them over, conditionally).
    erp_open_amount = DecimalAttribute(null=True)
    erp_disputed = BooleanAttribute(null=True)
    dispute_id = UnicodeAttribute(null=True)
    credit_agreed = DecimalAttribute(null=True)
    credit_match = UnicodeAttribute(null=True)
    # Written by the staff console only (ingest's updates keep them): placed with a collection agency.
    agency = UnicodeAttribute(null=True)
    agency_placement = UnicodeAttribute(null=True)
    agency_placed_on = UnicodeAttribute(null=True)
    # The customer's profile as the engine last saw it (JSON, with its fingerprint): the next sweep
    # decides from it without reading the profile, and the reservation checks it is still current.
    customer_snapshot = UnicodeAttribute(null=True)


class CustomerItem(TableItem, discriminator="customer"):
    customer_id = UnicodeAttribute()
    name = UnicodeAttribute()
    # Empty for a placeholder; DynamoDB stores empty strings in non-key attributes.
    email = UnicodeAttribute(default="")
    phone = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    time_zone = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)
    industry_code = UnicodeAttribute(null=True)
    annual_sales = DecimalAttribute(null=True)
    customer_since = UnicodeAttribute(null=True)
    owner = UnicodeAttribute(null=True)
    tax_id = UnicodeAttribute(null=True)
    credit_limit = DecimalAttribute(null=True)
    anniversary = UnicodeAttribute(null=True)
    placeholder = BooleanAttribute(default=False)
    data_quality = ListAttribute(of=UnicodeAttribute, null=True)
    other_emails = ListAttribute(of=UnicodeAttribute, null=True)
    contact_corrected = ListAttribute(of=UnicodeAttribute, null=True)
    segment = UnicodeAttribute(null=True)
    risk = UnicodeAttribute(null=True)
    dunning_hold = BooleanAttribute(null=True)
    do_not_contact = BooleanAttribute(null=True)
    # Written by the dunning function only (SES feedback, the minimum gap between emails).
    suppressed_emails = UnicodeSetAttribute(null=True)
    last_emailed_at = UnicodeAttribute(null=True)
    # Customer.fingerprint of the profile as stored (see InvoiceItem.customer_snapshot).
    fingerprint = UnicodeAttribute(null=True)
    # Portal links issued before this instant no longer open the portal (written by the portal only;
    # kept by ingest's attribute updates, lost only if the whole item is replaced).
    links_valid_from = UnicodeAttribute(null=True)
    # Written by the staff console only (ingest keeps them): a collector's hold or pause and why,
    # and the promises settled (see Customer).
    collector_hold = BooleanAttribute(null=True)
    paused_until = UnicodeAttribute(null=True)
    hold_reason = UnicodeAttribute(null=True)
    promises_kept = NumberAttribute(null=True)
    promises_broken = NumberAttribute(null=True)
    # Written by the staff console only (ingest keeps them): a manager's reassignment (see Customer).
    assigned_owner = UnicodeAttribute(null=True)
    cover = UnicodeAttribute(null=True)
    cover_until = UnicodeAttribute(null=True)
    # Written by the staff console only (ingest keeps them): a credit hold, since when and why.
    credit_hold = BooleanAttribute(null=True)
    credit_hold_since = UnicodeAttribute(null=True)
    credit_hold_reason = UnicodeAttribute(null=True)
    # The postal address a letter goes to, one line each (ingest's master data).
    postal_address = ListAttribute(of=UnicodeAttribute, null=True)
    # The mobile number texts go to (ingest's master data); an opt-out by reply (the dunning function's).
    mobile = UnicodeAttribute(null=True)
    sms_opted_out = BooleanAttribute(null=True)
    # A number the carrier said cannot receive texts (a delivery receipt: the dunning function's).
    sms_undeliverable = UnicodeAttribute(null=True)


class AllocationMap(MapAttribute[str, Any]):
    """Part of a payment for one invoice (``entities.Allocation``)."""

    invoice_number = UnicodeAttribute()
    amount = DecimalAttribute()


class PaymentItem(TableItem, discriminator="payment"):
    customer_id = UnicodeAttribute()
    payment_id = UnicodeAttribute()
    payment_date = UnicodeAttribute()
    amount = DecimalAttribute()
    currency = UnicodeAttribute()
    invoice_number = UnicodeAttribute(null=True)
    reference = UnicodeAttribute(null=True)
    applied_amount = DecimalAttribute()
    unapplied_amount = DecimalAttribute()
    applied_to = UnicodeAttribute(null=True)
    # The remittance advice as received (the lines of one payment), and what was applied to which
    # invoice, by ingest and by collectors' apply-cash decisions (arcollect/cash.py). Absent on a
    # payment recorded before they were kept: ``applied_to`` names its one invoice.
    remittance = ListAttribute(of=AllocationMap, null=True)
    allocations = ListAttribute(of=AllocationMap, null=True)


class ActivityItem(TableItem, discriminator="activity"):
    customer_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    activity_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    summary = UnicodeAttribute()
    detail = MapAttribute[str, Any](default=dict)


class ChunkProgressItem(TableItem, discriminator="chunk_progress"):
    """Which chunks of a fanned-out file are loaded: a string set, so a repeated chunk counts once."""

    done = UnicodeSetAttribute(null=True)


class TaskItem(TableItem, discriminator="task"):
    customer_id = UnicodeAttribute()
    task_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    title = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    status = UnicodeAttribute(default="open")
    detail = MapAttribute[str, Any](default=dict)
    assignee = UnicodeAttribute(null=True)
    due_on = UnicodeAttribute(null=True)
    score = NumberAttribute(default=0)
    attempts = NumberAttribute(default=0)
    outcome = UnicodeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)


class PromiseItem(TableItem, discriminator="promise"):
    """A promise to pay: its invoices pause until the promised date plus grace; kept or broken after."""

    customer_id = UnicodeAttribute()
    promise_id = UnicodeAttribute()
    invoice_numbers = ListAttribute(of=UnicodeAttribute)
    promised_until = UnicodeAttribute()
    amount = DecimalAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="open")
    created_at = UTCDateTimeAttribute()
    broken_at = UTCDateTimeAttribute(null=True)
    source = UnicodeAttribute(null=True)
    paid_amount = DecimalAttribute(null=True)
    settled_at = UTCDateTimeAttribute(null=True)


class PaymentPlanItem(TableItem, discriminator="payment_plan"):
    """A payment plan (``CUST#<id>`` / ``PLAN#<plan id>``): its instalments as JSON
    (``[{"number", "due_date", "amount"}]``, amounts as decimal strings); open, completed or broken."""

    customer_id = UnicodeAttribute()
    plan_id = UnicodeAttribute()
    invoice_numbers = ListAttribute(of=UnicodeAttribute)
    currency = UnicodeAttribute()
    instalments = UnicodeAttribute()
    status = UnicodeAttribute(default="open")
    created_at = UTCDateTimeAttribute()
    source = UnicodeAttribute()
    settled_at = UTCDateTimeAttribute(null=True)
    missed_instalment = NumberAttribute(null=True)


class PredictionItem(TableItem, discriminator="prediction"):
    """An open invoice's predicted pay date (``CUST#<id>`` / ``PRED#<number>``), written by the reports
    run; in no index. ``factors``: the top three, each ``{"name", "days", "text"}``."""

    customer_id = UnicodeAttribute()
    invoice_number = UnicodeAttribute()
    as_of = UnicodeAttribute()
    due_date = UnicodeAttribute()
    pay_date = UnicodeAttribute()
    low = UnicodeAttribute()
    high = UnicodeAttribute()
    probability_over_30_days_late = DecimalAttribute(null=True)
    factors = ListAttribute(of=MapAttribute, default=list)
    basis = UnicodeAttribute(default="model")
    fallback = BooleanAttribute(default=False)


class SendSlotItem(TableItem, discriminator="send_slots"):
    """A customer's send-slot record (``CUST#<id>`` / ``SENDSLOT``), written by the reports run; in no
    index. ``own`` and ``portfolio``: JSON of ``{hour: [sent, responded]}``."""

    customer_id = UnicodeAttribute()
    as_of = UnicodeAttribute()
    own = UnicodeAttribute()
    portfolio = UnicodeAttribute()


class DisputeItem(TableItem, discriminator="dispute"):
    """A customer's dispute of one invoice (``DSP#<id>`` in the customer's partition)."""

    customer_id = UnicodeAttribute()
    dispute_id = UnicodeAttribute()
    invoice_number = UnicodeAttribute()
    reason = UnicodeAttribute()
    comment = UnicodeAttribute(default="")
    status = UnicodeAttribute(default="open")
    created_at = UTCDateTimeAttribute()
    attachment_key = UnicodeAttribute(null=True)
    attachment_type = UnicodeAttribute(null=True)
    attachment_size = NumberAttribute(null=True)
    # An upload presigned but not yet checked: where it goes, and the type and size the customer
    # declared (the check holds the file to them). Removed when it is linked or refused.
    upload_key = UnicodeAttribute(null=True)
    upload_type = UnicodeAttribute(null=True)
    upload_size = NumberAttribute(null=True)
    # The workflow (see arcollect.disputes.DisputeStatus): where it was routed, who moved it last, how
    # it was resolved, and whether the department's notification went out.
    department = UnicodeAttribute(null=True)
    sla_days = NumberAttribute(null=True)
    resolution_note = UnicodeAttribute(null=True)
    credit_amount = DecimalAttribute(null=True)
    resolved_at = UTCDateTimeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    notified_at = UTCDateTimeAttribute(null=True)
    opened_by = UnicodeAttribute(null=True)
    # A deduction's residual when coded, and the payments that paid the rest (arcollect/deductions.py).
    amount = DecimalAttribute(null=True)
    payment_ids = ListAttribute(of=UnicodeAttribute, null=True)


class PortalSessionItem(TableItem, discriminator="portal_session"):
    """A portal session in the customer's partition (``SESSION#<sha256 of the session id>``); the
    table's TTL removes it after its absolute expiry."""

    customer_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()
    absolute_expiry = UTCDateTimeAttribute()
    csrf_token = UnicodeAttribute()


class PortalSessionPointerItem(TableItem, discriminator="portal_session_pointer"):
    """``SESSIONID#<sha256 of the session id>`` -> the customer whose partition holds the session."""

    customer_id = UnicodeAttribute()


class RateCounterItem(TableItem, discriminator="rate_counter"):
    """Requests of one kind by one key in one window (``store.rates``; removed by the table's TTL)."""

    hits = NumberAttribute(default=0)


class EmailLookupItem(TableItem, discriminator="email_lookup"):
    """``EMAIL#<lowercase address>`` / ``CUST#<id>``: a customer that has this AP address on file."""

    customer_id = UnicodeAttribute()
    address = UnicodeAttribute()


class StaffSessionItem(TableItem, discriminator="staff_session"):
    """A staff console session (``STAFFSESSION#<sha256 of the id>``); removed by the table's TTL."""

    username = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    name = UnicodeAttribute()
    groups = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()
    absolute_expiry = UTCDateTimeAttribute()
    csrf_token = UnicodeAttribute()
    # When the directory last confirmed the user and their groups (null: at sign-in).
    checked_at = UTCDateTimeAttribute(null=True)


class StaffRevocationItem(TableItem, discriminator="staff_revocation"):
    """``STAFFUSER#<username>`` / ``REVOKED``: every session of the user started before
    ``revoked_before`` is over (`arcollect staff revoke`)."""

    revoked_before = UTCDateTimeAttribute()


class AssigneeItem(TableItem, discriminator="assignee"):
    """``CUST#<id>`` / ``ASSIGNEE``: the collector a customer without an owner was given in turn."""

    assignee = UnicodeAttribute()
    assigned_at = UTCDateTimeAttribute()


class CounterItem(TableItem, discriminator="counter"):
    """An atomic counter (``RR#<segment>``: whose turn it is among the segment's collectors)."""

    value = NumberAttribute(default=0)


class DigestItem(TableItem, discriminator="digest"):
    """``DIGEST#<day>`` / ``<assignee>``: the claim of the day's digest email to this collector (or of
    the weekly summary, ``weekly-summary:<manager>``), sent at most once. ``status``: ``claimed`` (SES
    not answered yet), ``sent`` (with SES's ``message_id``) or ``in_doubt`` (SES may have sent it: never
    sent again); a claim SES certainly did not send is deleted, for the retry to claim again. An item
    without a status predates these states: it was sent."""

    sent_at = UTCDateTimeAttribute()  # when it was claimed
    tasks = NumberAttribute(default=0)
    status = UnicodeAttribute(null=True)  # claimed | sent | in_doubt
    claim = UnicodeAttribute(null=True)  # the claiming run's token: only it releases or completes it
    message_id = UnicodeAttribute(null=True)
    completed_at = UTCDateTimeAttribute(null=True)


class SendLedgerItem(TableItem, discriminator="send"):
    """One (invoice, step) touch of the dunning engine: it exists once, ever."""

    customer_id = UnicodeAttribute()
    invoice_number = UnicodeAttribute()
    step = UnicodeAttribute()
    reserved_at = UTCDateTimeAttribute()
    # The email (touch id) or task the touch went out with.
    touch_id = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)


class EmailTouchItem(TableItem, discriminator="email_touch"):
    """One reminder email: reserved before SES is called, sent once SES accepted it."""

    customer_id = UnicodeAttribute()
    touch_id = UnicodeAttribute()
    step = UnicodeAttribute()
    touches = ListAttribute(of=UnicodeAttribute)  # ["<invoice>", "<step>"] as JSON (touches.touch_text)
    recipients = ListAttribute(of=UnicodeAttribute)
    reserved_at = UTCDateTimeAttribute()
    # When the reservation was really made (the wall clock; ``reserved_at`` is the sweep's tick): its
    # lease runs on this, so a late or slow tick never finds another run's send in doubt.
    reserved_by_clock = UTCDateTimeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    status = UnicodeAttribute(default="reserved")  # reserved | sent | in_doubt | refused
    # SES refused it for good: its reason, and when. The touches stay reserved until it may be resent.
    refusal = UnicodeAttribute(null=True)
    refused_at = UTCDateTimeAttribute(null=True)
    # SES's permanent bounce for every recipient (its event's time): the step goes by its next channel.
    bounced_at = UTCDateTimeAttribute(null=True)


class ChangeItem(TableItem, discriminator="change"):
    """``CHANGES#<day>`` / ``CHANGE#<change id>``: one change of the ERP change feed, as its JSON Lines
    record (the form the feed publishes, so the daily files are rebuilt from the table as they were)."""

    record = UnicodeAttribute()


class SweepRunItem(TableItem, discriminator="sweep_run"):
    function = UnicodeAttribute()
    scheduled_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute()
    due_items = NumberAttribute(default=0)


class FeedItem(TableItem, discriminator="feed"):
    """``FRESHNESS`` / ``FEED#<kind>``: the newest file ingested of one feed. ``as_of`` is an instant
    as ``format_instant`` writes it, so the condition "later than" compares texts."""

    kind = UnicodeAttribute()
    key = UnicodeAttribute()
    version_id = UnicodeAttribute()
    as_of = UnicodeAttribute()
    received_at = UTCDateTimeAttribute()
    # The as-of of the feed's first file (set once).
    first_as_of = UnicodeAttribute(null=True)


class HoldItem(TableItem, discriminator="dunning_hold"):
    """``FRESHNESS`` / ``HOLD``: the freshness hold in force (absent while the feeds are current)."""

    since = UTCDateTimeAttribute()
    episode = UnicodeAttribute()
    reason = UnicodeAttribute()
    task_ids = UnicodeSetAttribute(null=True)
    # The company's business day the manager was last alerted (and given that day's task).
    alerted_on = UnicodeAttribute(null=True)


class ReplyAddressItem(TableItem, discriminator="reply_address"):
    """``REPLYTO#<token>`` / ``REPLYTO``: whose reminder a reply address was (store/inbox.py)."""

    customer_id = UnicodeAttribute()
    touch_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ReplyThreadItem(TableItem, discriminator="reply_thread"):
    """``THREAD#<message id's left part>`` / ``THREAD``: the reminder a Message-ID was (ours or SES's)."""

    customer_id = UnicodeAttribute()
    touch_id = UnicodeAttribute()


class InboundMessageItem(TableItem, discriminator="inbound_message"):
    """``INBOX#<digest of the message>`` / ``MESSAGE``: a reply filed once, and where."""

    key = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    activity_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    # What was filed, for `arcollect inbox drop` to say without reading the timeline.
    kind = UnicodeAttribute(null=True)
    summary = UnicodeAttribute(null=True)


class TextTouchItem(TableItem, discriminator="text_touch"):
    """``CUST#<id>`` / ``TEXT#<touch id>``: one reminder text, reserved before SendTextMessage is called,
    sent once the service accepted it (store/text_ledger.py)."""

    customer_id = UnicodeAttribute()
    touch_id = UnicodeAttribute()
    step = UnicodeAttribute()
    touches = ListAttribute(of=UnicodeAttribute)  # ["<invoice>", "<step>"] as JSON (touches.touch_text)
    to = UnicodeAttribute()
    body = UnicodeAttribute()
    encoding = UnicodeAttribute()
    parts = NumberAttribute()
    reserved_at = UTCDateTimeAttribute()
    reserved_by_clock = UTCDateTimeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    status = UnicodeAttribute(default="reserved")  # reserved | sent | refused
    refusal = UnicodeAttribute(null=True)
    # The carrier's final receipt (dunning/texts.py, handle_receipt): delivered, or not and why.
    delivered_at = UTCDateTimeAttribute(null=True)
    undelivered_at = UTCDateTimeAttribute(null=True)
    undelivered_reason = UnicodeAttribute(null=True)


class SmsNumberItem(TableItem, discriminator="sms_number"):
    """``SMS#<E.164>``: ``OPTOUT`` when the number opted out (our copy of the opt-out list: a text to it
    is never reserved), ``CUST#<id>`` for each customer texted at it (a reply finds its customers)."""

    number = UnicodeAttribute()
    customer_id = UnicodeAttribute(null=True)
    opted_out_at = UTCDateTimeAttribute(null=True)
    keyword = UnicodeAttribute(null=True)


ALL_MODELS: tuple[type[TableItem], ...] = (
    TableItem,
    IngestFileItem,
    InvoiceItem,
    CustomerItem,
    PaymentItem,
    ActivityItem,
    TaskItem,
    ChunkProgressItem,
    PromiseItem,
    SweepRunItem,
    DisputeItem,
    PortalSessionItem,
    PortalSessionPointerItem,
    RateCounterItem,
    EmailLookupItem,
    StaffSessionItem,
    AssigneeItem,
    CounterItem,
    DigestItem,
    ChangeItem,
    StaffRevocationItem,
    FeedItem,
    HoldItem,
    ReplyAddressItem,
    ReplyThreadItem,
    InboundMessageItem,
    TextTouchItem,
    SmsNumberItem,
)


def bind_table(table_name: str) -> None:
    """Point every model at ``table_name`` (called once per process from the settings)."""
    for model in ALL_MODELS:
        model.Meta.table_name = table_name
