"""``arcollect local up -c KEY=VALUE``: the local stack takes the context keys ``cdk deploy -c`` takes.

Each value goes over cdk.json's context, as with ``cdk deploy``, and the whole is checked by the CDK
app's own rules (``infra/config.py``), so a value a deployment would refuse is refused here, with the
same message naming the key. The values hold for the life of that local stack: its one process hosts the
four functions with the environment they make, and every later invocation (``arcollect tick``, a file
dropped in the drop bucket, the demo's) runs in that process.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Final

from arcollect.contract import FunctionName, ReportCadence
from arcollect.reports.exports import EXPORT_SCHEDULE
from arcollect_cli.local.spec import (
    REPO_ROOT,
    REPORTS_SCHEDULE_KEYS,
    LocalSpec,
    ScheduleSpec,
    cdk_context,
)
from arcollect_cli.target import CliError

# The context keys the local stack reads; the rest configure what only AWS has (the sender's verified
# address, the portal's domain, alarms, log retention, the web ACL, SES's sandbox rate).
LOCAL_CONTEXT_KEYS: Final = (
    "homeCurrency",
    "exportLocale",
    "portalLinkDays",
    "retentionYears",
    "paymentUrlTemplate",
    "dunningSchedule",
    *REPORTS_SCHEDULE_KEYS.values(),
    # Reminders' reply addresses on it; `arcollect inbox drop` threads by them (docs/inbox.md).
    "inboundDomain",
)
# A context key of the CDK app (infra/application.py) without a default in cdk.json.
_UNLISTED_DEPLOYMENT_KEYS: Final = ("stackName",)


def parse_context(pairs: Sequence[str]) -> dict[str, str]:
    """The ``-c KEY=VALUE`` options, in order (a key given twice keeps its last value, as in the CDK CLI).

    The value is everything after the first ``=``: a payment URL template has its own."""
    context: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        key = key.strip()
        if not equals or not key:
            raise CliError(f"-c {pair!r}: write the context value as KEY=VALUE, e.g. -c homeCurrency=EUR")
        if key not in LOCAL_CONTEXT_KEYS:
            known = ", ".join(LOCAL_CONTEXT_KEYS)
            if key in cdk_context() or key in _UNLISTED_DEPLOYMENT_KEYS:
                raise CliError(
                    f"-c {key}: a setting of a deployed stack the local stack has no use for; "
                    f"the local stack takes {known}"
                )
            raise CliError(f"-c {key}: not a context key of the stack; the local stack takes {known}")
        context[key] = value
    return context


def local_spec(overrides: Mapping[str, str]) -> LocalSpec:
    """The local stack of cdk.json's context with ``overrides`` over it, checked as ``cdk deploy`` checks.

    Without overrides it is ``LocalSpec()``: what cdk.json deploys."""
    rules = _deployment_rules()
    try:
        config = rules.StackConfig.from_mapping({**cdk_context(), **overrides})
    except rules.ConfigError as error:
        raise CliError(str(error)) from None
    return LocalSpec(
        portal_link_days=config.portal_link_days,
        retention_years=config.retention_years,
        payment_url_template=config.payment_url_template or "",
        home_currency=config.home_currency,
        export_locale=config.export_locale,
        inbound_domain=config.inbound_domain or "",
        schedules=(
            ScheduleSpec(FunctionName.DUNNING, config.dunning_schedule),
            *(
                ScheduleSpec(FunctionName.REPORTS, config.reports_schedules[cadence], cadence)
                for cadence in ReportCadence.ALL
            ),
            # The table's daily export, which no context key moves (as _schedules_from_cdk_json has it).
            ScheduleSpec(FunctionName.REPORTS, EXPORT_SCHEDULE),
        ),
    )


def _deployment_rules() -> ModuleType:
    """``infra/config.py``, loaded from the checkout as the functions' handlers are: the CDK app is not
    part of the installed package (only ``arcollect`` and ``arcollect_cli`` are), and that module leaves
    the CDK out of its imports, so checking costs no CDK start."""
    name = "arcollect_cli_deployment_config"
    if name in sys.modules:
        return sys.modules[name]
    path = REPO_ROOT / "infra" / "config.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CliError(f"cannot read the deployment settings' rules from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
