"""The company's settings on the local stack: `arcollect local up -c homeCurrency=EUR -c exportLocale=de-DE`
takes the context keys of `cdk deploy -c`, and its functions keep them for the life of the stack."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from arcollect.contract import EnvVar, FunctionName, Output
from tests.e2e.conftest import RunningStack, _clean_env, stop_stack

CONTEXT = ("-c", "homeCurrency=EUR", "-c", "exportLocale=de-DE")


def local_up(workdir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "arcollect_cli.main", "local", "up", *args],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_clean_env(),
    )


@pytest.fixture(scope="module")
def eur_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    workdir = tmp_path_factory.mktemp("local-stack-eur")
    outputs_file = workdir / ".local" / "outputs.json"
    process = local_up(workdir, *CONTEXT)
    deadline = time.monotonic() + 60
    while not outputs_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the local stack did not start: {process.communicate()[0]}")
        time.sleep(0.1)
    stack = RunningStack(workdir=workdir, outputs=json.loads(outputs_file.read_text()), process=process)
    yield stack
    assert stop_stack(stack) == 0


def test_the_ingest_function_is_configured_with_the_context_given(eur_stack: RunningStack) -> None:
    # What `aws lambda get-function-configuration` shows of a deployed function, asked of the local one.
    lambda_api = boto3.client(
        "lambda",
        endpoint_url=eur_stack.outputs["Local"]["LambdaEndpoint"],
        region_name=eur_stack.outputs["Local"]["Region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    configuration = lambda_api.get_function_configuration(
        FunctionName=eur_stack.outputs[Output.INGEST_FUNCTION]
    )
    variables = configuration["Environment"]["Variables"]
    assert (variables[EnvVar.HOME_CURRENCY], variables[EnvVar.EXPORT_LOCALE]) == ("EUR", "de-DE")
    assert eur_stack.outputs["Local"]["FunctionEnvironment"][FunctionName.INGEST] == variables


def test_a_value_cdk_deploy_would_refuse_stops_local_up_and_names_the_key(tmp_path: Path) -> None:
    process = local_up(tmp_path, "-c", "homeCurrency=EURO")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "arcollect: error: context homeCurrency='EURO' is not an ISO 4217 currency code" in output
    assert not (tmp_path / ".local").exists(), "nothing was started"


def test_a_dropped_file_is_read_with_the_stacks_company_settings(eur_stack: RunningStack) -> None:
    # An export without a currency column, in German conventions whose dates alone read either way:
    # the home currency and the export locale given to local up settle both.
    invoices = eur_stack.workdir / "offene-posten.csv"
    invoices.write_text(
        "customer_id;invoice_number;invoice_date;due_date;amount\r\n"
        "Müller & Söhne, KG;RE/2026/0042;03.04.2026;05.05.2026;1.250\r\n",
        encoding="utf-8",
    )
    result = eur_stack.json("ingest", invoices.name, "--kind", "invoices", "--mapping", "generic")
    assert (result["status"], result["accepted"]) == ("ingested", 1), result
    [invoice] = eur_stack.json("show", "customer", "Müller & Söhne, KG")["invoices"]
    assert (invoice["invoice_number"], invoice["currency"], invoice["invoice_date"], invoice["amount"]) == (
        "RE/2026/0042",
        "EUR",
        "2026-04-03",
        "1250",
    )
