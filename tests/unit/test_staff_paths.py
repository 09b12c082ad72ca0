"""A customer id with ``/``, blanks and accents in the staff console's URLs: the console links the 360
view by the id as one percent-encoded segment, and its routes read the segment back decoded."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from tests.unit.test_staff_web import StaffClient, client, collector, directory, sessions, workspace
from tests.unit.workspace_fake import FakeWorkspace, account_360

# The fixtures, shared with test_staff_web.
__all__ = ["client", "collector", "directory", "sessions", "workspace"]


def test_the_staff_console_reads_a_customer_id_segment_decoded(
    collector: StaffClient, workspace: FakeWorkspace
) -> None:
    account = account_360()
    odd = "Müller/Søn GmbH"
    workspace.accounts[odd] = replace(account, customer=replace(account.customer, customer_id=odd))
    page = collector.get(f"/staff/customers/{quote(odd, safe='')}")
    assert page.status == 200
    assert f'Customer <span class="id">{odd}</span>' in page.text
    assert f'action="/staff/customers/{quote(odd, safe="")}/notes"' in page.text
