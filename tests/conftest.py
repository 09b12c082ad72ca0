"""Test setup. The environment is set here, before any application module is imported, because the
handlers read their settings once at import time -- as they do in a Lambda sandbox."""

from __future__ import annotations

import os

os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "TABLE_NAME": "arcollect-test",
        "DROP_BUCKET": "arcollect-test-drop",
        "REPORTS_BUCKET": "arcollect-test-reports",
        "SENDER_EMAIL": "collections@example.com",
        "SES_CONFIGURATION_SET": "arcollect-test",
        "PORTAL_BASE_URL": "https://portal.example.com/",
        # moto's default account; the integration fixture creates this queue.
        "INGEST_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/arcollect-test-ingest",
        "DUNNING_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/arcollect-test-dunning",
        # No pacing in tests: the pacer itself is tested with a fake clock.
        "SES_MAX_SEND_RATE": "1000000",
        "LINK_SECRET_ARN": "arcollect-test-link-signing-key",
        "ENVIRONMENT_NAME": "test",
        "POWERTOOLS_SERVICE_NAME": "arcollect-test",
        "POWERTOOLS_METRICS_NAMESPACE": "arcollect",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "20,22,24",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)
