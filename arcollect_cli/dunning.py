"""``arcollect dunning``: preview a sweep, and check, show or upload the dunning policy."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from arcollect.clock import InvalidInstant, format_instant, parse_instant
from arcollect.contract import DropPrefix, Output
from arcollect.interest import describe
from arcollect.policy import Policy, PolicyError, PolicySet, parse_policy, promoted, shipped_policy
from arcollect_cli.backtest import add_parser as add_backtest
from arcollect_cli.target import CliError, Target

ROOT = Path.cwd()


def _emit(document: Any, as_json: bool, text: str) -> None:
    print(json.dumps(document, indent=2, default=str) if as_json else text)


def cmd_preview(args: argparse.Namespace) -> int:
    """What a sweep at ``--at`` would send and create, and why; nothing is written or sent."""
    try:
        at = format_instant(parse_instant(args.at, what="--at"))
    except InvalidInstant as error:
        raise CliError(str(error)) from error
    event = {"action": "preview", "at": at}
    if args.policy:
        # A draft: checked here first (every problem named), then sent for the function to plan with.
        _read_policy(args.policy)
        event["policy"] = Path(args.policy).read_text(encoding="utf-8")
    target = Target.resolve(args.stack, ROOT)
    result = target.invoke(Output.DUNNING_FUNCTION, event)
    _emit(result, args.json, preview_text(result))
    return 0


def preview_text(result: dict[str, Any]) -> str:
    customers = result.get("customers") or []
    freshness = result.get("freshness") or {}
    # Held, a sweep carries out none of the plans below but the anniversary check-ins.
    held = [f"{freshness['reason']}: nothing below but check-ins would go"] if freshness.get("held") else []
    if not customers:
        return "\n".join([*held, f"nothing is due at {result.get('at')}"])
    lines = [*held, f"dunning preview at {result.get('at')}: {len(customers)} customer(s) due"]
    for plan in customers:
        lines.append(
            f"\n{plan['customer_id']}  segment {plan['segment']}, policy {plan['policy']}, "
            f"{plan['time_zone']}"
        )
        email = plan.get("email")
        if email:
            lines.append(
                f"  send email   {email['template']} (step {email['step']}) to {', '.join(email['to'])}: "
                f"{', '.join(email['invoice_numbers'])}"
            )
        for name, verb in (("letter", "post letter "), ("text", "send text   ")):
            message = plan.get(name)
            if message:
                lines.append(
                    f"  {verb} {message['template']} (step {message['step']}) to "
                    f"{' / '.join(message['to'])}: {', '.join(message['invoice_numbers'])}"
                )
        for task in plan.get("tasks") or []:
            lines.append(
                f"  create task  {task['kind']} ({task['priority']}) for {task['assignee']}: {task['title']}"
                + (f" [{', '.join(task['invoice_numbers'])}]" if task["invoice_numbers"] else "")
            )
        for decision in plan.get("decisions") or []:
            if decision["outcome"] in ("email", "task", "letter", "sms"):
                continue
            step = f" {decision['step']}" if decision.get("step") else ""
            lines.append(
                f"  {decision['invoice'] or '(customer)'}: {decision['outcome']}{step} - {decision['why']}"
            )
    return "\n".join(lines)


def _read_policy(path: str) -> PolicySet:
    file = Path(path)
    if not file.is_file():
        raise CliError(f"no policy file at {path}")
    try:
        return parse_policy(file.read_text(encoding="utf-8"), source=str(file))
    except PolicyError as error:
        raise CliError(str(error)) from error


def cmd_policy_check(args: argparse.Namespace) -> int:
    policies = _read_policy(args.file)
    _emit(policy_document(policies), args.json, f"{args.file}: valid\n{policy_table(policies)}")
    return 0


def cmd_policy_show(args: argparse.Namespace) -> int:
    """The policy in force: the uploaded one when there is one, else the shipped one."""
    policies = shipped_policy()
    if not args.shipped:
        target = Target.resolve(args.stack, ROOT)
        bucket = target.output(Output.DROP_BUCKET)
        s3 = boto3.client("s3")
        try:
            body = s3.get_object(Bucket=bucket, Key=DropPrefix.DUNNING_POLICY)["Body"].read()
        except s3.exceptions.NoSuchKey:
            body = None
        if body is not None:
            try:
                policies = parse_policy(
                    body.decode("utf-8"), source=f"s3://{bucket}/{DropPrefix.DUNNING_POLICY}"
                )
            except PolicyError as error:
                raise CliError(
                    f"the uploaded policy is broken; dunning stops until it is fixed:\n{error}"
                ) from error
    _emit(
        policy_document(policies), args.json, f"policy in force: {policies.source}\n{policy_table(policies)}"
    )
    return 0


def cmd_policy_upload(args: argparse.Namespace) -> int:
    """Validate locally, then put the file where the dunning function reads it."""
    policies = _read_policy(args.file)
    target = Target.resolve(args.stack, ROOT)
    bucket = target.output(Output.DROP_BUCKET)
    boto3.client("s3").put_object(
        Bucket=bucket,
        Key=DropPrefix.DUNNING_POLICY,
        Body=Path(args.file).read_bytes(),
        ContentType="application/yaml",
    )
    _emit(
        {"uploaded": f"s3://{bucket}/{DropPrefix.DUNNING_POLICY}", "policies": sorted(policies.policies)},
        args.json,
        f"uploaded {args.file} to s3://{bucket}/{DropPrefix.DUNNING_POLICY}; the next sweep uses it",
    )
    return 0


def cmd_policy_promote(args: argparse.Namespace) -> int:
    """Make the challenger of the test in force the policy for all its customers, in the policy file in
    force (its comments kept), with a note of the test and the time at its top; the bucket's versioning
    keeps the file as it was, and the new version's metadata names the test and the version it replaced."""
    target = Target.resolve(args.stack, ROOT)
    bucket = target.output(Output.DROP_BUCKET)
    s3 = boto3.client("s3")
    source = f"s3://{bucket}/{DropPrefix.DUNNING_POLICY}"
    try:
        current = s3.get_object(Bucket=bucket, Key=DropPrefix.DUNNING_POLICY)
    except s3.exceptions.NoSuchKey:
        raise CliError(
            "no policy uploaded: the shipped policy runs no test, so there is nothing to promote"
        ) from None
    text = current["Body"].read().decode("utf-8")
    try:
        test = parse_policy(text, source=source).challenger
        if test is None:
            raise CliError(f"{source} has no challenger section: there is no test to promote")
        when = format_instant(datetime.now(UTC))
        previous = current.get("VersionId") or "unversioned"
        note = (
            f"Promoted test {test.name} at {when} (arcollect dunning policy promote): {test.policy} "
            f"now works every customer {test.replaces} worked. The file before it: version {previous}."
        )
        result, after = promoted(text, source=source, note=note)
    except PolicyError as error:
        raise CliError(str(error)) from error
    put = s3.put_object(
        Bucket=bucket,
        Key=DropPrefix.DUNNING_POLICY,
        Body=result.encode("utf-8"),
        ContentType="application/yaml",
        Metadata={"promoted-test": test.name, "promoted-at": when, "replaced-version": previous},
    )
    document = {
        "promoted": test.name,
        "policy": test.policy,
        "replaces": test.replaces,
        "at": when,
        "version": put.get("VersionId"),
        "previous_version": previous,
        "segments": {segment.name: segment.policy for segment in after.segments},
    }
    _emit(
        document,
        args.json,
        f"promoted {test.name}: {test.policy} now works every customer {test.replaces} did "
        f"(the file before: version {previous}); the next sweep uses it",
    )
    return 0


