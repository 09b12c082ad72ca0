"""``arcollect inbox drop FILE.eml``: deliver a customer's reply as SES's receipt rule would, to a local
or deployed stack: the message is written under inbox/ in the drop bucket (a fresh key, as SES names
each message it receives by its own id), whose notification hands it to the ingest function; then wait
until it is filed and say where (docs/inbox.md)."""

from __future__ import annotations

import secrets
import time
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import boto3

from arcollect.contract import DropPrefix, Output, TableSchema
from arcollect_cli.output import progress
from arcollect_cli.target import CliError, Target

# SES receives messages of up to 40 MB; a bigger file is not something SES would ever deliver.
MAX_MESSAGE_BYTES = 40 * 1024 * 1024


def drop_message(target: Target, path: Path, timeout: float, show_progress: bool = True) -> dict[str, Any]:
    """Write ``path`` under inbox/ and return what the ingest function filed it as."""
    # The store's key format and codec, only when the command runs (the CLI's parser stays light).
    from arcollect.store import keys

    if not path.is_file():
        raise CliError(f"{path}: no such file")
    raw = path.read_bytes()
    if not raw.strip():
        raise CliError(f"{path}: the file is empty, not an email message")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise CliError(f"{path}: {len(raw)} bytes, more than the 40 MB SES receives")
    bucket = target.output(Output.DROP_BUCKET)
    table = target.output(Output.TABLE_NAME)
    # As SES names them: one object per message received, never overwriting another.
    key = f"{DropPrefix.INBOX}local-{secrets.token_hex(10)}"
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=raw)
    if show_progress:
        progress(f"delivered {path.name} to s3://{bucket}/{key}; waiting for it to be filed")
    message_id = str(BytesHeaderParser().parsebytes(raw).get("Message-ID", "") or "").strip()
    # The function files a message once by its Message-ID (else its key): the same marker it reads.
    identities = [f"message-id:{message_id}"] if message_id else []
    identities.append(f"key:{key}")
    dynamodb = boto3.client("dynamodb")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for identity in identities:
            found = dynamodb.get_item(
                TableName=table,
                Key={
                    TableSchema.PARTITION_KEY: {"S": keys.inbound_message_pk(identity)},
                    TableSchema.SORT_KEY: {"S": keys.INBOUND_MESSAGE_SK},
                },
                ConsistentRead=True,
            ).get("Item")
            if found:
                return {
                    "key": key,
                    "customer_id": found["customer_id"]["S"],
                    "activity_id": found["activity_id"]["S"],
                    "kind": found.get("kind", {}).get("S", ""),
                    "summary": found.get("summary", {}).get("S", ""),
                    # Filed by an earlier delivery of the same message: this one changed nothing.
                    "duplicate": found["key"]["S"] != key,
                }
        time.sleep(0.2)
    raise CliError(f"s3://{bucket}/{key} was not filed after {timeout:.0f} s (see the ingest DLQ and logs)")
