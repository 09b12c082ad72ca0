"""Key formats of the single table (see the data model in the README)."""

from __future__ import annotations

import hashlib
import zlib
from datetime import date, datetime

from arcollect.clock import format_instant
from arcollect.contract import TableSchema

SESSION_PREFIX = "SESSION#"
DISPUTE_PREFIX = "DSP#"

# The timeline of ingested files (one entry per file version), beside the customers' own timelines.
INGEST_TIMELINE_PK = "TIMELINE#ingest"

# The freshness hold's partition: each feed's newest file (``FEED#<kind>``), the hold in force
# (``HOLD``), the days it held and when it ended (``ACT#...``), and the manager's tasks (``TASK#...``).
# The sweep reads the feeds and the hold in one query of the range FRESHNESS_STATE.
FRESHNESS_PK = "FRESHNESS"
HOLD_SK = "HOLD"
FRESHNESS_STATE = ("FEED#", HOLD_SK)


def feed_sk(kind: str) -> str:
    return f"FEED#{kind}"


def customer_pk(customer_id: str) -> str:
    return f"CUST#{customer_id}"


def invoice_sk(invoice_number: str) -> str:
    return f"INV#{invoice_number}"


def activity_sk(at: datetime, activity_id: str) -> str:
    return f"ACT#{format_instant(at)}#{activity_id}"


def payment_sk(payment_id: str) -> str:
    return f"PAY#{payment_id}"


def task_sk(task_id: str) -> str:
    return f"TASK#{task_id}"


# The worklist of open tasks nobody was assigned (managers hand them out).
UNASSIGNED = "unassigned"


def worklist_rank(score: int, due_on: date | None, task_id: str) -> str:
    """Sorts a worklist highest score first, then earliest due (the WORKLIST index's range key)."""
    day = due_on.isoformat() if due_on else "9999-12-31"
    return f"{max(0, 999 - score):03d}#{day}#{task_id}"


PREDICTION_PREFIX = "PRED#"


#: A customer's send-slot record, as the newest report run left it (store/send_slots.py).
SEND_SLOTS_SK = "SENDSLOT"


def prediction_sk(invoice_number: str) -> str:
    """An open invoice's predicted pay date, as the newest report run left it (store/predictions.py)."""
    return f"{PREDICTION_PREFIX}{invoice_number}"


def promise_sk(promise_id: str) -> str:
    return f"PTP#{promise_id}"


def plan_sk(plan_id: str) -> str:
    return f"PLAN#{plan_id}"


def dispute_sk(dispute_id: str) -> str:
    return f"{DISPUTE_PREFIX}{dispute_id}"


def ledger_sk(invoice_number: str, step: str) -> str:
    """One (invoice, step) touch of the dunning send ledger."""
    return f"SEND#{invoice_number}#{step}"


def email_sk(touch_id: str) -> str:
    """One reminder email (its reservation and, once SES accepted it, its message id)."""
    return f"EMAIL#{touch_id}"


def text_sk(touch_id: str) -> str:
    """One reminder text (its reservation and, once the service accepted it, its message id)."""
    return f"TEXT#{touch_id}"


def session_sk(session_id: str) -> str:
    """A portal session in its customer's partition: keyed by a digest, never the id itself."""
    return f"{SESSION_PREFIX}{_digest(session_id)}"


def session_pointer_pk(session_id: str) -> str:
    """Finds a session's customer from the cookie alone."""
    return f"SESSIONID#{_digest(session_id)}"


def email_lookup_pk(address: str) -> str:
    """Finds the customer an AP address belongs to ("send me a fresh link")."""
    return f"EMAIL#{address.strip().lower()}"


def rate_counter_pk(kind: str, key: str, window: str) -> str:
    """One window's count of one kind of request by one address or client (digested: no raw addresses):
    an hour for fresh-link requests, 5 minutes for staff sign-in posts."""
    return f"RATE#{kind}#{_digest(key)}#{window}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def staff_session_pk(session_id: str) -> str:
    """A staff console session (keyed by a digest of its id; the table's TTL removes it)."""
    return f"STAFFSESSION#{_digest(session_id)}"


STAFF_SESSION_SK = "SESSION"


def note_sk(at: datetime, note_id: str) -> str:
    return f"NOTE#{format_instant(at)}#{note_id}"


def assignment_sk() -> str:
    """The collector a customer without an owner was given by round-robin (sticky)."""
    return "ASSIGNEE"


def round_robin_pk(segment: str) -> str:
    """The round-robin counter of one dunning segment's collectors."""
    return f"RR#{segment}"


def digest_pk(day: str) -> str:
    """Which collectors got the daily digest of ``day`` (one item per collector: sent once)."""
    return f"DIGEST#{day}"


def change_day_pk(day: str) -> str:
    """The change feed's changes of one UTC day: the daily files are one query of this partition.
    Decisions are made at a person's pace (bounces at SES's), far below a partition's 1,000 writes/s."""
    return f"CHANGES#{day}"


def change_sk(change_id: str) -> str:
    return f"CHANGE#{change_id}"


def ingest_file_pk(key: str) -> str:
    return f"FILE#{key}"


def ingest_file_sk(version_id: str) -> str:
    return f"VER#{version_id}"


def sweep_run_pk(function: str) -> str:
    return f"RUN#{function}"


def sweep_run_sk(scheduled_at: datetime) -> str:
    return f"AT#{format_instant(scheduled_at)}"


def next_action_shard(partition_key: str) -> str:
    """A stable shard for an item, so one customer's items always land on the same shard."""
    return f"DUE#{zlib.crc32(partition_key.encode()) % TableSchema.NEXT_ACTION_SHARDS}"


def all_next_action_shards() -> list[str]:
    return [f"DUE#{shard}" for shard in range(TableSchema.NEXT_ACTION_SHARDS)]


def reply_address_pk(token: str) -> str:
    """A reply address's token: the customer and the touch whose reminder carried it."""
    return f"REPLYTO#{token}"


REPLY_ADDRESS_SK = "REPLYTO"


def reply_thread_pk(thread_key: str) -> str:
    """A reminder's Message-ID (its left part, ours or SES's): a reply's In-Reply-To finds it."""
    return f"THREAD#{thread_key}"


REPLY_THREAD_SK = "THREAD"


def inbound_message_pk(identity: str) -> str:
    """A customer's reply, filed once: by its Message-ID, else its S3 key (digested: any length)."""
    return f"INBOX#{_digest(identity)}"


INBOUND_MESSAGE_SK = "MESSAGE"
