"""`arcollect local up -c KEY=VALUE`: the context keys `cdk deploy -c` takes, over cdk.json's, checked by
the CDK app's rules before anything starts (tests/e2e/test_local_company_settings.py runs the stack)."""

from __future__ import annotations

from typing import Any

import pytest

from arcollect.contract import FUNCTION_ENVIRONMENT, EnvVar, FunctionName, ReportCadence
from arcollect_cli import main as cli
from arcollect_cli.local import stack as local_stack
from arcollect_cli.local.context import LOCAL_CONTEXT_KEYS, local_spec, parse_context
from arcollect_cli.local.spec import LocalSpec, ScheduleSpec


class _Started(BaseException):  # past main()'s one-line report of any Exception
    """Raised by the stand-in stack where the real one would start: `local up` got that far."""


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[LocalSpec]:
    """The spec of each local stack `local up` went on to start (none when it refused)."""
    specs: list[LocalSpec] = []

    class StandIn:
        def __init__(self, root: Any, *, spec: LocalSpec, **ports: int) -> None:
            specs.append(spec)

        def start(self, progress: Any) -> None:
            raise _Started

    monkeypatch.setattr(local_stack, "LocalStack", StandIn)
    return specs


def environment(spec: LocalSpec) -> dict[str, dict[str, str]]:
    return spec.environment(
        table="t",
        portal_url="http://portal/",
        link_secret_arn="s",
        ingest_queue_url="i",
        dunning_queue_url="d",
    )


def test_without_context_the_local_stack_is_what_cdk_json_deploys() -> None:
    assert local_spec(parse_context([])) == LocalSpec()


def test_context_values_reach_the_functions_environment_and_the_schedules() -> None:
    spec = local_spec(
        parse_context(
            [
                "homeCurrency=eur",
                "exportLocale=de-DE",
                "portalLinkDays=7",
                # The value is everything after the first '=': a payment URL has its own.
                "paymentUrlTemplate=https://pay.yourco.example/?invoice={invoice_number}&amount={open_amount}",
                "dunningSchedule=rate(2 hours)",
                "reportsWeeklySchedule=cron(0 6 ? * FRI *)",
                "exportLocale=nl-NL",  # given twice: the last one counts, as with the CDK CLI
            ]
        )
    )
    ingest = environment(spec)[FunctionName.INGEST]
    assert ingest[EnvVar.HOME_CURRENCY] == "EUR"
    assert ingest[EnvVar.EXPORT_LOCALE] == "nl-NL"
    expected = {
        EnvVar.PORTAL_LINK_DAYS: "7",
        EnvVar.PAYMENT_URL_TEMPLATE: "https://pay.yourco.example/?invoice={invoice_number}&amount={open_amount}",
    }
    given = {
        (function, variable): variables[variable]
        for function, variables in environment(spec).items()
        for variable in expected
        if variable in FUNCTION_ENVIRONMENT[function]
    }
    assert given, "some function reads the portal link settings"
    assert all(value == expected[variable] for (_, variable), value in given.items()), given
    assert ScheduleSpec(FunctionName.DUNNING, "rate(2 hours)") in spec.schedules
    assert ScheduleSpec(FunctionName.REPORTS, "cron(0 6 ? * FRI *)", ReportCadence.WEEKLY) in spec.schedules
    assert len(spec.schedules) == len(LocalSpec().schedules)


def test_local_up_starts_the_stack_with_the_context_given(
    started: list[LocalSpec], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(_Started):
        cli.main(["local", "up", "-c", "homeCurrency=EUR", "--context", "exportLocale=de-DE"])
    [spec] = started
    assert (spec.home_currency, spec.export_locale) == ("EUR", "de-DE")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("homeCurrency=EURO", "homeCurrency='EURO' is not an ISO 4217 currency code"),
        ("exportLocale=xx-YY", "exportLocale='xx-YY' is not a locale arcollect knows (en-US, "),
        ("portalLinkDays=0", "portalLinkDays='0': a whole number of days from 1 to 365"),
        ("dunningSchedule=hourly", "dunningSchedule='hourly': use rate(N unit)"),
        ("paymentUrlTemplate=http://pay.yourco.example/{invoice_number}", "paymentUrlTemplate="),
        # A key the CDK app does not read; the one it meant is among those listed.
        ("homeCurency=EUR", "-c homeCurency: not a context key of the stack; the local stack takes "),
        # A key of a deployed stack only: taking it silently would suggest it changed something.
        ("senderEmail=ar@yourco.example", "-c senderEmail: a setting of a deployed stack the local stack"),
        ("homeCurrency", "-c 'homeCurrency': write the context value as KEY=VALUE"),
        ("=EUR", "-c '=EUR': write the context value as KEY=VALUE"),
    ],
)
def test_a_value_cdk_deploy_would_refuse_stops_local_up_before_it_starts(
    started: list[LocalSpec], capsys: pytest.CaptureFixture[str], option: str, message: str
) -> None:
    assert cli.main(["local", "up", "-c", "homeCurrency=EUR", "-c", option]) == 2
    assert started == []
    error = capsys.readouterr().err
    assert error.startswith("arcollect: error: ") and message in error, error


def test_an_unknown_key_is_answered_with_every_key_the_local_stack_takes(
    started: list[LocalSpec], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["local", "up", "-c", "homeCurency=EUR"]) == 2
    error = capsys.readouterr().err
    assert all(key in error for key in LOCAL_CONTEXT_KEYS), error
