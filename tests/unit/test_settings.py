from __future__ import annotations

import importlib

import pytest

from arcollect.contract import FUNCTION_ENVIRONMENT, FUNCTION_REQUIRED, FunctionName
from arcollect.settings import ConfigurationError, Settings


def test_settings_come_from_the_environment_and_blank_means_unset() -> None:
    settings = Settings.from_env({"TABLE_NAME": "t", "DROP_BUCKET": "  ", "ENVIRONMENT_NAME": "prod"})
    assert settings.table_name == "t"
    assert settings.drop_bucket is None
    assert settings.environment_name == "prod"


def test_a_missing_required_setting_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="REPORTS_BUCKET"):
        Settings.from_env({}).require("reports_bucket")


def test_numbers_have_defaults_and_a_bad_value_names_the_variable() -> None:
    settings = Settings.from_env({})
    assert (settings.ses_max_send_rate, settings.portal_link_days, settings.payment_url_template) == (
        1.0,
        30,
        None,
    )
    assert Settings.from_env({"SES_MAX_SEND_RATE": "14", "PORTAL_LINK_DAYS": "7"}).portal_link_days == 7
    for name, value in (
        ("SES_MAX_SEND_RATE", "0"),
        ("SES_MAX_SEND_RATE", "fast"),
        ("PORTAL_LINK_DAYS", "400"),
    ):
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env({name: value})


# Every variable each function's environment carries (contract.FUNCTION_ENVIRONMENT), set.
FULL = {
    name: "arn:aws:x" if name == "LINK_SECRET_ARN" else ("1" if name.endswith(("_RATE", "_DAYS")) else "x")
    for names in FUNCTION_ENVIRONMENT.values()
    for name in names
}


def test_each_function_requires_only_variables_its_environment_carries() -> None:
    for function in FunctionName.ALL:
        assert set(FUNCTION_REQUIRED[function]) <= set(FUNCTION_ENVIRONMENT[function]), function
        assert all(name.lower() in Settings.__dataclass_fields__ for name in FUNCTION_REQUIRED[function])
        assert Settings.from_env(FULL).checked(function).table_name == "x"


@pytest.mark.parametrize(
    ("function", "variable"),
    [(function, variable) for function in FunctionName.ALL for variable in FUNCTION_REQUIRED[function]],
)
def test_a_function_missing_a_required_variable_fails_its_cold_start_naming_it(
    function: str, variable: str
) -> None:
    # Given every variable the stack sets but one the function cannot start without
    settings = Settings.from_env({**FULL, variable: ""})
    # When the function's wiring runs (what its handler does at import), Then it names that variable
    build = getattr(importlib.import_module(f"arcollect.app.{function}"), f"build_{function}")
    with pytest.raises(ConfigurationError, match=rf"the {function} function cannot start: .*\b{variable}\b"):
        build(settings)
