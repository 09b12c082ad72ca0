"""arcollect: automated accounts-receivable collections.

The shared package of every function. Layers of the code, imports only flowing downwards:

- ``arcollect.<domain>`` (ingest, dunning, portal, reports): collections logic, free of AWS calls;
  repositories and clients arrive as parameters.
- ``arcollect.store``: the only place that talks to DynamoDB (pynamodb) and S3/SES (boto3).
- ``arcollect.contract``: names shared with the CDK app and the local stack (env vars, outputs, keys).
"""

__version__ = "0.1.0"
