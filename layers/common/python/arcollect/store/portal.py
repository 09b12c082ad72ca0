"""The portal's storage: sessions, rate-limit counters, disputes, link revocation, contact updates, the
address lookup, and presigned S3 URLs.

Layout (single table):

- a session lives in its customer's partition, ``CUST#<id>`` / ``SESSION#<h>``, where ``h`` is the
  SHA-256 of the session id (the id itself, the cookie value, is never stored); a pointer item
  ``SESSIONID#<h>`` / ``SESSION`` names the customer. Resuming reads the pointer, then the session;
  revoking queries the customer's partition for ``SESSION#`` and deletes those (a pointer left behind
  leads nowhere and expires). Both carry the TTL attribute at the session's absolute expiry.
- a rate-limit counter is ``RATE#<kind>#<h>#<hour>`` / ``RATE`` (``store.rates``).
- the address lookup is ``EMAIL#<lowercase address>`` / ``CUST#<id>`` (one address may serve several
  customers). It is written when a contact is updated through the portal and by ``index_contacts``,
  which ingest calls for the customers it loads (``Accounts.index_contacts``); addresses written any
  other way are not found by "send me a fresh link" (there is no scan fallback).
- a dispute is ``CUST#<id>`` / ``DSP#<dispute id>``.
- link revocation is ``links_valid_from`` on the customer's profile item.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from arcollect.clock import format_instant_ms, parse_instant
from arcollect.entities import Activity, Customer, Dispute, Promise, Task
from arcollect.store import contacts, keys, rates
from arcollect.store.base import condition_failed, connection, transact_if, translated, update_if
from arcollect.store.clients import LazyClient
from arcollect.store.customers import PROFILE_SK, customer_from_item
from arcollect.store.dispute_book import DisputeBook
from arcollect.store.errors import StoreError, StoreUnavailable
from arcollect.store.keys import (
    SESSION_PREFIX,
    dispute_sk,
    email_lookup_pk,
    session_pointer_pk,
    session_sk,
)
from arcollect.store.models import (
    CustomerItem,
    DisputeItem,
    EmailLookupItem,
    PortalSessionItem,
    PortalSessionPointerItem,
    TableItem,
)
from arcollect.store.promise_book import PromiseBook
from arcollect.store.timeline import timeline_items


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


@dataclass(frozen=True)
class StoredSession:
    session_id: str
    customer_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    csrf_token: str


class ContactConflict(StoreError):
    """The profile changed between reading it and writing the new contact details: read again."""


def _contact_actions(customer: Customer) -> list[Any]:
    others: list[Any] = list(customer.other_emails)
    corrected: list[Any] = list(customer.contact_corrected)
    return [
        CustomerItem.email.set(customer.email),
        CustomerItem.other_emails.set(others) if others else CustomerItem.other_emails.remove(),
        CustomerItem.phone.set(customer.phone) if customer.phone else CustomerItem.phone.remove(),
        CustomerItem.language.set(customer.language) if customer.language else CustomerItem.language.remove(),
        CustomerItem.contact_corrected.set(corrected)
        if customer.contact_corrected
        else CustomerItem.contact_corrected.remove(),
        CustomerItem.fingerprint.set(customer.fingerprint),
    ]


class PortalStore:
    """Everything the portal reads and writes in the table beyond the shared repositories; disputes
    and promises are the ``dispute_book`` and ``promise_book`` it holds (shared with the workspace)."""

    def __init__(
        self, dispute_book: DisputeBook | None = None, promise_book: PromiseBook | None = None
    ) -> None:
        self.dispute_book = dispute_book or DisputeBook()
        self.promise_book = promise_book or PromiseBook()

    # --- sessions ---------------------------------------------------------------------------------

    @translated
    def create_session(self, session: StoredSession) -> None:
        pk = keys.customer_pk(session.customer_id)
        ttl = _epoch(session.expires_at)
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(
                PortalSessionItem(
                    pk,
                    session_sk(session.session_id),
                    customer_id=session.customer_id,
                    created_at=session.created_at,
                    last_seen_at=session.last_seen_at,
                    absolute_expiry=session.expires_at,
                    csrf_token=session.csrf_token,
                    expires_at=ttl,
                ),
                condition=TableItem.pk.does_not_exist(),
            )
            transaction.save(
                PortalSessionPointerItem(
                    session_pointer_pk(session.session_id),
                    "SESSION",
                    customer_id=session.customer_id,
                    expires_at=ttl,
                ),
                condition=TableItem.pk.does_not_exist(),
            )

    @translated
    def session(self, session_id: str) -> StoredSession | None:
        try:
            pointer = PortalSessionPointerItem.get(
                session_pointer_pk(session_id), "SESSION", consistent_read=True
            )
            item = PortalSessionItem.get(
                keys.customer_pk(pointer.customer_id), session_sk(session_id), consistent_read=True
            )
        except (PortalSessionPointerItem.DoesNotExist, PortalSessionItem.DoesNotExist):
            return None
        return StoredSession(
            session_id=session_id,
            customer_id=item.customer_id,
            created_at=item.created_at,
            last_seen_at=item.last_seen_at,
            expires_at=item.absolute_expiry,
            csrf_token=item.csrf_token,
        )

    @translated
    def touch_session(self, session: StoredSession, at: datetime) -> bool:
        """Move last-seen to ``at``; False when the session is gone (ended or revoked meanwhile)."""
        item = PortalSessionItem(keys.customer_pk(session.customer_id), session_sk(session.session_id))
        return update_if(item, [PortalSessionItem.last_seen_at.set(at)], TableItem.pk.exists())

    @translated
    def delete_session(self, session_id: str) -> None:
        try:
            pointer = PortalSessionPointerItem.get(session_pointer_pk(session_id), "SESSION")
        except PortalSessionPointerItem.DoesNotExist:
            return
        PortalSessionItem(keys.customer_pk(pointer.customer_id), session_sk(session_id)).delete()
        pointer.delete()

    @translated
    def delete_customer_sessions(self, customer_id: str) -> int:
        """End every session of the customer (the pointers lead nowhere afterwards and expire)."""
        items = list(
            PortalSessionItem.query(
                keys.customer_pk(customer_id), PortalSessionItem.sk.startswith(SESSION_PREFIX)
            )
        )
        with TableItem.batch_write() as batch:
            for item in items:
                batch.delete(item)
        return len(items)

    # --- links -------------------------------------------------------------------------------------

    @translated
    def customer_and_links_valid_from(self, customer_id: str) -> tuple[Customer, datetime | None] | None:
        try:
            item = CustomerItem.get(keys.customer_pk(customer_id), PROFILE_SK, consistent_read=True)
        except CustomerItem.DoesNotExist:
            return None
        valid_from = parse_instant(item.links_valid_from) if item.links_valid_from else None
        return customer_from_item(item), valid_from

    @translated
    def revoke_links(self, customer_id: str, at: datetime, activity: Activity) -> bool:
        """Set ``links_valid_from`` (with its timeline entry); False for an unknown customer."""

        def write(transaction: TransactWrite) -> None:
            transaction.update(
                CustomerItem(keys.customer_pk(customer_id), PROFILE_SK),
                actions=[CustomerItem.links_valid_from.set(format_instant_ms(at))],
                condition=TableItem.pk.exists(),
            )
            for item in timeline_items(keys.customer_pk(customer_id), activity):
                transaction.save(item)

        return transact_if(write)

    # --- rate limits -------------------------------------------------------------------------------

    @translated
    def count(self, kind: str, key: str, window_start: datetime, window: timedelta) -> int:
        """Count one request of ``kind`` by ``key`` in the window starting at ``window_start``."""
        return rates.count(kind, key, window_start, window)

    # --- the address lookup ------------------------------------------------------------------------

    @translated
    def customers_by_email(self, address: str, limit: int = 10) -> list[str]:
        items = EmailLookupItem.query(email_lookup_pk(address), limit=limit)
        return [item.customer_id for item in items]

    def index_contacts(self, customers: Iterable[Customer]) -> int:
        """Write the lookup items of every address of ``customers`` (``store.contacts``)."""
        return contacts.index_contacts(customers)

    # --- contact details ---------------------------------------------------------------------------

    @translated
    def customer(self, customer_id: str) -> Customer | None:
        found = self.customer_and_links_valid_from(customer_id)
        return found[0] if found else None

    @translated
    def update_contact(self, before: Customer, after: Customer, activity: Activity) -> None:
        """Write the new contact details and fingerprint, move the address lookups, add the timeline
        entry: one transaction, conditional on the profile being the one read (ContactConflict)."""
        pk = keys.customer_pk(after.customer_id)
        old, new = contacts.addresses(before), contacts.addresses(after)
        condition = CustomerItem.fingerprint == before.fingerprint
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    CustomerItem(pk, PROFILE_SK),
                    actions=_contact_actions(after),
                    condition=condition | CustomerItem.fingerprint.does_not_exist(),
                )
                for address in sorted(old - new):
                    transaction.delete(EmailLookupItem(email_lookup_pk(address), pk))
                for address in sorted(new):
                    transaction.save(contacts.lookup_item(address, after.customer_id))
                for item in timeline_items(pk, activity):
                    transaction.save(item)
        except TransactWriteError as error:
            if condition_failed(error):
                raise ContactConflict(after.customer_id) from error
            raise

    # --- disputes and promises ---------------------------------------------------------------------

    def open_dispute(self, dispute: Dispute, task: Task, activity: Activity) -> bool:
        """The dispute, the invoice disputed, the collector's task and the timeline entry, at once
        (``DisputeBook.open_dispute``); False when the invoice is no longer open and undisputed."""
        return self.dispute_book.open_dispute(dispute, task, activity)

    def dispute(self, customer_id: str, dispute_id: str) -> Dispute | None:
        """The customer's dispute (another customer's dispute id finds nothing)."""
        return self.dispute_book.dispute(customer_id, dispute_id)

    @translated
    def link_attachment(
        self, dispute: Dispute, key: str, content_type: str, size: int, activity: Activity
    ) -> bool:
        """Link the checked file at ``key`` to ``dispute`` and end its pending upload, with the timeline
        entry, in one transaction; False when the dispute is not this customer's, already has an
        attachment, or no longer waits for this upload."""
        return self._settle_upload(
            dispute,
            [
                DisputeItem.attachment_key.set(key),
                DisputeItem.attachment_type.set(content_type),
                DisputeItem.attachment_size.set(size),
            ],
            activity,
        )

    @translated
    def refuse_upload(self, dispute: Dispute, activity: Activity) -> bool:
        """End the dispute's pending upload without an attachment (the file failed its check), with the
        timeline entry saying why; False when it no longer waits for this upload."""
        return self._settle_upload(dispute, [], activity)

    def _settle_upload(self, dispute: Dispute, actions: list[Any], activity: Activity) -> bool:
        pk = keys.customer_pk(dispute.customer_id)
        condition = (
            (DisputeItem.customer_id == dispute.customer_id)
            & DisputeItem.attachment_key.does_not_exist()
            & (DisputeItem.upload_key == (dispute.upload_key or ""))
        )

        def write(transaction: TransactWrite) -> None:
            transaction.update(
                DisputeItem(pk, dispute_sk(dispute.dispute_id)),
                actions=[
                    *actions,
                    DisputeItem.upload_key.remove(),
                    DisputeItem.upload_type.remove(),
                    DisputeItem.upload_size.remove(),
                ],
                condition=condition,
            )
            for item in timeline_items(pk, activity):
                transaction.save(item)

        return transact_if(write)

    def mark_notified(self, customer_id: str, dispute_id: str, at: datetime) -> None:
        self.dispute_book.mark_notified(customer_id, dispute_id, at)

    def disputes(self, customer_id: str) -> list[Dispute]:
        return self.dispute_book.disputes(customer_id)

    def promises(self, customer_id: str) -> list[Promise]:
        return self.promise_book.promises(customer_id)


def index_contacts(customers: Iterable[Customer]) -> int:
    """Make ``customers``' AP addresses findable by "send me a fresh link" (for ingest to call after
    loading customers; idempotent). Returns how many lookup items were written."""
    return PortalStore().index_contacts(customers)


class PortalObjects:
    """Presigned URLs for the portal's documents and attachments, and the staff console's reports."""

    def __init__(self, client: Any | None = None) -> None:
        # Signature Version 4: S3 takes SigV2 presigned requests from old buckets only, and a browser's
        # POST must carry the x-amz-* policy fields.
        self._s3 = client if client is not None else LazyClient("s3", config=Config(signature_version="s3v4"))

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise StoreError(f"checking s3://{bucket}/{key}: {code or error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"checking s3://{bucket}/{key}: {error}") from error
        return True

    def presigned_get(self, bucket: str, key: str, *, expires: timedelta, filename: str) -> str:
        return str(
            self._s3.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": bucket,
                    "Key": key,
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                },
                ExpiresIn=int(expires.total_seconds()),
            )
        )

    def list_keys(self, bucket: str, prefix: str, limit: int = 1000) -> list[tuple[str, int, datetime]]:
        """(key, size, last modified) of the objects under ``prefix`` (the reports managers download)."""
        found: list[tuple[str, int, datetime]] = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    found.append((str(entry["Key"]), int(entry["Size"]), entry["LastModified"]))
                    if len(found) >= limit:
                        return found
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            raise StoreError(f"listing s3://{bucket}/{prefix}: {code or error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"listing s3://{bucket}/{prefix}: {error}") from error
        return found

    def presigned_post(
        self, bucket: str, key: str, *, content_type: str, max_bytes: int, expires: timedelta
    ) -> tuple[str, dict[str, str]]:
        """The URL and form fields of a browser upload (a multipart POST, the file last) S3 accepts only
        to exactly ``key``, with exactly ``content_type``, of 1 to ``max_bytes`` bytes, before
        ``expires`` is over: S3 refuses anything else (EntityTooLarge, AccessDenied)."""
        post = self._s3.generate_presigned_post(
            Bucket=bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=int(expires.total_seconds()),
        )
        return str(post["url"]), {str(name): str(value) for name, value in post["fields"].items()}

    def stat(self, bucket: str, key: str) -> tuple[int, str | None] | None:
        """(size, version id) of the object at ``key``, or None when there is none."""
        try:
            head = self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise StoreError(f"checking s3://{bucket}/{key}: {code or error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"checking s3://{bucket}/{key}: {error}") from error
        version = head.get("VersionId")
        return int(head["ContentLength"]), str(version) if version and version != "null" else None

    def read(self, bucket: str, key: str, *, version: str | None = None, first: int | None = None) -> bytes:
        """The object's bytes (its ``first`` bytes only, when given)."""
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            params["VersionId"] = version
        if first is not None:
            params["Range"] = f"bytes=0-{first - 1}"
        try:
            return bytes(self._s3.get_object(**params)["Body"].read())
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            raise StoreError(f"reading s3://{bucket}/{key}: {code or error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"reading s3://{bucket}/{key}: {error}") from error

    def move(self, bucket: str, source: str, target: str, *, version: str | None = None) -> None:
        """Copy ``source`` (that version) to ``target``, then delete the source for good."""
        copy_source: dict[str, str] = {"Bucket": bucket, "Key": source}
        if version:
            copy_source["VersionId"] = version
        try:
            self._s3.copy_object(Bucket=bucket, Key=target, CopySource=copy_source)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            raise StoreError(f"copying s3://{bucket}/{source}: {code or error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"copying s3://{bucket}/{source}: {error}") from error
        self.delete(bucket, source, version=version)

    def delete(self, bucket: str, key: str, *, version: str | None = None) -> None:
        """Delete the object; with ``version``, that version for good (no delete marker left over a
        refused upload in a versioned bucket)."""
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            params["VersionId"] = version
        try:
            self._s3.delete_object(**params)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            raise StoreError(f"deleting s3://{bucket}/{key}: {code or error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"deleting s3://{bucket}/{key}: {error}") from error
