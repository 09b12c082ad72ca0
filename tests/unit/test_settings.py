from __future__ import annotations

import pytest

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
