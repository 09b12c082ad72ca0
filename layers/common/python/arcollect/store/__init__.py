"""Storage: the only package that touches DynamoDB (pynamodb) and S3/SES (boto3).

It hands out entities from ``arcollect.entities`` and raises the errors in ``arcollect.store.errors``,
never a botocore or pynamodb exception.
"""

from arcollect.store.errors import StoreError, StoreUnavailable
from arcollect.store.models import bind_table

__all__ = ["StoreError", "StoreUnavailable", "bind_table"]
