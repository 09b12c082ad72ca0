"""The company's settings are deployment context: homeCurrency and exportLocale reach the ingest function,
and a value it could not use stops the deployment at synth, naming the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arcollect.company import LOCALES
from arcollect.contract import EnvVar
from infra.application import default_context
from infra.config import ConfigError, StackConfig
from infra.platform import REPO_ROOT
from tests.infra.conftest import Synthesized, synthesize


def ingest_environment(synthesized: Synthesized) -> dict[str, object]:
    stack = synthesized.stack
    function = synthesized.template.find_resources("AWS::Lambda::Function")[
        stack.get_logical_id(stack.ingest.function.node.default_child)
    ]
    return dict(function["Properties"]["Environment"]["Variables"])


def test_by_default_documents_without_a_currency_are_in_usd_and_no_export_locale_is_assumed(
    synthesized: Synthesized,
) -> None:
    variables = ingest_environment(synthesized)
    assert variables[EnvVar.HOME_CURRENCY] == "USD"
    assert variables[EnvVar.EXPORT_LOCALE] == ""


def test_the_ingest_function_gets_the_home_currency_and_export_locale_of_the_context(tmp_path: Path) -> None:
    synthesized = synthesize(tmp_path, homeCurrency="EUR", exportLocale="de-DE")
    variables = ingest_environment(synthesized)
    assert variables[EnvVar.HOME_CURRENCY] == "EUR"
    assert variables[EnvVar.EXPORT_LOCALE] == "de-DE"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"homeCurrency": "EURO"}, "context homeCurrency='EURO' is not an ISO 4217 currency code"),
        ({"homeCurrency": "XYZ"}, "context homeCurrency='XYZ' is not an ISO 4217 currency code"),
        ({"exportLocale": "xx-YY"}, "context exportLocale='xx-YY' is not a locale arcollect knows"),
        ({"exportLocale": "de"}, "context exportLocale='de' is not a locale arcollect knows"),
    ],
)
def test_a_currency_or_locale_the_functions_could_not_use_stops_the_synth_naming_the_key(
    tmp_path: Path, context: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        synthesize(tmp_path, **context)
    assert str(refused.value).startswith(message)


def test_the_refusal_lists_the_locales_that_are_accepted() -> None:
    with pytest.raises(ConfigError) as refused:
        StackConfig.from_mapping({"senderEmail": "ar@yourco.example", "exportLocale": "xx-YY"})
    assert all(tag in str(refused.value) for tag in ("en-US", "de-DE", "nl-NL", "fr-FR"))


def test_a_currency_and_a_locale_are_written_as_the_functions_read_them() -> None:
    config = StackConfig.from_mapping(
        {"senderEmail": "ar@yourco.example", "homeCurrency": " eur ", "exportLocale": "de_DE"}
    )
    assert config.home_currency == "EUR"
    assert config.export_locale == "de-DE"


def test_a_whole_number_setting_that_is_not_one_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"context logRetentionDays='ninety': use a whole number"):
        StackConfig.from_mapping({"senderEmail": "ar@yourco.example", "logRetentionDays": "ninety"})


def readme_row(key: str) -> list[str]:
    """The cells of the configuration table's row of a context key (docs/deploy.md, linked from the
    README)."""
    [line] = [
        line
        for line in (REPO_ROOT / "docs" / "deploy.md").read_text().splitlines()
        if line.startswith(f"| `{key}` |")
    ]
    return [cell.strip() for cell in line.strip(" |").split(" | ")]


def test_the_deploy_docs_give_both_settings_their_cdk_json_defaults_and_every_accepted_locale() -> None:
    defaults = default_context()
    assert readme_row("homeCurrency")[1] == f"`{defaults['homeCurrency']}`"
    _, default, meaning = readme_row("exportLocale")
    assert (defaults["exportLocale"], default) == ("", "empty")
    assert re.findall(r"`([a-z]{2}-[A-Z]{2})`", meaning) == [locale.tag for locale in LOCALES.values()]
