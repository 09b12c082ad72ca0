"""Secrets Manager: the portal link-signing key, read once per process."""

from __future__ import annotations

from functools import lru_cache

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from arcollect.store.errors import StoreError, StoreUnavailable


@lru_cache(maxsize=4)
def link_signing_key(secret_arn: str) -> bytes:
    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    except ClientError as error:
        raise StoreError(f"reading the link-signing key {secret_arn}: {error}") from error
    except BotoCoreError as error:
        raise StoreUnavailable(f"reading the link-signing key: {error}") from error
    return str(value).encode()
