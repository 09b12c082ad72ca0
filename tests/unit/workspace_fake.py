"""In-memory stand-ins for the staff console's tests: a Workspace, a staff directory and sessions.

FakeWorkspace subclasses Workspace and overrides every method (no store, no AWS); it does not call
Workspace.__init__, whose store is being built by someone else. Calls that change something are
recorded with the StaffUser they were made ``by``, so tests can check it came from the session. Set
``fail[<method>] = WorkspaceInputError(...)`` to make the next call of that method refuse its input.

Users: "cora" (collector), "max" (manager), "temp" (an invited user with a temporary password), every
other name or a wrong password fails. Password "pw" is right for all of them.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from arcollect.decisions import Decision, as_detail
from arcollect.entities import Customer, Invoice, Payment, Promise
from arcollect.priority import PriorityReason
from arcollect.staff import (
    STAFF_SESSION_HOURS,
    STAFF_SIGN_IN_PER_5MIN,
    ChallengeExpired,
    MfaCodeRequired,
    MfaSetupRequired,
    NewPasswordRequired,
    SignInFailed,
    StaffSession,
    StaffUser,
    WrongCode,
    sign_in_window,
)
from arcollect.workspace.model import (
    Account360,
    AgingLine,
    DisputeView,
    NotAllowed,
    OutcomeReceipt,
    PromiseView,
    ReportLink,
    RiskIndicators,
    TaskView,
    TimelineEntry,
    WorkItem,
    Workload,
    WorkspaceInputError,
    WorkspaceNotFound,
)
from arcollect.workspace.services import Workspace

NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # the test events' requestTimeEpoch
TODAY = NOW.date()
CORA = StaffUser(
    username="cora", email="cora@example.com", name="Cora Collector", groups=frozenset({"collector"})
)
MAX = StaffUser(username="max", email="max@example.com", name="Max Manager", groups=frozenset({"manager"}))
TEMP = StaffUser(username="temp", email=None, name="Tess Temp", groups=frozenset({"collector"}))
NINA = StaffUser(username="nina", email=None, name="Nina New", groups=frozenset({"collector"}))
USERS = {"cora": CORA, "max": MAX, "temp": TEMP, "nina": NINA}


def _invoice(number: str, amount: str, due: date, **kw: Any) -> Invoice:
    return Invoice(
        customer_id="C1",
        invoice_number=number,
        currency="EUR",
        amount=Decimal(amount),
        open_amount=Decimal(amount),
        invoice_date=due - timedelta(days=30),
        due_date=due,
        **kw,
    )


def work_item(task_id: str, score: int, customer_id: str = "C1", **kw: Any) -> WorkItem:
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "customer_name": f"Customer {customer_id}",
        "task_id": task_id,
        "kind": "call",
        "title": f"Call about {task_id}",
        "assignee": "cora",
        "score": score,
        "reasons": (PriorityReason("days_past_due", score, f"{score} points for task {task_id}"),),
        "created_at": NOW - timedelta(days=3),
        "due_on": TODAY,
        "overdue": False,
        "past_due_amount": Decimal("1200.50"),
        "currency": "EUR",
        "days_past_due": 40,
        "invoice_numbers": ("INV-1",),
        "attempts": 1,
        "phone": "+49 30 1234567",
    }
    values.update(kw)
    return WorkItem(**values)


def account_360() -> Account360:
    customer = Customer(
        customer_id="C1",
        name="Acme Retail GmbH",
        email="ap@acme.example",
        phone="+49 30 1234567",
        owner="cora",
        dunning_hold=False,
    )
    return Account360(
        customer=customer,
        open_invoices=(
            _invoice("INV-1", "1200.50", TODAY - timedelta(days=40)),
            _invoice("INV-2", "300.00", TODAY + timedelta(days=5)),
            _invoice("CN/2026/0042", "150.00", TODAY - timedelta(days=60), document_type="credit_note"),
        ),
        closed_invoices=(_invoice("INV-0", "99.00", TODAY - timedelta(days=90), status="closed"),),
        aging=(
            AgingLine(
                currency="EUR",
                buckets={"current": Decimal("300"), "d31_60": Decimal("1200.50")},
                total=Decimal("1500.50"),
            ),
        ),
        payments=(
            Payment(
                customer_id="C1",
                payment_id="PAY-77",
                payment_date=TODAY - timedelta(days=60),
                amount=Decimal("99"),
                currency="EUR",
                applied_to="INV-0",
            ),
        ),
        promises=(
            PromiseView(
                customer_id="C1",
                promise_id="P1",
                invoice_numbers=("INV-1",),
                promised_until=TODAY + timedelta(days=7),
                amount=Decimal("1200.50"),
                currency="EUR",
                status="open",
                created_at=NOW - timedelta(days=1),
                source="portal",
                paid_amount=Decimal("200"),
            ),
        ),
        disputes=(
            DisputeView(
                customer_id="C1",
                dispute_id="D1",
                invoice_number="INV-9",
                reason="damaged_or_defective",
                comment="Pallet arrived broken",
                status="open",
                created_at=NOW - timedelta(days=12),
                department="logistics",
                sla_days=10,
                age_days=12,
                overdue=True,
            ),
        ),
        tasks=(
            TaskView(
                customer_id="C1",
                task_id="T1",
                kind="call",
                title="Call about INV-1",
                status="open",
                assignee="cora",
                created_at=NOW - timedelta(days=2),
                due_on=TODAY,
                attempts=1,
            ),
            TaskView(
                customer_id="C1",
                task_id="T0",
                kind="call",
                title="Earlier call",
                status="done",
                assignee="cora",
                created_at=NOW - timedelta(days=20),
                due_on=TODAY - timedelta(days=19),
                outcome="voicemail",
                closed_at=NOW - timedelta(days=19),
            ),
        ),
        timeline=(
            TimelineEntry(at=NOW - timedelta(days=30), kind="email", summary="Older reminder sent"),
            TimelineEntry(
                at=NOW - timedelta(hours=2),
                kind="dunning_decisions",
                summary="Dunning sweep (standard, policy 3f2a9c81d0be): 1 emailed, 1 suppressed",
                detail={
                    "policy": "standard",
                    "policy_revision": "3f2a9c81d0be",
                    "segment": "default",
                    "decisions": as_detail(
                        [
                            Decision("INV-2026/1", "due", "emailed", "the due reminder's day has come"),
                            Decision("INV-2026/2", None, "suppressed", "disputed: left out until resolved"),
                        ]
                    ),
                },
            ),
            TimelineEntry(at=NOW - timedelta(hours=1), kind="note", summary="Newest note by Cora"),
        ),
        risk=RiskIndicators(
            average_days_late=17.5,
            recent_average_days_late=21.0,
            earlier_average_days_late=12.0,
            trend="worsening",
            promises_kept=3,
            promises_broken=1,
            promise_kept_rate=0.75,
            risk_class="high",
            erp_risk=None,
        ),
        paused_until=TODAY + timedelta(days=3),
        as_of=TODAY,
        dunning_policy="standard-firmer",
        test_arm="challenger",
        test_name="firmer-2027",
    )


class FakeWorkspace(Workspace):
    def __init__(self) -> None:  # deliberately no super().__init__: no store, no policies
        self.worklists: dict[str, list[WorkItem]] = {
            "cora": [work_item("T1", 90), work_item("T2", 55, customer_id="C2"), work_item("T3", 10)],
            "max": [],
        }
        self.accounts: dict[str, Account360] = {"C1": account_360()}
        self.dispute_queue = list(account_360().disputes)
        self.report_links = [
            ReportLink(
                key="reports/2026-11-24/kpis.json",
                size=2048,
                last_modified=NOW,
                url="https://reports.s3.amazonaws.com/reports/2026-11-24/kpis.json?X-Amz-Signature=abc",
            )
        ]
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail: dict[str, Exception] = {}

    def _record(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))
        error = self.fail.pop(name, None)
        if error is not None:
            raise error

    def _known(self, customer_id: str) -> Account360:
        account = self.accounts.get(customer_id)
        if account is None:
            raise WorkspaceNotFound(f"no customer {customer_id}")
        return account

    def worklist(self, assignee: str, *, now: datetime, limit: int = 100) -> list[WorkItem]:
        self.calls.append(("worklist", {"assignee": assignee, "now": now}))
        return list(self.worklists.get(assignee, []))[:limit]

    def team_workload(self, by: StaffUser, *, now: datetime) -> list[Workload]:
        self._record("team_workload", by=by)
        if not by.is_manager:
            raise NotAllowed("managers only")
        return [
            Workload(
                assignee="cora",
                open_tasks=3,
                overdue_tasks=1,
                due_today=2,
                top_score=90,
                past_due={"EUR": Decimal("4321.5")},
                by_kind={"call": 3},
            )
        ]

    def account(self, customer_id: str, *, now: datetime) -> Account360:
        return self._known(customer_id)

    def record_outcome(
        self,
        customer_id: str,
        task_id: str,
        *,
        outcome: str,
        note: str,
        by: StaffUser,
        now: datetime,
        promised_until: str | None = None,
        promise_amount: str | None = None,
        invoice_numbers: list[str] | None = None,
        dispute_reason: str | None = None,
    ) -> OutcomeReceipt:
        self._known(customer_id)
        self._record(
            "record_outcome",
            customer_id=customer_id,
            task_id=task_id,
            outcome=outcome,
            note=note,
            by=by,
            now=now,
            promised_until=promised_until,
            promise_amount=promise_amount,
            invoice_numbers=invoice_numbers,
            dispute_reason=dispute_reason,
        )
        return OutcomeReceipt(task_id=task_id, outcome=outcome, task_closed=True)

    def add_note(self, customer_id: str, *, text: str, by: StaffUser, now: datetime) -> None:
        self._known(customer_id)
        self._record("add_note", customer_id=customer_id, text=text, by=by, now=now)
        if not text:
            raise WorkspaceInputError("text", "write the note")

    def take_promise(
        self,
        customer_id: str,
        *,
        invoice_numbers: list[str],
        amount: str,
        promised_until: str,
        by: StaffUser,
        now: datetime,
    ) -> Promise:
        self._known(customer_id)
        self._record(
            "take_promise",
            customer_id=customer_id,
            invoice_numbers=invoice_numbers,
            amount=amount,
            promised_until=promised_until,
            by=by,
            now=now,
        )
        return Promise(
            customer_id=customer_id,
            promise_id="P9",
            invoice_numbers=tuple(invoice_numbers),
            promised_until=date.fromisoformat(promised_until),
            created_at=now,
            amount=Decimal(amount),
            currency="EUR",
        )

    def log_dispute(
        self,
        customer_id: str,
        *,
        invoice_number: str,
        reason: str,
        comment: str,
        by: StaffUser,
        now: datetime,
    ) -> DisputeView:
        self._known(customer_id)
        self._record(
            "log_dispute",
            customer_id=customer_id,
            invoice_number=invoice_number,
            reason=reason,
            comment=comment,
            by=by,
            now=now,
        )
        return replace(self.dispute_queue[0], invoice_number=invoice_number, reason=reason, comment=comment)

    def move_dispute(
        self,
        customer_id: str,
        dispute_id: str,
        *,
        status: str,
        note: str,
        by: StaffUser,
        now: datetime,
        credit_amount: str | None = None,
    ) -> DisputeView:
        self._known(customer_id)
        self._record(
            "move_dispute",
            customer_id=customer_id,
            dispute_id=dispute_id,
            status=status,
            note=note,
            by=by,
            now=now,
            credit_amount=credit_amount,
        )
        return replace(self.dispute_queue[0], status=status)

    def disputes(self, *, now: datetime, include_closed: bool = False) -> list[DisputeView]:
        self.calls.append(("disputes", {"include_closed": include_closed}))
        return list(self.dispute_queue)

    def pause(self, customer_id: str, *, until: str, reason: str, by: StaffUser, now: datetime) -> date:
        self._known(customer_id)
        self._record("pause", customer_id=customer_id, until=until, reason=reason, by=by, now=now)
        return date.fromisoformat(until)

    def set_hold(self, customer_id: str, *, hold: bool, reason: str, by: StaffUser, now: datetime) -> None:
        self._known(customer_id)
        self._record("set_hold", customer_id=customer_id, hold=hold, reason=reason, by=by, now=now)

    def reassign_tasks(
        self, customer_tasks: Sequence[tuple[str, str]], *, to: str, by: StaffUser, now: datetime
    ) -> int:
        self._record("reassign_tasks", customer_tasks=list(customer_tasks), to=to, by=by, now=now)
        return len(customer_tasks)

    def reassign_account(
        self, customer_id: str, *, to: str, by: StaffUser, now: datetime, until: str = ""
    ) -> Customer:
        account = self._known(customer_id)
        self._record("reassign_account", customer_id=customer_id, to=to, until=until, by=by, now=now)
        return account.customer

    def payment_plans(self, customer_id: str, *, now: datetime) -> list[Any]:
        # The 360 lists the customer's payment plans; the fake's customers have none.
        self._known(customer_id)
        return []

    def reports(self, by: StaffUser, *, now: datetime) -> list[ReportLink]:
        self._record("reports", by=by)
        if not by.is_manager:
            raise NotAllowed("managers only")
        return list(self.report_links)


class FakeDirectory:
    """StaffDirectory: password "pw"; "temp" must choose a new password (at least 8 characters).

    Users in ``mfa`` answer an authenticator code after the password: "nina" has no authenticator yet
    (MFA_SETUP, key "JBSWY3DPEHPK3PXP"), and once set up, or for users added to ``authenticators``, the
    right code is "123456". A challenge session "expired-..." is over."""

    SECRET = "JBSWY3DPEHPK3PXP"
    CODE = "123456"

    def __init__(self) -> None:
        self.new_passwords: list[tuple[NewPasswordRequired, str]] = []
        self.mfa = {"nina"}
        self.authenticators: set[str] = set()
        self.codes: list[tuple[str, str, str]] = []  # (step, challenge session, code)
        self.sessions_issued = 0

    def _session(self, step: str) -> str:
        self.sessions_issued += 1
        return f"{step}-session-{self.sessions_issued}"

    def _mfa_step(self, user: StaffUser) -> StaffUser | MfaSetupRequired | MfaCodeRequired:
        if user.username not in self.mfa:
            return user
        if user.username in self.authenticators:
            return MfaCodeRequired(username=user.username, challenge_session=self._session("mfa"))
        return MfaSetupRequired(username=user.username, challenge_session=self._session("setup"))

    def sign_in(
        self, username: str, password: str
    ) -> StaffUser | NewPasswordRequired | MfaSetupRequired | MfaCodeRequired:
        if password != "pw" or username not in USERS:
            raise SignInFailed("The user name or password is not right.")
        if username == "temp":
            return NewPasswordRequired(username="temp", challenge_session="challenge-session-xyz")
        return self._mfa_step(USERS[username])

    def set_new_password(
        self, challenge: NewPasswordRequired, new_password: str
    ) -> StaffUser | MfaSetupRequired | MfaCodeRequired:
        self.new_passwords.append((challenge, new_password))
        if challenge.challenge_session != "challenge-session-xyz":
            raise SignInFailed("The user name or password is not right.")
        if len(new_password) < 8:
            raise ValueError("Password did not conform with policy: Password not long enough")
        return self._mfa_step(USERS[challenge.username])

    def start_mfa_setup(self, challenge: MfaSetupRequired) -> MfaSetupRequired:
        if challenge.challenge_session.startswith("expired"):
            raise ChallengeExpired("over")
        return MfaSetupRequired(challenge.username, self._session("associated"), secret=self.SECRET)

    def finish_mfa_setup(self, challenge: MfaSetupRequired, code: str) -> StaffUser:
        self.codes.append(("setup", challenge.challenge_session, code))
        if challenge.challenge_session.startswith("expired") or challenge.secret != self.SECRET:
            raise ChallengeExpired("over")
        if code != self.CODE:
            raise WrongCode("That code is not right.")
        self.authenticators.add(challenge.username)
        return USERS[challenge.username]

    def answer_mfa(self, challenge: MfaCodeRequired, code: str) -> StaffUser:
        self.codes.append(("mfa", challenge.challenge_session, code))
        if challenge.challenge_session.startswith("expired"):
            raise ChallengeExpired("over")
        if code != self.CODE:
            raise WrongCode("That code is not right.")
        return USERS[challenge.username]

    def current_user(self, username: str) -> StaffUser | None:
        return USERS.get(username)


class FakeSessions:
    """StaffSessions in a dict; ``now`` is ignored beyond the absolute expiry."""

    def __init__(self) -> None:
        self.sessions: dict[str, StaffSession] = {}
        self.ended: list[str] = []
        self.sign_ins: Counter[tuple[str, datetime]] = Counter()

    def create(self, user: StaffUser, *, now: datetime) -> StaffSession:
        session = StaffSession(
            session_id=secrets.token_urlsafe(32),
            user=user,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=STAFF_SESSION_HOURS),
            csrf_token=secrets.token_urlsafe(32),
        )
        self.sessions[session.session_id] = session
        return session

    def resume(self, session_id: str, *, now: datetime) -> StaffSession | None:
        session = self.sessions.get(session_id)
        if session is None or now >= session.expires_at:
            return None
        return session

    def sign_in_allowed(self, client: str, *, now: datetime) -> bool:
        self.sign_ins[(client, sign_in_window(now))] += 1
        return self.sign_ins[(client, sign_in_window(now))] <= STAFF_SIGN_IN_PER_5MIN

    def end(self, session_id: str) -> None:
        self.ended.append(session_id)
        self.sessions.pop(session_id, None)

    def rechecked(self, session: StaffSession, user: StaffUser, *, now: datetime) -> StaffSession:
        self.sessions[session.session_id] = replace(session, user=user, checked_at=now)
        return self.sessions[session.session_id]
