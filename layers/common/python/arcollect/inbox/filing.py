"""A customer's reply, threaded and filed: SES writes the message under ``inbox/`` in the drop bucket,
and ``receive_reply`` finds whose it is and files it once in the customer's timeline with its
attachments and a task for the customer's owner.

Threading, first match wins:
1. the per-touch reply address (``reply+<token>@<inbound domain>``) the reminder carried;
2. the In-Reply-To, then the References header: a reminder's Message-ID (ours, or SES's in its place);
3. the sender's address, when exactly one customer has it on file.
A message none of them threads (or several customers share its sender) goes to the unassigned worklist
the managers hand out, filed under ``UNTHREADED``. So does a message that cannot be read, with why: nothing
received is dropped. An automatic reply (out of office) is filed and makes no task; no reply changes
what dunning does (a collector reads the flags and decides)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from arcollect.contract import DropPrefix
from arcollect.entities import Activity, Customer, Task
from arcollect.inbox.messages import ReadMessage, UnreadableMessage, read_message
from arcollect.inbox.signals import DISPUTES, SAYS_PAID, auto_reply, flags
from arcollect.replies import (
    KIND_AUTO_REPLY,
    KIND_REPLY,
    KIND_UNREADABLE,
    message_ids,
    thread_key,
    token_of,
)

# The task this writes (its timeline entries' kinds: arcollect/replies.py).
TASK_REPLY: Final = "reply"
# The object SES writes under the rule's prefix when the rule is created, to check it may write there:
# a fake email from SES itself, no customer's (it would be an unthreaded reply and a task for nothing).
SES_SETUP_NOTIFICATION: Final = "AMAZON_SES_SETUP_NOTIFICATION"
# Where a message no customer could be found for is filed (its task on the managers' unassigned list).
UNTHREADED: Final = "~unthreaded-replies"
# A reply with a flag comes before the rest of the day's work.
FLAGGED_SCORE: Final = 80
REPLY_SCORE: Final = 50


class ReplyStore(Protocol):
    def by_token(self, token: str) -> tuple[str, str] | None: ...
    def by_thread(self, thread_keys: Sequence[str]) -> tuple[str, str] | None: ...
    def customers_of(self, address: str) -> list[str]: ...
    def customer(self, customer_id: str) -> Customer | None: ...
    def filed(self, identity: str) -> tuple[str, str] | None: ...
    def file(self, identity: str, key: str, activity: Activity, task: Task | None) -> bool: ...


class ReplyObjects(Protocol):
    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str) -> None: ...


@dataclass(frozen=True)
class Thread:
    customer_id: str
    touch_id: str | None
    by: str  # "reply address", "In-Reply-To", "References", "sender", or why none
    threaded: bool = True


@dataclass(frozen=True)
class ReplyOutcome:
    customer_id: str
    activity_id: str
    threaded_by: str
    duplicate: bool = False
    auto_reply: str | None = None
    flags: dict[str, tuple[str, ...]] | None = None
    task_id: str | None = None


def reply_attachment_key(customer_id: str, reply_id: str, name: str) -> str:
    """``attachments/replies/<customer>/<reply>/<name>``, the customer encoded as in ``document_key``."""
    customer = customer_id.replace("%", "%25").replace("/", "%2F")
    return f"{DropPrefix.REPLY_ATTACHMENTS}{customer}/{reply_id}/{name}"


def receive_reply(
    *,
    bucket: str,
    key: str,
    raw: bytes,
    received_at: datetime,
    store: ReplyStore,
    objects: ReplyObjects,
    inbound_domain: str | None,
) -> ReplyOutcome:
    """Thread and file the message SES wrote to ``key`` (received at ``received_at``, the S3 event's
    time): once, however often it is delivered (by its Message-ID, else its key)."""
    if key.rsplit("/", 1)[-1] == SES_SETUP_NOTIFICATION:
        return ReplyOutcome("", "", "SES's setup notification: not a reply, nothing filed", duplicate=True)
    try:
        message = read_message(raw)
    except UnreadableMessage as error:
        return _unreadable(bucket, key, str(error), received_at, store)
    identity = f"message-id:{message.message_id}" if message.message_id else f"key:{key}"
    earlier = store.filed(identity)
    if earlier is not None:
        return ReplyOutcome(earlier[0], earlier[1], "already filed", duplicate=True)
    thread = find_thread(message, store, inbound_domain)
    reply_id = hashlib.sha256(identity.encode()).hexdigest()[:20]
    customer = store.customer(thread.customer_id) if thread.threaded else None
    automatic = auto_reply(message)
    found = flags(message) if automatic is None else {}
    stored: list[dict[str, str]] = []
    for index, attachment in enumerate(message.attachments, start=1):
        name = (
            attachment.name
            if attachment.name not in {a["name"] for a in stored}
            else f"{index}-{attachment.name}"
        )
        attachment_key = reply_attachment_key(thread.customer_id, reply_id, name)
        objects.put_bytes(bucket, attachment_key, attachment.content, attachment.content_type)
        stored.append(
            {"name": name, "key": attachment_key, "type": attachment.content_type,
             "size": str(len(attachment.content))}
        )  # fmt: skip
    who = f"{message.sender_name} <{message.sender}>" if message.sender_name else message.sender or "unknown"
    said = "; ".join(f"{flag.replace('_', ' ')} ({', '.join(words)})" for flag, words in found.items())
    summary = (
        f"Automatic reply from {who}: {message.subject}"
        if automatic
        else f"Reply from {who}: {message.subject}" + (f" [{said}]" if said else "")
    )
    activity_id = f"reply-{reply_id}"
    detail = {
        "from": message.sender,
        "from_name": message.sender_name,
        "subject": message.subject,
        "message_id": message.message_id or "",
        "touch_id": thread.touch_id or "",
        "threaded_by": thread.by,
        "text": message.text,
        "attachments": json.dumps(stored, ensure_ascii=False),
        "raw_key": key,
        SAYS_PAID: ", ".join(found.get(SAYS_PAID, ())),
        DISPUTES: ", ".join(found.get(DISPUTES, ())),
        "auto_reply": automatic or "",
    }
    activity = Activity(
        customer_id=thread.customer_id,
        at=received_at,
        activity_id=activity_id,
        kind=KIND_AUTO_REPLY if automatic else KIND_REPLY,
        summary=summary,
        detail={k: v for k, v in detail.items() if v},
    )
    task = None
    if automatic is None:
        owner = customer.owner_on(received_at.date()) if customer is not None else None
        task = Task(
            customer_id=thread.customer_id,
            task_id=activity_id,
            kind=TASK_REPLY,
            title=(f"Read the reply from {who}" + (f": {said}" if said else ""))
            if thread.threaded
            else f"Thread a reply nobody could be found for ({thread.by}): from {who}, {message.subject!r}",
            created_at=received_at,
            detail={
                "activity_id": activity_id,
                "from": message.sender,
                "subject": message.subject,
                "threaded_by": thread.by,
                "raw_key": key,
                **{flag: ", ".join(words) for flag, words in found.items()},
            },
            assignee=owner,
            due_on=received_at.date(),
            score=FLAGGED_SCORE if found or not thread.threaded else REPLY_SCORE,
        )
    if not store.file(identity, key, activity, task):
        again = store.filed(identity)
        customer_id, filed_id = again if again else (thread.customer_id, activity_id)
        return ReplyOutcome(customer_id, filed_id, "already filed", duplicate=True)
    return ReplyOutcome(
        thread.customer_id,
        activity_id,
        thread.by,
        auto_reply=automatic,
        flags=found,
        task_id=task.task_id if task else None,
    )


def find_thread(message: ReadMessage, store: ReplyStore, inbound_domain: str | None) -> Thread:
    """Whose reply ``message`` is: by its reply address, its headers, its sender (see the module)."""
    tokens = [t for t in (token_of(a, inbound_domain) for a in message.recipients) if t]
    for token in dict.fromkeys(tokens):
        found = store.by_token(token)
        if found:
            return Thread(found[0], found[1], "reply address")
    for header, value in (("In-Reply-To", message.in_reply_to), ("References", message.references)):
        # References lists the thread oldest first: the newest reminder is the likeliest.
        ids = message_ids(value)[::-1]
        found = store.by_thread([k for k in (thread_key(i) for i in ids) if k])
        if found:
            return Thread(found[0], found[1], header)
    customers = store.customers_of(message.sender) if message.sender else []
    if len(customers) == 1:
        return Thread(customers[0], None, "sender")
    why = (
        f"reply address {', '.join(tokens)} unknown" if tokens else "no reply address",
        "no reminder's Message-ID",
        f"sender {message.sender or '(none)'} is a contact of "
        + (f"{len(customers)} customers: {', '.join(customers[:5])}" if customers else "no customer"),
    )
    return Thread(UNTHREADED, None, "; ".join(why), threaded=False)


def _unreadable(bucket: str, key: str, error: str, received_at: datetime, store: ReplyStore) -> ReplyOutcome:
    """A message we cannot read is filed as such, with why, and a manager's task to look at it."""
    identity = f"key:{key}"
    earlier = store.filed(identity)
    if earlier is not None:
        return ReplyOutcome(earlier[0], earlier[1], "already filed", duplicate=True)
    activity_id = f"reply-{hashlib.sha256(identity.encode()).hexdigest()[:20]}"
    where = f"s3://{bucket}/{key}"
    activity = Activity(
        customer_id=UNTHREADED,
        at=received_at,
        activity_id=activity_id,
        kind=KIND_UNREADABLE,
        summary=f"A received message could not be read: {error} ({where})",
        detail={"raw_key": key, "error": error},
    )
    task = Task(
        customer_id=UNTHREADED,
        task_id=activity_id,
        kind=TASK_REPLY,
        title=f"Look at a received message that could not be read: {error}",
        created_at=received_at,
        detail={"activity_id": activity_id, "raw_key": key, "error": error},
        due_on=received_at.date(),
        score=FLAGGED_SCORE,
    )
    filed = store.file(identity, key, activity, task)
    return ReplyOutcome(
        UNTHREADED, activity_id, f"unreadable: {error}", duplicate=not filed, task_id=task.task_id
    )
