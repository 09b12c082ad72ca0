"""The monthly AWS bill of a portfolio, derived from what the local stack's functions actually request.

How the figure is made:

1. A generated company (200 customers) goes live on the local stack; then ``SIMULATED_DAYS`` days run
   as the schedules run them (every hourly dunning tick, the daily reports, the ERP's daily files), and
   one emailed link in five is opened in the portal with the account page after it. Every request the
   functions make is metered (``arcollect_cli/local/metering.py``): invocations and GB-seconds, DynamoDB
   request units from the items' sizes, S3 requests and bytes, SES messages, SQS requests, Secrets
   Manager calls, log bytes, and the custom metrics the functions publish.
2. The usage is scaled to a month of a portfolio issuing ``INVOICES`` invoices (``CUSTOMERS`` customers):
   what grows with the invoices by the ratio of invoices issued, what the schedules fix (ticks, report
   runs, files) by days, and the report's table scan by the table's size with ``HISTORY_MONTHS`` of
   history kept.
3. The fixed monthly charges are read off the synthesized CDK template (alarms, keys, secrets, the web
   ACL and its rules, dashboards) and everything is priced with ``PRICES`` (list prices, us-east-1).
4. The headline is the default deployment in an account of its own, as the README and docs/deploy.md
   recommend: AWS's always-free allowances (``ALWAYS_FREE``, permanent and per account) are then
   arcollect's. The same usage at list prices with no allowance at all (an account whose allowances
   other workloads use up), and with the portal's web ACL (``portalWaf=true``), are printed beside it.

The prices are a dated table; the README cites the pricing pages they come from.
"""

from __future__ import annotations

import bisect
import json
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.report import bench

INVOICES = 10_000
CUSTOMERS = 2_000
SCALES = (10_000, 100_000, 1_000_000)
SIMULATED_DAYS = 7
# Days run before metering starts: the go-live's catch-up (every overdue invoice's statement) is a
# one-off, not a month's steady state.
WARM_UP_DAYS = 3
HISTORY_MONTHS = 12
CLICK_THROUGH = 5  # one emailed link in five is opened
DAYS_PER_MONTH = Decimal("30.4")
# The schedules (cdk.json): hourly dunning; daily, weekly and monthly reports.
DUNNING_TICKS_PER_MONTH = 24 * DAYS_PER_MONTH
REPORT_RUNS_PER_MONTH = DAYS_PER_MONTH + Decimal("4.35") + 1
# Lambda's SQS event source mapping polls each queue with five long-polling connections, each request
# waiting up to 20 seconds when the queue is empty.
ESM_POLLS_PER_QUEUE = 5 * 3 * 60 * 24 * DAYS_PER_MONTH

PRICES_AS_OF = date(2026, 12, 6)
# USD, us-east-1, list prices (see the README's "What it costs" for the pricing pages).
PRICES: dict[str, Decimal] = {
    "lambda_request": Decimal("0.20") / 1_000_000,
    "lambda_gb_second_arm64": Decimal("0.0000133334"),
    "dynamodb_wru": Decimal("0.625") / 1_000_000,
    "dynamodb_rru": Decimal("0.125") / 1_000_000,
    "dynamodb_gb_month": Decimal("0.25"),
    "dynamodb_pitr_gb_month": Decimal("0.20"),
    "s3_tier1_request": Decimal("0.005") / 1_000,
    "s3_tier2_request": Decimal("0.0004") / 1_000,
    "s3_gb_month": Decimal("0.023"),
    "ses_message": Decimal("0.10") / 1_000,
    "sqs_request": Decimal("0.40") / 1_000_000,
    "scheduler_invocation": Decimal("1.00") / 1_000_000,
    "logs_ingested_gb": Decimal("0.50"),
    "logs_stored_gb_month": Decimal("0.03"),
    "custom_metric_month": Decimal("0.30"),
    "alarm_month": Decimal("0.10"),
    "dashboard_month": Decimal("3.00"),
    "waf_web_acl_month": Decimal("5.00"),
    "waf_rule_month": Decimal("1.00"),
    "waf_request": Decimal("0.60") / 1_000_000,
    "api_gateway_rest_request": Decimal("3.50") / 1_000_000,
    "secret_month": Decimal("0.40"),
    "secrets_api_call": Decimal("0.05") / 10_000,
    "kms_key_month": Decimal("1.00"),
    "xray_trace": Decimal("5.00") / 1_000_000,
}
MEMORY_MB = {"ingest": 1024, "dunning": 1024, "portal": 1024, "reports": 3008}  # infra/constructs/*.py
GB = Decimal(1024**3)


