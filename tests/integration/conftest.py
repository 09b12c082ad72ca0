"""Handlers against moto: each test gets fresh, empty AWS resources named like the stack's."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arcollect.store.models import TableItem, bind_table
from arcollect.store.secrets import forget_link_keys
from arcollect_cli.lambda_runtime import invoke, load_handler
from arcollect_cli.local.emulator import enforce_ses_rules

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EVENTS / name).read_text()))


@contextlib.contextmanager
def stack_resources() -> Iterator[None]:
    """moto with the stack's resources; its SES refuses what SES refuses, as the local stack's does
    (tags, addresses, recipients, size, the configuration set), so every test meets AWS's limits.
    Each entry is a fresh, empty account (the reliability suite opens several in one test)."""
    undo_ses_rules = enforce_ses_rules()
    try:
        with mock_aws():
            bind_table(os.environ["TABLE_NAME"])
            TableItem.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            s3 = boto3.client("s3")
            for bucket in (os.environ["DROP_BUCKET"], os.environ["REPORTS_BUCKET"]):
                s3.create_bucket(Bucket=bucket)
                s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            for queue in ("INGEST_QUEUE_URL", "DUNNING_QUEUE_URL"):
                boto3.client("sqs").create_queue(QueueName=os.environ[queue].rsplit("/", 1)[1])
            boto3.client("ses").verify_email_identity(EmailAddress=os.environ["SENDER_EMAIL"])
            boto3.client("sesv2").create_configuration_set(
                ConfigurationSetName=os.environ["SES_CONFIGURATION_SET"]
            )
            boto3.client("secretsmanager").create_secret(
                Name=os.environ["LINK_SECRET_ARN"], SecretString="integration-test-link-key"
            )
            forget_link_keys()  # a test may have rotated the previous account's key
            yield
    finally:
        undo_ses_rules()


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh account with the stack's resources (``stack_resources``)."""
    with stack_resources():
        yield


@pytest.fixture
def s3(aws: None) -> Any:
    return boto3.client("s3")


@pytest.fixture(params=["python", "duckdb"])
def reports_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The reports function on each engine (its reportsEngine setting, reports/engines.py); on duckdb
    every figure of every run is also computed by the Python reference, and a difference fails the run:
    the SQL engine makes the same kpis.json in every report test that uses this fixture."""
    from arcollect.reports import engines

    app = load_handler("reports").app
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, reports_engine=request.param))
    monkeypatch.setattr(engines, "CROSS_CHECK", True)
    if request.param == engines.DUCKDB:  # runs that leave the choice to the size (auto) take it too
        monkeypatch.setattr(engines, "DUCKDB_ABOVE_DOCUMENTS", -1)
    return str(request.param)


__all__ = ["invoke", "load_event", "stack_resources"]
