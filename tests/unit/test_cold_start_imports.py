"""What each handler's cold start imports, and what it leaves for the first request that needs it.

Each check runs a fresh interpreter set up the way Lambda starts a function (the cold-start benchmark's
environment, tracing on), imports the handler, and lists the heavy modules that got loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.cold_start import import_statement, lambda_environment

# Loaded when first used, never by the import: the XLSX writer and reader, templates, pydantic (the
# parser and the portal API's validation), public holidays, and the X-Ray SDK (the first traced call);
# the PDF and QR libraries of dunning letters (the first letter), and the fonts' and images' libraries;
# the numbering plans of reminder texts (the first mobile number read).
HEAVY = (
    "openpyxl",
    "jinja2",
    "pydantic",
    "holidays",
    "aws_xray_sdk",
    "fpdf",
    "segno",
    "fontTools",
    "PIL",
    "phonenumbers",
)
# The portal's customer pages also leave the staff console and the dispute workflow alone.
PORTAL_ALSO = ("arcollect.workspace.services", "arcollect.console", "arcollect.portal.web.api")


def _loaded_after(function: str, then: str = "") -> set[str]:
    probe = f"{import_statement(function)}\n{then}\nimport json\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=lambda_environment(function),
        cwd="/",
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def _roots(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(name for name in names if name in modules or any(m.startswith(f"{name}.") for m in modules))


@pytest.mark.parametrize("function", ["ingest", "dunning", "portal", "reports"])
def test_a_cold_start_imports_no_heavy_module(function: str) -> None:
    loaded = _loaded_after(function)
    assert "handler" in loaded  # the probe did import the handler
    assert _roots(loaded, HEAVY) == []


def test_the_portal_cold_start_leaves_the_staff_console_and_the_api_alone() -> None:
    assert _roots(_loaded_after("portal"), PORTAL_ALSO) == []


# The pay-date model (issue 19) is trained and run by the reports function alone: the other functions,
# the staff console and the workspace included, read the predictions it left (arcollect/outlook.py).
PAY_DATE_MODEL = ("arcollect.predictions", "arcollect.reports")


@pytest.mark.parametrize("function", ["ingest", "dunning", "portal"])
def test_only_the_reports_function_loads_the_pay_date_model(function: str) -> None:
    assert _roots(_loaded_after(function), PAY_DATE_MODEL) == []


def test_the_staff_console_and_the_workspace_read_predictions_without_the_model() -> None:
    loaded = _loaded_after("portal", "import arcollect.console.accounts, arcollect.workspace.services")
    assert "arcollect.outlook" in loaded and _roots(loaded, PAY_DATE_MODEL) == []


@pytest.mark.parametrize("function", ["dunning", "portal", "reports"])
def test_only_the_ingest_cold_start_loads_the_batch_utilities(function: str) -> None:
    # The dunning function loads Powertools' BatchProcessor with its first queued batch: its ticks and
    # SES events never need it, and its cold start was already near the 2x budget.
    assert _roots(_loaded_after(function), ("aws_lambda_powertools.utilities.batch",)) == []


# A served request, inside the probe: a REST proxy event for ``path`` and a Lambda context.
_SERVE = """
import json, os
os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"


class Context:
    function_name = "arcollect-portal"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:arcollect-portal"
    aws_request_id = "r-1"


def served(path):
    event = {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": "GET",
        "headers": {"Host": "portal.example"},
        "multiValueHeaders": {"Host": ["portal.example"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {"stage": "live", "path": "/live" + path, "requestTimeEpoch": 1796000000000},
        "body": None,
        "isBase64Encoded": False,
    }
    return handler.lambda_handler(event, Context())["statusCode"]
"""


def test_a_portal_page_loads_templates_but_not_the_api_and_an_api_call_loads_its_validation() -> None:
    # When the portal function serves a health check and a page
    pages = _SERVE + "assert served('/health') == 200\nassert served('/no/such/page') == 404\n"
    after_page = _loaded_after("portal", pages)
    # Then the page's templates were loaded, and the API's validation was not
    assert "jinja2" in after_page
    assert _roots(after_page, ("pydantic", "arcollect.portal.web.api")) == []
    # And the first API request loads it
    after_api = _loaded_after("portal", pages + "assert served('/api/v1/no-such-endpoint') == 404\n")
    assert _roots(after_api, ("pydantic", "arcollect.portal.web.api")) == [
        "arcollect.portal.web.api",
        "pydantic",
    ]


# What each cold start leaves to the first request that needs it (``make bench``: every handler within
# 2x ``import boto3``): the email parser to the first reply, the number plans' module to the first
# customers' file, the policy's YAML to the first policy read, the sweep's store to the first promise,
# the texts' modules to a stack that sends texts, the change feed's records to the first change.
LEFT_FOR_LATER = {
    "ingest": ("arcollect.inbox.filing", "arcollect.sms", "arcollect.changes"),
    "dunning": ("yaml", "arcollect.dunning.texts", "arcollect.store.text_ledger", "arcollect.store.sms"),
    "portal": ("yaml", "arcollect.policy", "arcollect.store.dunning"),
}


@pytest.mark.parametrize("function", sorted(LEFT_FOR_LATER))
def test_a_cold_start_leaves_what_only_some_requests_need(function: str) -> None:
    assert _roots(_loaded_after(function), LEFT_FOR_LATER[function]) == []
