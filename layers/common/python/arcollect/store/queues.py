"""SQS sends: the ingest function hands the chunks of a large file back to its own queue."""

from __future__ import annotations

import json
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from arcollect.store.clients import LazyClient
from arcollect.store.errors import StoreError, StoreUnavailable

_BATCH: Final = 10  # SQS's limit per SendMessageBatch


class WorkQueue:
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._sqs = client if client is not None else LazyClient("sqs")

    def send(self, messages: list[dict[str, Any]]) -> None:
        """Send every message, or raise: a batch entry SQS refused is an error, not a silent loss."""
        for start in range(0, len(messages), _BATCH):
            entries = [
                {"Id": str(index), "MessageBody": json.dumps(message)}
                for index, message in enumerate(messages[start : start + _BATCH])
            ]
            try:
                response = self._sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except ClientError as error:
                raise StoreError(f"sending to {self.queue_url}: {error}") from error
            except BotoCoreError as error:
                raise StoreUnavailable(f"sending to {self.queue_url}: {error}") from error
            if response.get("Failed"):
                raise StoreError(f"sending to {self.queue_url}: {response['Failed']}")