@dataclass
class Simulation:
    usage: dict[str, Counter[str]]
    days: int
    customers: int
    invoices_issued: int
    invoices_in_table: int
    table_bytes: int
    custom_metrics: int
    custom_metric_months: float
    portal_requests: int


def simulate() -> Simulation:
    """The metered simulation, in a fresh interpreter: the functions must be imported by the local
    stack (its environment, its log), not by whatever benchmark ran before in this process."""
    import os
    import subprocess
    import sys

    from benchmarks.datasets import REPO

    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    result = subprocess.run(
        [sys.executable, "-c", "from benchmarks import aws_cost; aws_cost.print_simulation()"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**keep, "PYTHONPATH": str(REPO)},
    )
    if result.returncode:
        raise RuntimeError(f"the metered simulation failed: {result.stderr[-3000:]}")
    document = json.loads(result.stdout.strip().splitlines()[-1])
    document["usage"] = {function: Counter(measures) for function, measures in document["usage"].items()}
    return Simulation(**document)


def print_simulation() -> None:
    """What ``simulate`` reads: the simulation run here, as one JSON line on standard output."""
    import dataclasses
    import sys

    sim = _simulate_here()
    document = dataclasses.asdict(sim)
    document["usage"] = {f: {m: float(v) for m, v in c.items()} for f, c in sim.usage.items()}
    sys.stdout.write(json.dumps(document) + "\n")


def _simulate_here() -> Simulation:
    """Run the simulated days on a fresh local stack in this process, metered."""
    from arcollect_cli.demo import FILE_ORDER, DemoStats, _ingest, _simulate
    from arcollect_cli.generate import DEFAULT_AS_OF, generate_company
    from arcollect_cli.local import metering
    from arcollect_cli.local.stack import LocalStack
    from arcollect_cli.target import Target

    with tempfile.TemporaryDirectory(prefix="arcollect-cost-") as folder:
        root = Path(folder)
        stack = LocalStack(root)
        stack.start()
        try:
            target = Target.resolve(None, root)
            company = root / "company"
            generate_company(
                customers=200,
                months=3,
                seed=7,
                as_of=DEFAULT_AS_OF,
                simulate_days=SIMULATED_DAYS,
                out=company,
            )
            manifest = json.loads((company / "manifest.json").read_text())
            as_of = date.fromisoformat(manifest["as_of"])
            stats = DemoStats()
            live = [f for f in manifest["files"] if date.fromisoformat(f["arrives_on"]) <= as_of]
            for entry in sorted(live, key=lambda f: FILE_ORDER[f["kind"]]):
                _ingest(
                    target, stats, company / entry["path"], entry["kind"], entry["arrives_on"]
                )  # not metered
            arrivals: dict[date, list[dict[str, Any]]] = {}
            for entry in manifest["files"]:
                if date.fromisoformat(entry["arrives_on"]) > as_of:
                    arrivals.setdefault(date.fromisoformat(entry["arrives_on"]), []).append(entry)
            _simulate(target, stats, company, as_of, WARM_UP_DAYS, arrivals, every_hour=False)
            log = Path(target.outputs["Local"]["FunctionLog"])
            # Where each simulated hour starts in the functions' log: a metric is billed by the hour.
            hours: list[tuple[int, int]] = []

            def mark(at: datetime) -> None:
                hours.append((log.stat().st_size, at.hour))

            meter = metering.start_metering(MEMORY_MB)
            start = as_of + timedelta(days=WARM_UP_DAYS)
            try:
                _simulate(
                    target, stats, company, start, SIMULATED_DAYS, arrivals, every_hour=True, on_hour=mark
                )
                portal_requests = _visit_portal(Path(target.outputs["Local"]["Outbox"]))
            finally:
                metering.stop_metering()
            issued = sum(
                f["rows"]
                for f in manifest["files"]
                if f["kind"] == "invoices" and f["path"] != "invoices.csv"
            )
            in_table = sum(f["rows"] for f in manifest["files"] if f["kind"] == "invoices")
            return Simulation(
                usage=dict(meter.usage),
                days=SIMULATED_DAYS,
                customers=int(manifest["customers"]),
                invoices_issued=issued,
                invoices_in_table=in_table,
                table_bytes=_table_bytes(stack.spec.table_name),
                **_custom_metrics(log, hours),
                portal_requests=portal_requests,
            )
        finally:
            stack.stop()


