"""Threading and filing a reply with an in-memory store (the moto-backed store is tested through the
handlers in tests/integration/test_inbox.py): which thread wins, a sender two customers share, a
message without Message-ID filed once by its key, a registered reply address that fails to be
remembered after the send only logged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage

from arcollect.app.reply_addresses import ReplyAddresses
from arcollect.entities import Activity, Customer, Task
from arcollect.inbox.filing import UNTHREADED, receive_reply
from arcollect.store.errors import StoreError

NOW = datetime(2026, 11, 24, 8, 15, tzinfo=UTC)
DOMAIN = "replies.example.com"
TOKEN = "b" * 24


@dataclass
class Book:
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    threads: dict[str, tuple[str, str]] = field(default_factory=dict)
    contacts: dict[str, list[str]] = field(default_factory=dict)
    filed_by: dict[str, tuple[str, str]] = field(default_factory=dict)
    activities: list[Activity] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)

    def by_token(self, token: str) -> tuple[str, str] | None:
        return self.tokens.get(token)

    def by_thread(self, thread_keys: Sequence[str]) -> tuple[str, str] | None:
        return next((self.threads[k] for k in thread_keys if k in self.threads), None)

    def customers_of(self, address: str) -> list[str]:
        return self.contacts.get(address, [])

    def customer(self, customer_id: str) -> Customer | None:
        return Customer(
            customer_id=customer_id, name=customer_id, email="ap@mueller.example", owner="dana@seller.example"
        )

    def filed(self, identity: str) -> tuple[str, str] | None:
        return self.filed_by.get(identity)

    def file(self, identity: str, key: str, activity: Activity, task: Task | None) -> bool:
        if identity in self.filed_by:
            return False
        self.filed_by[identity] = (activity.customer_id, activity.activity_id)
        self.activities.append(activity)
        self.tasks.extend([task] if task else [])
        return True


class Objects:
    def __init__(self) -> None:
        self.put: dict[str, bytes] = {}

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.put[key] = body


def mail(
    *, to: str = "ar@seller.example", message_id: str | None = "<r1@mueller.example>", **headers: str
) -> bytes:
    message = EmailMessage()
    message["From"] = "AP <ap@mueller.example>"
    message["To"] = to
    message["Subject"] = "Re: reminder"
    if message_id:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Thanks, we will pay on Friday.")
    return message.as_bytes()


def receive(book: Book, raw: bytes, key: str = "inbox/a1") -> tuple[str, str, bool]:
    outcome = receive_reply(
        bucket="drop", key=key, raw=raw, received_at=NOW, store=book, objects=Objects(), inbound_domain=DOMAIN
    )
    return outcome.customer_id, outcome.threaded_by, outcome.duplicate


def test_the_reply_address_wins_over_the_headers_and_the_sender() -> None:
    book = Book(
        tokens={TOKEN: ("C-1", "touch-1")},
        threads={"ses-2": ("C-2", "touch-2")},
        contacts={"ap@mueller.example": ["C-3"]},
    )
    raw = mail(to=f"reply+{TOKEN}@{DOMAIN}", In_Reply_To="<ses-2@email.amazonses.com>")
    assert receive(book, raw) == ("C-1", "reply address", False)


def test_references_are_tried_newest_first_when_in_reply_to_names_no_reminder() -> None:
    book = Book(threads={"old": ("C-1", "t-old"), "new": ("C-2", "t-new")})
    raw = mail(In_Reply_To="<someone-elses@x>", References="<old@seller.example> <new@email.amazonses.com>")
    assert receive(book, raw) == ("C-2", "References", False)
    assert book.activities[0].detail["touch_id"] == "t-new"


def test_a_sender_two_customers_share_is_for_the_managers_to_thread() -> None:
    book = Book(contacts={"ap@mueller.example": ["Müller & Söhne, GmbH", "Müller Logistik"]})
    customer_id, why, _ = receive(book, mail())
    assert customer_id == UNTHREADED
    assert "contact of 2 customers: Müller & Söhne, GmbH, Müller Logistik" in why
    [task] = book.tasks
    assert task.assignee is None


def test_a_message_without_message_id_is_filed_once_by_its_key() -> None:
    book = Book(contacts={"ap@mueller.example": ["C-1"]})
    raw = mail(message_id=None)
    assert receive(book, raw, key="inbox/x") == ("C-1", "sender", False)
    assert receive(book, raw, key="inbox/x")[2] is True
    assert len(book.activities) == 1 and len(book.tasks) == 1


def test_sess_own_setup_notification_is_not_a_customers_reply() -> None:
    book = Book()
    customer_id, why, duplicate = receive(book, mail(), key="inbox/AMAZON_SES_SETUP_NOTIFICATION")
    assert (customer_id, duplicate) == ("", True) and "setup notification" in why
    assert book.activities == [] and book.tasks == []


class FailingBook:
    def register(self, *args: object) -> None: ...

    def thread_sent(self, *args: object) -> None:
        raise StoreError("thread_sent: throttled")


def test_remembering_sess_message_id_after_the_send_never_fails_the_run() -> None:
    replies = ReplyAddresses(FailingBook(), DOMAIN, "collections@example.com")  # type: ignore[arg-type]
    address = replies.reply_to("C-1", "touch-1", NOW)
    assert address is not None and address.endswith("@" + DOMAIN)
    replies.threaded("C-1", "touch-1", "0100018c-abc", NOW)  # logged, not raised
    assert ReplyAddresses(FailingBook(), None, "x@example.com").reply_to("C-1", "t", NOW) is None  # type: ignore[arg-type]