def _steps(policy: Policy) -> list[dict[str, Any]]:
    rows = []
    for step in policy.steps:
        conditions = step.conditions
        when = [
            f"amount >= {conditions.amount_min}" if conditions.amount_min is not None else "",
            f"amount <= {conditions.amount_max}" if conditions.amount_max is not None else "",
            f"risk in {','.join(sorted(conditions.risk))}" if conditions.risk else "",
            f"touches >= {conditions.touches_min}" if conditions.touches_min is not None else "",
            f"touches <= {conditions.touches_max}" if conditions.touches_max is not None else "",
            f"segment in {','.join(sorted(conditions.segments))}" if conditions.segments else "",
        ]
        rows.append(
            {
                "step": step.id,
                "when": step.trigger.describe(),
                "action": str(step.action),
                "template": step.template,
                "priority": step.priority.value,
                "conditions": ", ".join(w for w in when if w),
                "title": step.title,
            }
        )
    return rows


def _plan_limits(policies: PolicySet) -> dict[str, Any]:
    from arcollect.plans import limits_of

    limits = limits_of(policies)
    return {
        "max_instalments": limits.max_instalments,
        "max_days": limits.max_days,
        "min_instalment": str(limits.min_instalment),
        "reminder_days_before": limits.reminder_days_before,
    }


