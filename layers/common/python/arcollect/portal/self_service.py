"""What the customer self-service portal can do, behind the HTML pages and the JSON API alike: open a
session from a link, read the account, download a statement, promise to pay, dispute an invoice (with
an attachment), update the AP contact details.

Every entry point takes the customer id from the caller's session (never from the request), the time
from the request, and returns plain values (``portal.views``); every change lands in the customer's
timeline and changes dunning at once (a promise pauses its invoices, a dispute takes its invoice out of
dunning and gives a collector a task). Bad input raises ``PortalInputError`` naming the field and what
is wrong (``portal.inputs``). Links and sessions come from ``portal.access``; a dispute's attachment
is checked and linked by ``portal.attachments``.

``Portal`` is the contract with the web layer (arcollect/portal/web/): names and signatures are fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arcollect import changes
from arcollect.calendar import Calendar, local_today
from arcollect.cells import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from arcollect.changes import ChangeFeed
from arcollect.contract import document_key
from arcollect.entities import Activity, Customer, Invoice
from arcollect.interest import Charges, invoice_charges
from arcollect.mailing import Mailer
from arcollect.money import plain
from arcollect.plans import PaymentPlan, PlanLimits, RequestedInstalment, Standing, limits_of
from arcollect.portal import plans as payment_plans
from arcollect.portal.access import Access, NotFound, Session
from arcollect.portal.account import open_items
from arcollect.portal.attachments import Attachments, pending_key
from arcollect.portal.inputs import (
    PortalInputError,
    parse_contact,
    parse_dispute_request,
    parse_statement_format,
)
from arcollect.portal.link_email import CONTACT_NOTICE_KIND, render_contact_notice
from arcollect.portal.links import DEFAULT_LINK_DAYS
from arcollect.portal.statements import statement_csv, statement_filename, statement_xlsx
from arcollect.portal.timeline import (
    KIND_CONTACT,
    KIND_CONTACT_NOTICE,
    KIND_LINKS_REVOKED,
    KIND_PROMISE,
    Outbox,
    new_id,
)
from arcollect.portal.views import (
    AccountView,
    AttachmentReceipt,
    DisputeReceipt,
    InvoiceDetail,
    InvoiceFilter,
    InvoiceSort,
    Message,
    PayLinks,
    PromiseReceipt,
    Statement,
    account_view,
    dispute_lines,
    emails_sent,
    invoice_view,
    promise_lines,
)
from arcollect.promises import checked_promise, promise_to_pay
from arcollect.store.errors import StoreError
from arcollect.store.portal import ContactConflict, PortalObjects, PortalStore
from arcollect.store.repositories import Activities, Customers, Invoices

if TYPE_CHECKING:
    from arcollect.policy import PolicySet
    from arcollect.store.dunning import DunningStore

DOCUMENT_URL_LIFETIME = timedelta(minutes=5)


class Portal:
    """The portal's services. Constructed once per process by the handler with its dependencies."""

    def __init__(
        self,
        *,
        link_key: Callable[[], bytes],
        policies: Callable[[], PolicySet],
        mailer: Mailer,
        sender: str,
        portal_base_url: str,
        drop_bucket: str,
        payment_url_template: str | None = None,
        link_days: int = DEFAULT_LINK_DAYS,
        s3_client: Any | None = None,
        calendar: Calendar | None = None,
        store: PortalStore | None = None,
        dunning: DunningStore | None = None,
        change_feed: ChangeFeed | None = None,
        previous_link_keys: Callable[[datetime], Sequence[bytes]] = lambda now: (),
    ) -> None:
        self._pay_links = PayLinks(payment_url_template)
        self._policies = policies
        self._mailer = mailer
        self._sender = sender
        self._bucket = drop_bucket
        self._objects = PortalObjects(s3_client)
        self._calendar = calendar or Calendar()
        self._store = store or PortalStore()
        self._attachments = Attachments(objects=self._objects, bucket=drop_bucket, store=self._store)
        # The sweep's store is loaded by the first promise, not by every cold start.
        self._dunning_store = dunning
        self._customers = Customers()
        self._invoices = Invoices()
        self._activities = Activities()
        self._outbox = Outbox(mailer=mailer, sender=sender, activities=self._activities)
        self._access = Access(
            link_key=link_key,
            previous_link_keys=previous_link_keys,
            policies=policies,
            outbox=self._outbox,
            portal_base_url=portal_base_url,
            link_days=link_days,
            store=self._store,
            activities=self._activities,
        )
        # Writes each decision's change for the ERP (disputes, promises, contact details) once committed.
        self._change_feed = change_feed

    # --- access (portal.access) ------------------------------------------------------------------

    def check_link(self, token: str, *, now: datetime) -> None:
        """Whether a link would open a session, without opening one (see ``Access.check_link``)."""
        self._access.check_link(token, now=now)

    def open_link(self, token: str, *, now: datetime) -> Session:
        """A new session for a link from an email (see ``Access.open_link``)."""
        return self._access.open_link(token, now=now)

    def resume(self, session_id: str, *, now: datetime) -> Session | None:
        """The live session, or None (see ``Access.resume``)."""
        return self._access.resume(session_id, now=now)

    def end(self, session_id: str) -> None:
        self._access.end(session_id)

    def request_link(self, email: str, *, now: datetime, client: str) -> None:
        """Email a fresh link to a customer's AP address on file (see ``Access.request_link``)."""
        self._access.request_link(email, now=now, client=client)

    def revoke_links(self, customer_id: str, *, now: datetime) -> None:
        """Every link issued before ``now`` for this customer stops working, and its sessions end."""
        self._access.revoke_links(customer_id, now=now)

    # --- reading the account ---------------------------------------------------------------------

    def _customer(self, customer_id: str) -> Customer:
        customer = self._customers.get(customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id}")
        return customer

    def account(
        self,
        customer_id: str,
        *,
        today: date,
        sort: InvoiceSort = InvoiceSort.DUE_DATE,
        descending: bool = False,
        show: InvoiceFilter = InvoiceFilter.ALL,
    ) -> AccountView:
        customer = self._customer(customer_id)
        documents = self._invoices.for_customer(customer_id)
        items = open_items(documents)
        late_charges, added = self._late_charges(customer, documents, today)
        return account_view(
            customer,
            items,
            today=today,
            pay_links=self._pay_links,
            sort=sort,
            descending=descending,
            show=show,
            late_charges=late_charges,
            charges_added=added,
        )

    def _invoice_charges(self, invoice: Invoice, today: date) -> tuple[Charges | None, bool]:
        """One invoice's late charges to date (nothing read for one that is not late): its customer's
        policy, the customer's payments and the credit note the invoice names."""
        if not invoice.is_open or invoice.is_credit_note or invoice.due_date >= today:
            return None, False
        customer = self._customers.get(invoice.customer_id)
        config = self._policies().late_charges_for(customer, today)
        if config is None:
            return None, False
        payments = self._store.promise_book.payments(invoice.customer_id)
        note = self._invoices.get(invoice.customer_id, invoice.credit_match) if invoice.credit_match else None
        found = invoice_charges(config, invoice, today, payments, [note] if note else [])
        return found, config.add_to_open_amount

    def _late_charges(
        self, customer: Customer, documents: list[Invoice], today: date
    ) -> tuple[dict[str, Charges], bool]:
        """The statutory late-payment charges to date of the customer's overdue invoices, by number,
        and whether the policy adds them to the open amount; nothing read when the policy charges none."""
        config = self._policies().late_charges_for(customer, today)
        if config is None:
            return {}, False
        late = [i for i in documents if i.is_open and not i.is_credit_note and i.due_date < today]
        if not late:
            return {}, config.add_to_open_amount
        payments = self._store.promise_book.payments(customer.customer_id)
        found = {
            invoice.invoice_number: invoice_charges(config, invoice, today, payments, documents)
            for invoice in late
        }
        return {number: c for number, c in found.items() if c is not None}, config.add_to_open_amount

    def _own_invoice(self, customer_id: str, invoice_number: str) -> Invoice:
        number = (invoice_number or "").strip()
        invoice = self._invoices.get(customer_id, number) if number else None
        if invoice is None or invoice.customer_id != customer_id:
            raise NotFound(f"no invoice {number} on this account")
        return invoice

    def invoice(self, customer_id: str, invoice_number: str, *, today: date) -> InvoiceDetail:
        """Raises NotFound for an invoice that is not this customer's."""
        invoice = self._own_invoice(customer_id, invoice_number)
        key = document_key(invoice.customer_id, invoice.invoice_number, invoice.company_code)
        document_url = (
            self._objects.presigned_get(
                self._bucket,
                key,
                expires=DOCUMENT_URL_LIFETIME,
                filename=statement_filename(invoice.invoice_number, invoice.invoice_date, "pdf"),
            )
            if self._objects.exists(self._bucket, key)
            else None
        )
        charges, added = self._invoice_charges(invoice, today)
        return InvoiceDetail(
            view=invoice_view(invoice, today, self._pay_links, charges),
            charges_added=added,
            document_url=document_url,
            promises=promise_lines(self._store.promises(customer_id), invoice.invoice_number),
            disputes=dispute_lines(self._store.disputes(customer_id), invoice.invoice_number),
        )

    def _dunning(self) -> DunningStore:
        if self._dunning_store is None:
            from arcollect.store.dunning import DunningStore

            self._dunning_store = DunningStore()
        return self._dunning_store

    def statement(self, customer_id: str, *, today: date, fmt: str) -> Statement:
        """``fmt`` is "csv" or "xlsx"; cells starting with = + - @ are neutralised."""
        kind = parse_statement_format(fmt)
        customer = self._customer(customer_id)
        documents = self._invoices.for_customer(customer_id)
        items = open_items(documents)
        charges, added = self._late_charges(customer, documents, today)
        if kind == "csv":
            body, content_type = statement_csv(customer, items, today, charges, added), CSV_CONTENT_TYPE
        else:
            body, content_type = statement_xlsx(customer, items, today, charges, added), XLSX_CONTENT_TYPE
        return Statement(
            body=body, content_type=content_type, filename=statement_filename(customer_id, today, kind)
        )

    def pay_url(self, customer_id: str, invoice_number: str) -> str:
        """Where to pay one invoice. NotFound, or PortalInputError when there is nowhere to pay online."""
        invoice = self._own_invoice(customer_id, invoice_number)
        if not invoice.is_open:
            raise PortalInputError("invoice_number", f"invoice {invoice.invoice_number} is already settled")
        url = self._pay_links.for_invoice(invoice)
        if url is None:
            raise PortalInputError(
                "invoice_number",
                f"invoice {invoice.invoice_number} cannot be paid online: see the bank details on it",
            )
        return url

    def messages(self, customer_id: str) -> list[Message]:
        return emails_sent(self._activities.timeline(customer_id))

    # --- changes ---------------------------------------------------------------------------------

    def _today(self, customer: Customer, now: datetime) -> date:
        return local_today(customer.time_zone, now, self._policies().settings.time_zone)

    def promise(
        self,
        customer_id: str,
        *,
        invoice_numbers: list[str],
        amount: str,
        promised_until: str,
        now: datetime,
    ) -> PromiseReceipt:
        customer = self._customer(customer_id)
        policies = self._policies()
        promise = checked_promise(
            customer_id,
            invoice_numbers=invoice_numbers,
            lookup=lambda number: self._invoices.get(customer_id, number),
            amount=amount,
            promised_until=promised_until,
            today=self._today(customer, now),
            policies=policies,
            promise_id=f"portal-{new_id()}",
            now=now,
            source="portal",
        )
        numbers, value, currency, until = (
            list(promise.invoice_numbers),
            promise.amount or Decimal(0),
            promise.currency or "",
            promise.promised_until,
        )
        next_at = promise_to_pay(
            promise, policies=policies, calendar=self._calendar, zone_name=customer.time_zone
        )
        activity = Activity(
            customer_id=customer_id,
            at=now,
            activity_id=new_id(),
            kind=KIND_PROMISE,
            summary=(
                f"Customer promised to pay {plain(value, currency)} {currency} by {until.isoformat()} "
                f"for {', '.join(numbers)} (portal)"
            ),
            detail={
                "promise_id": promise.promise_id,
                "amount": plain(value, currency),
                "currency": currency,
                "promised_until": until.isoformat(),
                "invoices": ", ".join(numbers),
                "source": "portal",
            },
            changes=(changes.promise_made(promise),),
        )
        # One transaction: the promise, its invoices paused, its timeline entry and its change.
        if not self._dunning().make_promise(promise, next_at, activity):
            raise StoreError(f"promise {promise.promise_id} exists already")
        changes.publish(self._change_feed, activity.changes)
        return PromiseReceipt(
            promise_id=promise.promise_id,
            invoice_numbers=tuple(numbers),
            promised_until=until,
            amount=value,
            currency=currency,
        )

    def payment_plan(
        self,
        customer_id: str,
        *,
        invoice_numbers: Sequence[str],
        instalments: Sequence[RequestedInstalment] | None = None,
        count: str | int | None = None,
        first_due: str | None = None,
        every_days: str | int | None = None,
        now: datetime,
    ) -> PaymentPlan:
        """A payment plan the customer agrees within the policy's limits (``portal/plans.py``)."""
        customer = self._customer(customer_id)
        return payment_plans.agree(
            customer,
            lookup=lambda number: self._invoices.get(customer_id, number),
            policies=self._policies(),
            calendar=self._calendar,
            change_feed=self._change_feed,
            invoice_numbers=invoice_numbers,
            instalments=instalments,
            count=count,
            first_due=first_due,
            every_days=every_days,
            today=self._today(customer, now),
            now=now,
        )

    def payment_plans(self, customer_id: str, *, now: datetime) -> list[tuple[PaymentPlan, Standing]]:
        """The customer's payment plans, newest first, with their instalments as paid today."""
        customer = self._customer(customer_id)
        return payment_plans.standings(
            customer_id,
            lookup=lambda number: self._invoices.get(customer_id, number),
            today=self._today(customer, now),
            grace_days=self._policies().settings.promise_grace_days,
        )

    def plan_limits(self) -> PlanLimits:
        """What a customer may agree online (the policy's ``settings.payment_plans``)."""
        return limits_of(self._policies())

    def dispute(
        self,
        customer_id: str,
        *,
        invoice_number: str,
        reason: str,
        comment: str,
        attachment: tuple[str, str, int] | None,
        now: datetime,
    ) -> DisputeReceipt:
        """``attachment`` is (file name, content type, size in bytes) of a file to upload next."""
        request = parse_dispute_request(reason=reason, comment=comment, attachment=attachment)
        upload = request.attachment
        wanted = (invoice_number or "").strip()
        if not wanted:
            raise PortalInputError("invoice_number", "choose the invoice you dispute")
        try:
            invoice = self._own_invoice(customer_id, wanted)
        except NotFound as error:
            # A field of the form, answered as a promise of the same number is (checked_promise), not as
            # a missing page; another customer's invoice reads the same as one that does not exist.
            raise PortalInputError("invoice_number", f"invoice {wanted} is not on your account") from error
        number = invoice.invoice_number
        # The dispute workflow (routing, SLAs, the department's notice) loads with the first dispute.
        from arcollect.disputes import new_dispute, notify_department, why_not_disputable

        why_not = why_not_disputable(invoice)
        if why_not:
            raise PortalInputError("invoice_number", f"invoice {number} {why_not}")
        customer = self._customer(customer_id)
        dispute_id = new_id()
        # The file goes to a pending key first: the dispute names it an attachment only once checked.
        pending = pending_key(customer_id, dispute_id, upload[0]) if upload else None
        policies = self._policies()
        dispute, task, activity = new_dispute(
            customer,
            invoice,
            reason=request.reason.value,
            comment=request.comment,
            dispute_id=dispute_id,
            now=now,
            policies=policies,
            opened_by="portal",
        )
        if upload and pending:
            dispute = replace(dispute, upload_key=pending, upload_type=upload[1], upload_size=upload[2])
        if not self._store.open_dispute(dispute, task, activity):
            raise PortalInputError(
                "invoice_number", f"invoice {number} changed meanwhile: reload and try again"
            )
        changes.publish(self._change_feed, activity.changes)
        notify_department(
            dispute,
            customer,
            invoice,
            policies=policies,
            mailer=self._mailer,
            sender=self._sender,
            store=self._store,
        )
        upload_url = None
        fields: dict[str, str] = {}
        if upload and pending:
            upload_url, fields = self._attachments.upload_form(
                pending, content_type=upload[1], size=upload[2]
            )
        return DisputeReceipt(
            dispute_id=dispute_id, invoice_number=number, upload_url=upload_url, upload_fields=fields
        )

    def confirm_attachment(self, customer_id: str, dispute_id: str, *, now: datetime) -> AttachmentReceipt:
        """Check the file uploaded for the customer's dispute and link it (``Attachments.confirm``):
        PortalInputError on "attachment" for a file that fails; another customer's dispute is NotFound."""
        return self._attachments.confirm(customer_id, dispute_id, now=now)

    def update_contact(
        self,
        customer_id: str,
        *,
        email: str,
        other_emails: str | None,
        phone: str | None,
        language: str | None,
        now: datetime,
    ) -> Customer:
        """None for ``other_emails``, ``phone`` or ``language`` leaves it as it is; so do the phone and
        language on file sent back, and the language they are shown as (``parse_contact``)."""
        for _ in range(3):
            before = self._store.customer(customer_id)
            if before is None:
                raise NotFound(f"no customer {customer_id}")
            # Read against the profile each attempt: what "unchanged" means is what is on file now.
            wanted = parse_contact(
                email=email, other_emails=other_emails, phone=phone, language=language, current=before
            )
            after = replace(
                before,
                email=wanted.email,
                other_emails=wanted.other_emails,
                phone=wanted.phone,
                language=wanted.language,
            )
            changed = {
                name: f"{_shown(old)} -> {_shown(new)}"
                for name, old, new in (
                    ("email", before.email, after.email),
                    ("other_emails", ", ".join(before.other_emails), ", ".join(after.other_emails)),
                    ("phone", before.phone, after.phone),
                    ("language", before.language, after.language),
                )
                if (old or "") != (new or "")
            }
            if not changed:
                return before
            # A decision of the customer's: the next customer master keeps it until it shows it.
            after = replace(after, contact_corrected=tuple(sorted({*before.contact_corrected, *changed})))
            activity_id = new_id()
            activity = Activity(
                customer_id=customer_id,
                at=now,
                activity_id=activity_id,
                kind=KIND_CONTACT,
                summary="Customer updated contact details in the portal: "
                + "; ".join(f"{name}: {change}" for name, change in changed.items()),
                detail=changed,
                changes=(changes.contact_changed(after, changed=changed, activity_id=activity_id, at=now),),
            )
            try:
                self._store.update_contact(before, after, activity)
            except ContactConflict:
                continue
            changes.publish(self._change_feed, activity.changes)
            if "email" in changed or "other_emails" in changed:
                self._addresses_replaced(before, after, changed, now)
            return after
        raise StoreError(f"the profile of {customer_id} keeps changing; try again")

    def _addresses_replaced(
        self, before: Customer, after: Customer, changed: dict[str, str], now: datetime
    ) -> None:
        """Whoever holds a portal link can change the AP address, and fresh links then go to the new
        one: so the links sent before stop working (the session making the change goes on), and each
        address that was replaced is told, without a link."""
        revoked = Activity(
            customer_id=after.customer_id,
            at=now,
            activity_id=new_id(),
            kind=KIND_LINKS_REVOKED,
            summary="Portal links sent before the address change stop working (new ones go to the new "
            "address)",
        )
        self._store.revoke_links(after.customer_id, now, revoked)
        change = "; ".join(
            f"{name}: {value}" for name, value in changed.items() if name in {"email", "other_emails"}
        )
        for address in _replaced_addresses(before, after):
            touch_id = f"contact-notice-{new_id()}"
            message = render_contact_notice(
                after,
                to=address,
                change=change,
                sender=self._sender,
                sender_name=self._policies().settings.sender_name,
                now=now,
                touch_id=touch_id,
            )
            self._outbox.send(
                after,
                address,
                message,
                kind=CONTACT_NOTICE_KIND,
                touch_id=touch_id,
                now=now,
                sent=(KIND_CONTACT_NOTICE, f"The replaced address {address} was told of the change"),
                refused=(
                    KIND_CONTACT_NOTICE,
                    f"The notice of the address change to {address} was refused by the mail service",
                ),
            )


def _replaced_addresses(before: Customer, after: Customer) -> list[str]:
    """The AP addresses ``before`` had that ``after`` no longer has (as written before)."""
    kept = {a.lower() for a in (after.email, *after.other_emails) if a}
    suppressed = {a.lower() for a in before.suppressed_emails}
    found: dict[str, str] = {}
    for address in (before.email, *before.other_emails):
        if address and address.lower() not in kept | suppressed:
            found.setdefault(address.lower(), address)
    return list(found.values())


def _shown(value: str | None) -> str:
    return value if value else "(none)"
