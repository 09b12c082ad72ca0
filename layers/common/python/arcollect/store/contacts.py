"""The address lookup: ``EMAIL#<lowercase address>`` / ``CUST#<id>``, one item per address of a
customer, so "send me a fresh link" finds the customers an address serves. Written by
``index_contacts`` (ingest calls it for the customers a load writes: ``Accounts.index_contacts``) and
moved by the portal's contact update."""

from __future__ import annotations

from collections.abc import Iterable

from arcollect.entities import Customer
from arcollect.store import keys
from arcollect.store.base import translated
from arcollect.store.keys import email_lookup_pk
from arcollect.store.models import EmailLookupItem, TableItem


def addresses(customer: Customer) -> set[str]:
    return {a.strip().lower() for a in (customer.email, *customer.other_emails) if a and a.strip()}


def lookup_item(address: str, customer_id: str) -> EmailLookupItem:
    return EmailLookupItem(
        email_lookup_pk(address), keys.customer_pk(customer_id), customer_id=customer_id, address=address
    )


@translated
def index_contacts(customers: Iterable[Customer]) -> int:
    """Write the lookup items of every address of ``customers`` (idempotent); how many written.
    Addresses a customer no longer has are removed only by ``update_contact``."""
    written = 0
    with TableItem.batch_write() as batch:
        for customer in customers:
            for address in sorted(addresses(customer)):
                batch.save(lookup_item(address, customer.customer_id))
                written += 1
    return written
