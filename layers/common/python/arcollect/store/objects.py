"""S3 access: streamed reads of dropped files, JSON writes of results and reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from arcollect.store.clients import LazyClient
from arcollect.store.errors import ObjectMissing, StoreError, StoreUnavailable

_CHUNK_BYTES = 1024 * 1024


def _version(bucket: str, key: str, version_id: str | None) -> dict[str, str]:
    kwargs = {"Bucket": bucket, "Key": key}
    if version_id and version_id != "null":
        kwargs["VersionId"] = version_id
    return kwargs


@contextmanager
def _reading(bucket: str, key: str, version_id: str | None) -> Iterator[None]:
    """S3's errors as the store's: a missing object or version is ``ObjectMissing``."""
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in {"NoSuchKey", "NoSuchVersion", "404"}:
            raise ObjectMissing(f"s3://{bucket}/{key} (version {version_id}) does not exist") from error
        raise StoreError(f"reading s3://{bucket}/{key}: {code or error}") from error
    except BotoCoreError as error:
        raise StoreUnavailable(f"reading s3://{bucket}/{key}: {error}") from error


class ObjectStore:
    """Buckets as the functions use them; an S3 client can be injected for tests and the local stack."""

    def __init__(self, client: Any | None = None) -> None:
        self._s3 = client if client is not None else LazyClient("s3")

    def iter_bytes(self, bucket: str, key: str, version_id: str | None = None) -> Iterator[bytes]:
        """Stream one object version in chunks, never holding the whole file in memory."""
        with _reading(bucket, key, version_id):
            body = self._s3.get_object(**_version(bucket, key, version_id))["Body"]
            yield from body.iter_chunks(_CHUNK_BYTES)

    def metadata(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, str]:
        """The user metadata of one object version (``x-amz-meta-*``, without the prefix)."""
        with _reading(bucket, key, version_id):
            return dict(self._s3.head_object(**_version(bucket, key, version_id)).get("Metadata") or {})

    def read_text(self, bucket: str, key: str) -> str | None:
        """A small text object (a mapping, a part result), or None if there is none."""
        try:
            return bytes(b"".join(self.iter_bytes(bucket, key))).decode("utf-8")
        except ObjectMissing:
            return None

    def read_json(self, bucket: str, key: str) -> Any:
        text = self.read_text(bucket, key)
        if text is None:
            raise ObjectMissing(f"s3://{bucket}/{key} does not exist")
        return json.loads(text)

    def put_json(self, bucket: str, key: str, document: Any) -> None:
        body = json.dumps(document, indent=2, sort_keys=True, default=str).encode()
        self.put_bytes(bucket, key, body, "application/json")

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as error:
            raise StoreError(f"writing s3://{bucket}/{key}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"writing s3://{bucket}/{key}: {error}") from error

    def put_file(self, bucket: str, key: str, body: IO[bytes], content_type: str) -> None:
        """Upload a file object (streamed, multipart when large), e.g. a spooled CSV of rejected rows."""
        try:
            self._s3.upload_fileobj(body, bucket, key, ExtraArgs={"ContentType": content_type})
        except ClientError as error:
            raise StoreError(f"writing s3://{bucket}/{key}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"writing s3://{bucket}/{key}: {error}") from error