def _visit_portal(outbox: Path) -> int:
    """Open every fifth emailed link and the account page after it, as a customer's browser would."""
    from arcollect_cli.outbox import read_outbox

    requests = 0
    for index, email in enumerate(sorted(read_outbox(outbox), key=lambda e: str(e["message_id"]))):
        if index % CLICK_THROUGH:
            continue
        link = next((word for word in str(email["text"]).split() if "/l/" in word), None)
        if link is None:
            continue
        requests += _open(link)
    return requests


def _open(url: str) -> int:
    """GET ``url`` (the link's landing page), then press its "Open my account" button (a form POST of
    the token), following redirects with the cookies set on the way; returns the requests made."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    made = 0
    try:
        with opener.open(url, timeout=60) as response:
            landing = response.read().decode()
            made += 1
        found = re.search(r'name="token" value="([^"]+)"', landing)
        if found:
            form = urllib.parse.urlencode({"token": found.group(1)}).encode()
            button = urllib.parse.urljoin(url, "../l")
            with opener.open(urllib.request.Request(button, data=form), timeout=60) as response:  # noqa: S310
                response.read()
                made += 2  # the POST and the account page it redirects to
    except urllib.error.HTTPError as error:
        error.read()
        made += 1
    return max(made, 1)


def _table_bytes(table: str) -> int:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from arcollect_cli.local.spec import REGION

    found = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table)
    return sum(item.size() for item in found.all_items())


def _custom_metrics(log: Path, hours: list[tuple[int, int]]) -> dict[str, Any]:
    """The distinct (namespace, metric, dimensions) the functions published as EMF during the run, and
    what they are billed as in metric-months. CloudWatch bills a custom metric for each hour it is
    published in (a month is about 730 hours), so a metric counts for the share of the day's hours it
    was published in, as if it were published at those hours every day (the larger portfolio is busier
    than the simulated one; its quiet hours are not counted on).

    ``hours`` is where each simulated hour starts in ``log`` and its hour of the day."""
    seen: dict[tuple[str, str, str], set[int]] = {}
    starts = [offset for offset, _ in hours]
    with log.open("rb") as handle:
        handle.seek(starts[0])
        offset = starts[0]
        for line in handle:
            at = offset
            offset += len(line)
            if b"_aws" not in line:
                continue
            try:
                document = json.loads(line)
            except ValueError:
                continue
            hour_of_day = hours[bisect.bisect_right(starts, at) - 1][1]
            for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
                for dimensions in directive.get("Dimensions", [[]]):
                    values = ",".join(f"{d}={document.get(d)}" for d in dimensions)
                    for metric in directive.get("Metrics", []):
                        key = (directive.get("Namespace", ""), metric.get("Name", ""), values)
                        seen.setdefault(key, set()).add(hour_of_day)
    return {
        "custom_metrics": len(seen),
        "custom_metric_months": sum(len(hours_of_day) for hours_of_day in seen.values()) / 24,
    }


@dataclass(frozen=True)
class Template:
    alarms: int
    kms_keys: int
    secrets: int
    web_acls: int
    waf_rules: int
    dashboards: int
    queues_with_consumers: int


def template_facts(**context: str) -> Template:
    """What the stack as deployed (with ``context`` over the defaults) holds that is billed by the
    month, from the synthesized template."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template as CdkTemplate

    from infra.application import build, default_context

    with tempfile.TemporaryDirectory(prefix="arcollect-cost-synth-") as folder:
        app = cdk.App(context={**default_context(), **context}, outdir=folder)
        stack = build(app)
        resources = CdkTemplate.from_stack(stack).to_json()["Resources"].values()
    kinds = Counter(resource["Type"] for resource in resources)
    rules = sum(
        len(resource["Properties"].get("Rules", []))
        for resource in resources
        if resource["Type"] == "AWS::WAFv2::WebACL"
    )
    return Template(
        alarms=kinds["AWS::CloudWatch::Alarm"],
        kms_keys=kinds["AWS::KMS::Key"],
        secrets=kinds["AWS::SecretsManager::Secret"],
        web_acls=kinds["AWS::WAFv2::WebACL"],
        waf_rules=rules,
        dashboards=kinds["AWS::CloudWatch::Dashboard"],
        queues_with_consumers=kinds["AWS::Lambda::EventSourceMapping"],
    )