def policy_document(policies: PolicySet) -> dict[str, Any]:
    settings = policies.settings
    window = settings.send_window
    return {
        "source": policies.source,
        "settings": {
            "send_window": {
                "days": sorted(window.weekdays),
                "start": window.start.isoformat("minutes"),
                "end": window.end.isoformat("minutes"),
            },
            "time_zone": settings.time_zone,
            "min_days_between_emails": settings.min_days_between_emails,
            "promise_grace_days": settings.promise_grace_days,
            # What a customer may agree online as a payment plan (docs/payment-plans.md).
            "payment_plans": _plan_limits(policies),
            "anniversary_check_in": settings.anniversary_check_in,
            "manager": settings.manager,
        },
        "segments": [{"name": s.name, "policy": s.policy} for s in policies.segments],
        "policies": {
            name: {
                "steps": _steps(policy),
                "repeat": None
                if policy.repeat is None
                else {"every_days": policy.repeat.every_days, "times": policy.repeat.times},
                "late_charges": None if policy.late_charges is None else describe(policy.late_charges),
            }
            for name, policy in policies.policies.items()
        },
        "customer_late_charges": {
            customer: None if config is None else describe(config)
            for customer, config in policies.customer_late_charges.items()
        },
    }


def policy_table(policies: PolicySet) -> str:
    lines = [f"segments (first match wins): {', '.join(f'{s.name}->{s.policy}' for s in policies.segments)}"]
    for name, policy in policies.policies.items():
        lines.append(f"\npolicy {name}")
        for row in _steps(policy):
            extra = f" [{row['conditions']}]" if row["conditions"] else ""
            what = row["template"] or row["title"] or ""
            lines.append(f"  {row['step']:<20} {row['when']:<32} {row['action']:<12} {what}{extra}")
        if policy.repeat:
            lines.append(
                f"  (the last step repeats every {policy.repeat.every_days} days, "
                f"{policy.repeat.times} times)"
            )
        if policy.late_charges is not None:
            lines.append(f"  late charges: {describe(policy.late_charges)}")
    for customer, config in policies.customer_late_charges.items():
        lines.append(f"\ncustomer {customer}: late charges: {describe(config) if config else 'none'}")
    return "\n".join(lines)


def register(commands: Any) -> None:
    dunning = commands.add_parser(
        "dunning", help="the reminder policy and what a sweep would do"
    ).add_subparsers(dest="dunning", required=True)

    def with_stack(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--stack", help="a deployed stack's name (default: the local stack)")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    preview = with_stack(
        dunning.add_parser("preview", help="what a sweep at --at would do, and why (no effects)")
    )
    preview.add_argument("--at", required=True, help="ISO-8601 instant, e.g. 2026-11-23T09:00:00Z")
    preview.add_argument("--policy", help="a draft policy YAML file to preview instead of the one in force")
    preview.set_defaults(func=cmd_preview)
    add_backtest(dunning, with_stack, ROOT)

    policy = dunning.add_parser("policy", help="check, show or upload the dunning policy").add_subparsers(
        dest="policy", required=True
    )
    check = policy.add_parser("check", help="validate a policy YAML file")
    check.add_argument("file")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_policy_check)
    show = with_stack(policy.add_parser("show", help="the policy in force (uploaded, else shipped)"))
    show.add_argument("--shipped", action="store_true", help="the shipped policy, without asking the stack")
    show.set_defaults(func=cmd_policy_show)
    upload = with_stack(
        policy.add_parser("upload", help="validate a policy file and make it the one in force")
    )
    upload.add_argument("file")
    upload.set_defaults(func=cmd_policy_upload)
    promote = with_stack(
        policy.add_parser(
            "promote", help="make the challenger of the test in force the policy for all its customers"
        )
    )
    promote.set_defaults(func=cmd_policy_promote)
