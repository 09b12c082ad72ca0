"""Dispute attachments: a presigned POST bounded to the declared size and type, which S3 (and the local
emulator, as strict) enforces; the portal checks the upload by its content before linking it, deletes
what fails and says why; only the session's own customer's dispute can be confirmed."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
import requests

from arcollect.portal.links import sign_token
from arcollect.store.portal import PortalObjects, PortalStore
from arcollect.store.repositories import Activities
from arcollect_cli.local.emulator import enforce_s3_post_rules
from tests.integration.dunning_world import World
from tests.integration.test_portal_handler import LINK_KEY, headers_of, open_link, request, request_time

DROP = os.environ["DROP_BUCKET"]
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


@pytest.fixture
def strict_s3(aws: None) -> Iterator[None]:
    """moto's S3 checks presigned POSTs as S3 does (the tests' credentials are testing/testing)."""
    undo = enforce_s3_post_rules({os.environ["AWS_ACCESS_KEY_ID"]: os.environ["AWS_SECRET_ACCESS_KEY"]})
    try:
        yield
    finally:
        undo()


class Customer:
    """A customer signed in to the portal through the real handler."""

    def __init__(self, customer_id: str) -> None:
        token = sign_token(customer_id, key=LINK_KEY, now=request_time() - timedelta(days=1))
        opened = open_link(token)
        self.customer_id = customer_id
        self.session = headers_of(opened)["Set-Cookie"][0].split(";", 1)[0].split("=", 1)[1]
        account = request("GET", "/api/v1/account", cookie=self.session)
        self.csrf = json.loads(str(account["body"]))["csrf_token"]

    def api(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        headers = {"X-CSRF-Token": self.csrf, "Content-Type": "application/json"}
        response = request(
            "POST", f"/api/v1/{path}", cookie=self.session, headers=headers, body=json.dumps(body or {})
        )
        return int(response["statusCode"]), json.loads(str(response["body"]))

    def dispute(self, invoice: str, name: str, content_type: str, size: int) -> dict[str, Any]:
        status, receipt = self.api(
            "disputes",
            {
                "invoice_number": invoice,
                "reason": "damaged_or_defective",
                "comment": "broken on arrival",
                "attachment": {"file_name": name, "content_type": content_type, "size": size},
            },
        )
        assert status == 201, receipt
        return dict(receipt)


def world_with_customers() -> None:
    world = World()
    for customer_id, invoice in (("C-1", "INV-1"), ("C-2", "INV-2")):
        world.customer(customer_id, name=f"Customer {customer_id}")
        world.invoice(invoice, invoice_date=date(2026, 10, 1), due_date=date(2026, 10, 31), amount="120.00")


def upload(receipt: dict[str, Any], content: bytes, **changed: str) -> requests.Response:
    """What portal.js sends: the returned fields, then the file last, as multipart/form-data."""
    fields = {**receipt["upload_fields"], **changed}
    return requests.post(receipt["upload_url"], data=fields, files={"file": ("upload", content)}, timeout=30)


def versions(prefix: str) -> list[str]:
    listed = boto3.client("s3").list_object_versions(Bucket=DROP, Prefix=prefix)
    return [v["Key"] for v in (*listed.get("Versions", []), *listed.get("DeleteMarkers", []))]


def kinds(customer_id: str) -> list[str]:
    return [activity.kind for activity in Activities().timeline(customer_id)]


def test_the_presigned_post_binds_key_type_and_size(aws: None) -> None:
    url, fields = PortalObjects().presigned_post(
        DROP,
        "attachments/pending/C-1/D1/po.pdf",
        content_type="application/pdf",
        max_bytes=2048,
        expires=timedelta(minutes=15),
    )
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 1, 2048] in conditions
    assert {"key": "attachments/pending/C-1/D1/po.pdf"} in conditions and {"bucket": DROP} in conditions
    assert (
        fields["key"] == "attachments/pending/C-1/D1/po.pdf" and fields["Content-Type"] == "application/pdf"
    )
    assert DROP in url


def test_a_checked_pdf_is_moved_linked_and_confirming_again_changes_nothing(strict_s3: None) -> None:
    world_with_customers()
    customer = Customer("C-1")
    receipt = customer.dispute("INV-1", "po.pdf", "application/pdf", len(PDF))
    # The dispute does not name the file before it is checked
    [before] = PortalStore().disputes("C-1")
    assert before.attachment_key is None and before.upload_key == receipt["upload_fields"]["key"]
    assert upload(receipt, PDF).status_code == 204
    # When the portal is asked to check it
    status, confirmed = customer.api(f"disputes/{receipt['dispute_id']}/attachment")
    # Then it is linked, under the dispute's final key, and the pending copy is gone for good
    assert status == 200, confirmed
    assert confirmed == {
        "dispute_id": receipt["dispute_id"],
        "file_name": "po.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
    }
    [dispute] = PortalStore().disputes("C-1")
    assert dispute.attachment_key == f"attachments/disputes/C-1/{receipt['dispute_id']}/po.pdf"
    assert dispute.attachment_size == len(PDF) and dispute.upload_key is None
    body = boto3.client("s3").get_object(Bucket=DROP, Key=dispute.attachment_key)["Body"].read()
    assert body == PDF
    assert versions("attachments/pending/") == []
    assert kinds("C-1").count("dispute_attachment_added") == 1
    # And confirming again answers the same and writes nothing more
    assert customer.api(f"disputes/{receipt['dispute_id']}/attachment") == (200, confirmed)
    assert kinds("C-1").count("dispute_attachment_added") == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [(PNG, "declared as a PDF but its content is a PNG image"), (HTML, "its content is something else")],
)
def test_a_file_whose_content_is_not_its_declared_type_is_refused_and_deleted(
    strict_s3: None, content: bytes, words: str
) -> None:
    world_with_customers()
    customer = Customer("C-1")
    receipt = customer.dispute("INV-1", "invoice.pdf", "application/pdf", len(content))
    assert upload(receipt, content).status_code == 204
    status, answer = customer.api(f"disputes/{receipt['dispute_id']}/attachment")
    # Then the answer says what and where, the file is gone, and the dispute has no attachment
    assert status == 400 and answer["error"]["field"] == "attachment"
    assert (
        "invoice.pdf was not accepted" in answer["error"]["message"] and words in answer["error"]["message"]
    )
    assert versions("attachments/") == []
    [dispute] = PortalStore().disputes("C-1")
    assert dispute.attachment_key is None and dispute.upload_key is None
    refused = [a for a in Activities().timeline("C-1") if a.kind == "dispute_attachment_refused"]
    assert len(refused) == 1 and words in refused[0].detail["reason"]
    # And a second confirmation finds nothing waiting
    again = customer.api(f"disputes/{receipt['dispute_id']}/attachment")
    assert again[0] == 400 and "not waiting for a file" in again[1]["error"]["message"]


def test_a_text_file_must_be_utf8_without_binary_data(strict_s3: None) -> None:
    world_with_customers()
    customer = Customer("C-1")
    good = b"Delivery note 4711: 3 of 5 pallets damaged.\n"
    receipt = customer.dispute("INV-1", "note.txt", "text/plain", len(good))
    assert upload(receipt, good).status_code == 204
    assert customer.api(f"disputes/{receipt['dispute_id']}/attachment")[0] == 200


def test_s3_refuses_a_file_larger_than_declared_or_of_another_type(strict_s3: None) -> None:
    world_with_customers()
    customer = Customer("C-1")
    receipt = customer.dispute("INV-1", "po.pdf", "application/pdf", len(PDF))
    too_large = upload(receipt, PDF + b"x")
    assert too_large.status_code == 400 and "<Code>EntityTooLarge</Code>" in too_large.text
    other_type = upload(receipt, PDF, **{"Content-Type": "text/html"})
    assert other_type.status_code == 403 and "<Code>AccessDenied</Code>" in other_type.text
    assert 'Policy Condition failed: ["eq", "$Content-Type", "application/pdf"]' in other_type.text
    elsewhere = upload(receipt, PDF, key="config/dunning-policy.yaml")
    assert elsewhere.status_code == 403 and "$key" in elsewhere.text
    forged = dict(receipt, upload_fields={**receipt["upload_fields"], "x-amz-signature": "0" * 64})
    assert upload(forged, PDF).status_code == 403
    assert versions("attachments/") == []
    # And nothing arrived, so there is nothing to confirm yet
    status, answer = customer.api(f"disputes/{receipt['dispute_id']}/attachment")
    assert status == 400 and "not received po.pdf yet" in answer["error"]["message"]


def test_a_declared_size_above_the_limit_is_refused_before_any_upload(strict_s3: None) -> None:
    world_with_customers()
    status, answer = Customer("C-1").api(
        "disputes",
        {
            "invoice_number": "INV-1",
            "reason": "damaged_or_defective",
            "attachment": {"file_name": "big.pdf", "content_type": "application/pdf", "size": 10 * 2**20 + 1},
        },
    )
    assert (
        status == 400 and answer["error"]["field"] == "attachment" and "10 MB" in answer["error"]["message"]
    )


def test_another_customers_dispute_cannot_be_confirmed(strict_s3: None) -> None:
    world_with_customers()
    owner, other = Customer("C-1"), Customer("C-2")
    receipt = owner.dispute("INV-1", "po.pdf", "application/pdf", len(PDF))
    assert upload(receipt, PDF).status_code == 204
    # When another customer names that dispute
    status, _ = other.api(f"disputes/{receipt['dispute_id']}/attachment")
    html = request(
        "POST",
        f"/disputes/{receipt['dispute_id']}/attachment",
        cookie=other.session,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=f"csrf_token={other.csrf}",
    )
    # Then it is not found, and the owner's upload is untouched, neither read nor moved
    assert status == 404 and html["statusCode"] == 404
    assert versions("attachments/") == [receipt["upload_fields"]["key"]]
    assert "dispute_attachment_refused" not in kinds("C-2") + kinds("C-1")
    assert owner.api(f"disputes/{receipt['dispute_id']}/attachment")[0] == 200


def test_the_html_confirmation_page_names_the_file(strict_s3: None) -> None:
    world_with_customers()
    customer = Customer("C-1")
    receipt = customer.dispute("INV-1", "po.pdf", "application/pdf", len(PDF))
    assert upload(receipt, PDF).status_code == 204
    page = request(
        "POST",
        f"/disputes/{receipt['dispute_id']}/attachment",
        cookie=customer.session,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=f"csrf_token={customer.csrf}",
    )
    assert page["statusCode"] == 200
    assert re.search(r'role="status">Thank you\. We have checked po\.pdf', str(page["body"]))


def test_moto_alone_stores_what_s3_refuses(aws: None) -> None:
    # Why the emulator's rules exist: without them an oversize upload is stored.
    world_with_customers()
    receipt = Customer("C-1").dispute("INV-1", "po.pdf", "application/pdf", len(PDF))
    assert upload(receipt, PDF + b"x" * 100).status_code == 204