# AWS's "always free" allowances per account and month (not the 12-month offers): they apply when
# arcollect has an account of its own, as the README recommends.
ALWAYS_FREE: dict[str, Decimal] = {
    "lambda_requests": Decimal(1_000_000),
    "lambda_gb_seconds": Decimal(400_000),
    "dynamodb_gb": Decimal(25),
    "sqs_requests": Decimal(1_000_000),
    "scheduler_invocations": Decimal(14_000_000),
    "custom_metrics": Decimal(10),
    "alarms": Decimal(10),
    "dashboards": Decimal(3),
    "logs_gb": Decimal(5),
    "xray_traces": Decimal(100_000),
}


def monthly_usage(sim: Simulation, facts: Template, invoices: int) -> dict[str, Decimal]:
    """What a month of ``invoices`` invoices to ``CUSTOMERS`` customers per ``INVOICES`` uses, by what
    AWS bills. Reminders are consolidated per customer, so emails (and the portal visits they bring)
    follow the customers; the rest follows the invoices."""
    month = DAYS_PER_MONTH / sim.days
    volume = Decimal(invoices) / (Decimal(sim.invoices_issued) * month)  # invoices per month, scaled
    people = Decimal(CUSTOMERS * invoices // INVOICES) / sim.customers  # customers, scaled
    table = Decimal(invoices * HISTORY_MONTHS) / sim.invoices_in_table  # the table's size, scaled
    u = sim.usage

    def total(measure: str, *functions: str) -> Decimal:
        return sum((Decimal(u.get(f, Counter())[measure]) for f in functions or u), Decimal(0))

    def by_volume(measure: str, *functions: str) -> Decimal:
        return total(measure, *functions) * month * volume

    def by_customers(measure: str, *functions: str) -> Decimal:
        return total(measure, *functions) * month * people

    runs = max(Decimal(1), total("lambda.invocations", "reports"))

    def per_report(measure: str) -> Decimal:
        # The report reads the whole table: each run costs what the run measured, by the table's size.
        return total(measure, "reports") / runs * REPORT_RUNS_PER_MONTH * table

    busy = ("ingest", "dunning")
    ticks = Decimal(sim.days * 24)
    invocations = (
        DUNNING_TICKS_PER_MONTH
        + (total("lambda.invocations", "dunning") - ticks) * month * volume
        # The ERP's files arrive daily whatever their size (a big one fans out into a few chunks more).
        + total("lambda.invocations", "ingest") * month
        + total("lambda.invocations", "portal") * month * people
        + REPORT_RUNS_PER_MONTH
    )
    portal_requests = Decimal(sim.portal_requests) * month * people
    return {
        "lambda_requests": invocations,
        "lambda_gb_seconds": by_volume("lambda.gb_seconds", *busy)
        + by_customers("lambda.gb_seconds", "portal")
        + per_report("lambda.gb_seconds"),
        "dynamodb_wru": by_volume("dynamodb.wru"),
        "dynamodb_rru": by_volume("dynamodb.rru", *busy)
        + by_customers("dynamodb.rru", "portal")
        + per_report("dynamodb.rru"),
        "dynamodb_gb": Decimal(sim.table_bytes) * table / GB,
        "s3_tier1_requests": by_volume("s3.tier1"),
        "s3_tier2_requests": by_volume("s3.tier2"),
        # Results and reports are kept about a year: a year of what a month puts.
        "s3_gb": by_volume("s3.bytes_put") * HISTORY_MONTHS / GB,
        "ses_messages": by_customers("ses.messages"),
        # The functions' own sends, their messages received and deleted by the event source mapping,
        # and the mapping's polling of each queue while it is empty.
        "sqs_requests": by_volume("sqs.billed_requests") * 3
        + ESM_POLLS_PER_QUEUE * facts.queues_with_consumers,
        "scheduler_invocations": DUNNING_TICKS_PER_MONTH + REPORT_RUNS_PER_MONTH,
        "logs_gb": by_volume("logs.bytes") / GB,
        "custom_metrics": Decimal(str(sim.custom_metric_months)),
        "alarms": Decimal(facts.alarms),
        "dashboards": Decimal(facts.dashboards),
        "web_acls": Decimal(facts.web_acls),
        "waf_rules": Decimal(facts.waf_rules),
        "waf_requests": portal_requests if facts.web_acls else Decimal(0),
        "api_requests": portal_requests,
        "secrets": Decimal(facts.secrets),
        "secrets_api_calls": by_volume("secretsmanager.calls"),
        "kms_keys": Decimal(facts.kms_keys),
        "xray_traces": invocations,
    }


def monthly_bill(usage: dict[str, Decimal], *, always_free: bool = False) -> dict[str, Decimal]:
    """USD per service for ``usage``; with ``always_free``, less the always-free allowances."""
    q = {
        k: max(Decimal(0), v - ALWAYS_FREE.get(k, Decimal(0))) if always_free else v for k, v in usage.items()
    }
    p = PRICES
    bill = {
        "lambda": q["lambda_requests"] * p["lambda_request"]
        + q["lambda_gb_seconds"] * p["lambda_gb_second_arm64"],
        "dynamodb": q["dynamodb_wru"] * p["dynamodb_wru"]
        + q["dynamodb_rru"] * p["dynamodb_rru"]
        + q["dynamodb_gb"] * p["dynamodb_gb_month"]
        + usage["dynamodb_gb"] * p["dynamodb_pitr_gb_month"],
        "s3": q["s3_tier1_requests"] * p["s3_tier1_request"]
        + q["s3_tier2_requests"] * p["s3_tier2_request"]
        + q["s3_gb"] * p["s3_gb_month"],
        "ses": q["ses_messages"] * p["ses_message"],
        "sqs": q["sqs_requests"] * p["sqs_request"],
        "scheduler": q["scheduler_invocations"] * p["scheduler_invocation"],
        # Logs are kept 90 days (logRetentionDays): ingested once, stored three months.
        "cloudwatch": q["logs_gb"] * (p["logs_ingested_gb"] + 3 * p["logs_stored_gb_month"])
        + q["custom_metrics"] * p["custom_metric_month"]
        + q["alarms"] * p["alarm_month"]
        + q["dashboards"] * p["dashboard_month"],
        "waf": q["web_acls"] * p["waf_web_acl_month"]
        + q["waf_rules"] * p["waf_rule_month"]
        + q["waf_requests"] * p["waf_request"],
        "api_gateway": q["api_requests"] * p["api_gateway_rest_request"],
        "secrets_manager": q["secrets"] * p["secret_month"] + q["secrets_api_calls"] * p["secrets_api_call"],
        "kms": q["kms_keys"] * p["kms_key_month"],
        "xray": q["xray_traces"] * p["xray_trace"],
    }
    return {service: cost.quantize(Decimal("0.01")) for service, cost in bill.items()}


def _label(invoices: int) -> str:
    return f"{invoices // 1_000_000}m" if invoices >= 1_000_000 else f"{invoices // 1_000}k"


def run() -> None:
    facts = template_facts()
    with_waf = template_facts(portalWaf="true")
    sim = simulate()
    usage = {invoices: monthly_usage(sim, facts, invoices) for invoices in SCALES}
    # The default deployment in an account of its own (see the module's docstring, point 4).
    base = monthly_bill(usage[INVOICES], always_free=True)
    bench("aws_cost_per_month_10k_invoices", float(sum(base.values())), "usd", "<5")
    for service, cost in base.items():
        bench(f"aws_cost_10k_{service}", float(cost), "usd", "info")
    listed = monthly_bill(usage[INVOICES])
    bench("aws_cost_per_month_10k_invoices_list_price", float(sum(listed.values())), "usd", "info")
    for service, cost in listed.items():
        bench(f"aws_cost_10k_list_price_{service}", float(cost), "usd", "info")
    guarded = monthly_bill(monthly_usage(sim, with_waf, INVOICES), always_free=True)
    bench("aws_cost_per_month_10k_invoices_with_waf", float(sum(guarded.values())), "usd", "info")
    for invoices in SCALES[1:]:
        for suffix, always_free in (("", True), ("_list_price", False)):
            bench(
                f"aws_cost_per_month_{_label(invoices)}_invoices{suffix}",
                float(sum(monthly_bill(usage[invoices], always_free=always_free).values())),
                "usd",
                "info",
            )
    bench("aws_cost_simulated_invoices_issued", sim.invoices_issued, "invoices", "info")
    bench("aws_cost_emails_per_month_10k", float(usage[INVOICES]["ses_messages"]), "emails", "info")
    bench("aws_cost_custom_metrics", sim.custom_metrics, "metrics", "info")
    bench("aws_cost_custom_metric_months", round(sim.custom_metric_months, 2), "metric-months", "info")
    bench("aws_cost_alarms", facts.alarms, "alarms", "info")
