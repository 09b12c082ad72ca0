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
