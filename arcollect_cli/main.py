"""The ``arcollect`` command: run the local stack and work with a local or deployed stack."""

from __future__ import annotations

import argparse
import calendar
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3

from arcollect.clock import InvalidInstant, format_instant, parse_instant
from arcollect.contract import (
    Output,
    ReportCadence,
    ReportPrefix,
    StaffGroups,
)
from arcollect.entities import DropKind
from arcollect.ingest.mappings import MappingError, load_mapping, presets
from arcollect_cli.ingest import ingest_file, outcome_line
from arcollect_cli.output import emit, progress
from arcollect_cli.target import FUNCTION_OUTPUTS, CliError, Target

ROOT = Path.cwd()
KINDS = ("invoices", "payments", "customers")
# The demo's default: a working week after the go-live, sized to serve the portal within two minutes on
# a 2-core machine (README, "Benchmarks"); `--days 60` runs the full two months.
DEMO_DAYS = 7


# -- local stack ---------------------------------------------------------------------------------


def cmd_local_up(args: argparse.Namespace) -> int:
    from arcollect_cli.local.context import local_spec, parse_context
    from arcollect_cli.local.stack import LocalStack

    # Checked before anything starts: a value `cdk deploy -c` would refuse never reaches a function.
    context = parse_context(args.context)
    spec = local_spec(context)
    if context:
        progress("context over cdk.json's: " + ", ".join(f"{key}={value}" for key, value in context.items()))
    stack = LocalStack(
        ROOT, aws_port=args.aws_port, portal_port=args.portal_port, lambda_port=args.lambda_port, spec=spec
    )
    stack.start(progress)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stack.request_stop())
    progress("running; Ctrl-C to stop")
    try:
        stack.wait()
    finally:
        progress("stopping")
        stack.stop()
    return 0


# -- working with a stack ------------------------------------------------------------------------


def cmd_mappings(args: argparse.Namespace) -> int:
    if args.check:
        path = Path(args.check)
        if not path.is_file():
            raise CliError(f"--check {args.check}: no such file")
        try:
            mapping = load_mapping(path.read_bytes(), source=str(path))
        except MappingError as error:
            raise CliError(str(error)) from error
        found = [mapping.describe()]
    else:
        found = [m.describe() for m in presets(DropKind(args.kind) if args.kind else None)]
    lines = [
        f"{m['kind']:<10} {m['name']:<22} {m['mode']:<9} {m['description']}\n"
        f"{'':<10} {'':<22} {'':<9} needs: {', '.join(m['required_columns'])}"
        for m in found
    ]
    emit(found, args.json, "\n".join(lines))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    target = Target.resolve(args.stack, ROOT)
    result = ingest_file(
        target, Path(args.file), args.kind, args.mapping, args.timeout, mode=args.mode, as_of=args.as_of
    )
    emit(result, args.json, outcome_line(args.file, result))
    return 1 if result.get("errors") else 0


def cmd_inbox_drop(args: argparse.Namespace) -> int:
    from arcollect_cli.inbox import drop_message

    target = Target.resolve(args.stack, ROOT)
    result = drop_message(target, Path(args.file), args.timeout)
    said = "already filed (the same message delivered again)" if result["duplicate"] else result["summary"]
    emit(result, args.json, f"{args.file}: {result['customer_id']}: {said}")
    return 0


def cmd_tick(args: argparse.Namespace) -> int:
    try:
        at = format_instant(parse_instant(args.at, what="--at"))
    except InvalidInstant as error:
        raise CliError(str(error)) from error
    detail = None
    if args.function == "reports":  # which of its three schedules fired
        detail = {"cadence": args.cadence or ReportCadence.DAILY}
    elif args.cadence:
        raise CliError(f"--cadence is for `tick reports`: the {args.function} schedule has no cadence")
    target = Target.resolve(args.stack, ROOT)
    result = target.tick(FUNCTION_OUTPUTS[args.function], at, detail)
    if args.function == "dunning":  # the sweep fans out per-customer work: done when its queue is empty
        target.wait_until_drained(Output.DUNNING_QUEUE_URL)
    emit(result, args.json, json.dumps(result, default=str))
    return 0


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
EVERY = ("day", "week", "month")


def parse_day(value: str, option: str) -> date:
    """A calendar day written YYYY-MM-DD; the error names the option."""
    try:
        if _DAY.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise CliError(f"{option} {value!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-23")


def _add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later (that month's last day when it is shorter); from a
    month's last day, the last day of each month."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    month_end = day.day == calendar.monthrange(day.year, day.month)[1]
    return date(year, month + 1, last if month_end else min(day.day, last))


def report_days(args: argparse.Namespace) -> list[date]:
    """The as-of days of ``reports run``: ``--as-of DAY``, or ``--from A --to B [--every ...]``."""
    if args.as_of is not None:
        if args.start is not None or args.end is not None or args.every is not None:
            raise CliError("use either --as-of DATE or --from DATE --to DATE [--every ...], not both")
        return [parse_day(args.as_of, "--as-of")]
    if args.start is None or args.end is None:
        raise CliError("name the day to report on with --as-of DATE (or a range: --from DATE --to DATE)")
    start, end = parse_day(args.start, "--from"), parse_day(args.end, "--to")
    if end < start:
        raise CliError(f"--to {end} is before --from {start}")
    steps: dict[str, Callable[[int], date]] = {
        "day": lambda n: start + timedelta(days=n),
        "week": lambda n: start + timedelta(weeks=n),
        "month": lambda n: _add_months(start, n),
    }
    step = steps[args.every or "day"]
    days: list[date] = []
    while (day := step(len(days))) <= end:
        days.append(day)
    return days


def cmd_reports_run(args: argparse.Namespace) -> int:
    days = report_days(args)  # checked before anything is invoked
    target = Target.resolve(args.stack, ROOT)
    runs: list[Any] = []
    lines: list[str] = []
    for number, day in enumerate(days, 1):
        if len(days) > 1:
            progress(f"[{number}/{len(days)}] reports as of {day} ({args.cadence})")
        result = target.invoke(
            Output.REPORTS_FUNCTION, {"action": "run", "as_of": day.isoformat(), "cadence": args.cadence}
        )
        runs.append(result)
        document = result if isinstance(result, dict) else {}
        lines.extend(str(key) for key in document.get("written") or [])
        if document.get("emailed"):
            progress(f"as of {day}: emailed {', '.join(map(str, document['emailed']))}")
    emit(runs[0] if args.as_of is not None else runs, args.json, "\n".join(lines) or "(no files written)")
    return 0


def cmd_reports_fetch(args: argparse.Namespace) -> int:
    target = Target.resolve(args.stack, ROOT)
    bucket = target.output(Output.REPORTS_BUCKET)
    s3 = boto3.client("s3")
    destination = Path(args.to)
    fetched = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=ReportPrefix.LATEST):
        for obj in page.get("Contents", []):
            local = destination / obj["Key"][len(ReportPrefix.LATEST) :]
            local.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(local))
            fetched.append(str(local))
    if not fetched:
        raise CliError(
            f"no reports under s3://{bucket}/{ReportPrefix.LATEST} yet: run "
            "`arcollect reports run --as-of YYYY-MM-DD`"
        )
    emit(fetched, args.json, "\n".join(fetched))
    return 0


def cmd_portal_link(args: argparse.Namespace) -> int:
    from arcollect_cli.links import portal_link

    target = Target.resolve(args.stack, ROOT)
    print(portal_link(target, args.customer_id))
    return 0


def cmd_rotate_link_key(args: argparse.Namespace) -> int:
    from arcollect_cli.links import rotate_key

    if args.grace_days < 0:
        raise CliError(f"--grace-days {args.grace_days}: a number of days from 0")
    rotated = rotate_key(Target.resolve(args.stack, ROOT), args.grace_days)
    until = format_instant(rotated.previous_until) if rotated.previous_until else None
    emit(
        {"rotated": True, "previous_key_valid_until": until},
        args.json,
        f"new link-signing key in force; links signed with the previous one open until {until}",
    )
    return 0


def cmd_mail_dns(args: argparse.Namespace) -> int:
    target = Target.resolve(args.stack, ROOT)
    text = target.outputs.get(Output.SENDER_DNS_RECORDS)
    if not text:
        raise CliError(
            "this stack sends from an email identity, without DKIM: deploy it with "
            "-c senderDomain=<the domain of senderEmail> to sign reminders, then publish what this prints"
        )
    records = json.loads(text)
    emit(
        records,
        args.json,
        "\n".join(f"{r['name']}  {r['type']}  {r['value']}" for r in records),
    )
    return 0


def cmd_portal_revoke(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from arcollect.portal.access import NotFound, revoke_links
    from arcollect.store.portal import PortalStore

    target = Target.resolve(args.stack, ROOT)
    target.bind_table()
    now = datetime.now(UTC)  # the CLI is the one place that reads the clock: the operator's "now"
    try:
        revoke_links(args.customer_id, now=now, store=PortalStore())
    except NotFound as error:
        raise CliError(str(error)) from error
    emit(
        {"customer_id": args.customer_id, "links_valid_from": format_instant(now)},
        args.json,
        f"links of {args.customer_id} issued before {format_instant(now)} no longer work; sessions ended",
    )
    return 0


def cmd_show_customer(args: argparse.Namespace) -> int:
    from arcollect_cli.show import customer_360

    target = Target.resolve(args.stack, ROOT)
    target.bind_table()
    document = customer_360(args.customer_id)
    if document is None:
        raise CliError(f"no customer {args.customer_id!r}")
    emit(document, args.json, json.dumps(document, indent=2, default=str))
    return 0


def cmd_reindex_credits(args: argparse.Namespace) -> int:
    from arcollect.store.repositories import index_credits

    target = Target.resolve(args.stack, ROOT)
    target.bind_table()
    indexed = index_credits()
    emit({"indexed": indexed}, args.json, f"{indexed} credit note(s) and payment(s) put in by_credit")
    return 0


def cmd_sms_reply(args: argparse.Namespace) -> int:
    from arcollect_cli.local.sms import inbound_payload, sns_record

    try:
        at = parse_instant(args.at, what="--at")
    except InvalidInstant as error:
        raise CliError(str(error)) from error
    target = Target.resolve(args.stack, ROOT)
    record = sns_record(inbound_payload(args.number, " ".join(args.body)), at)
    result = target.invoke(FUNCTION_OUTPUTS["dunning"], {"Records": [record]})
    emit(result, args.json, json.dumps(result, default=str))
    return 0


def cmd_sms_receipt(args: argparse.Namespace) -> int:
    from arcollect_cli.local.sms import read_sms_outbox, receipt_event

    try:
        at = parse_instant(args.at, what="--at")
    except InvalidInstant as error:
        raise CliError(str(error)) from error
    target = Target.resolve(None, ROOT)
    local = target.outputs["Local"]
    texts = read_sms_outbox(Path(local.get("SmsOutbox") or Path(local["Outbox"]) / "sms"))
    found = [t for t in texts if t.get("message_id") == args.message_id]
    if not found:
        raise CliError(
            f"no text {args.message_id!r} in the local stack's outbox: `arcollect outbox --sms --json` "
            "lists the texts sent, with their message ids"
        )
    result = target.invoke(FUNCTION_OUTPUTS["dunning"], receipt_event(found[0], args.status, at))
    emit(result, args.json, json.dumps(result, default=str))
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from arcollect_cli.outbox import outbox_text, read_outbox, sms_outbox_text

    target = Target.resolve(None, ROOT)
    if args.sms:
        from arcollect_cli.local.sms import read_sms_outbox

        local = target.outputs["Local"]
        texts = read_sms_outbox(Path(local.get("SmsOutbox") or Path(local["Outbox"]) / "sms"))
        emit(texts, args.json, sms_outbox_text(texts) or "(no text sent yet)")
        return 0
    emails = read_outbox(Path(target.outputs["Local"]["Outbox"]))
    emit(emails, args.json, outbox_text(emails) or "(no email sent yet)")
    return 0


def cmd_staff_revoke(args: argparse.Namespace) -> int:
    from arcollect_cli.staff import cmd_staff_revoke as revoke

    return revoke(args, ROOT)


def cmd_staff_totp(args: argparse.Namespace) -> int:
    from arcollect_cli.staff import cmd_staff_totp as totp

    return totp(args, ROOT)


def cmd_staff_add_user(args: argparse.Namespace) -> int:
    from arcollect_cli.staff import cmd_staff_add_user as add_user

    return add_user(args, ROOT)


def cmd_demo(args: argparse.Namespace) -> int:
    from arcollect_cli.demo import run_demo

    return run_demo(
        ROOT,
        serve=not args.no_serve,
        customers=args.customers,
        months=args.months,
        days=args.days,
        seed=args.seed,
        every_hour=args.every_hour,
    )


# -- parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arcollect", description="Automated accounts-receivable collections."
    )
    parser.add_argument("--verbose", action="store_true", help="log what the functions log")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_stack(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--stack", help="a deployed stack's name (default: the local stack)")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    local = commands.add_parser("local", help="the embedded local stack").add_subparsers(
        dest="local", required=True
    )
    up = local.add_parser("up", help="start the local stack in the foreground (Ctrl-C stops it)")
    # Each checked before anything starts: a port in use is refused in one line naming the option.
    for name, what in (
        ("aws", "the AWS emulator (moto)"),
        ("portal", "the portal and the staff console"),
        ("lambda", "the Lambda Invoke API"),
    ):
        up.add_argument(f"--{name}-port", type=int, default=0, help=f"port of {what} (default: any free one)")
    up.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a context value over cdk.json's, as `cdk deploy -c` takes it (repeatable), "
        "e.g. -c homeCurrency=EUR -c exportLocale=de-DE",
    )
    up.set_defaults(func=cmd_local_up)

    ingest = with_stack(commands.add_parser("ingest", help="drop an ERP file and print the ingest result"))
    ingest.add_argument("file")
    ingest.add_argument("--kind", required=True, choices=KINDS)
    ingest.add_argument("--mapping", help="a preset name (see `arcollect mappings`), or a YAML mapping file")
    ingest.add_argument("--mode", choices=("snapshot", "delta"), help="override the mapping's mode")
    ingest.add_argument("--as-of", help="the date (or ISO 8601 instant) the file describes")
    ingest.add_argument("--timeout", type=float, default=600)
    ingest.set_defaults(func=cmd_ingest)

    inbox = commands.add_parser("inbox", help="customers' replies to reminders").add_subparsers(
        dest="inbox", required=True
    )
    inbox_drop = with_stack(
        inbox.add_parser("drop", help="deliver a received email (.eml) as SES would; say where it was filed")
    )
    inbox_drop.add_argument("file")
    inbox_drop.add_argument("--timeout", type=float, default=120)
    inbox_drop.set_defaults(func=cmd_inbox_drop)

    mappings = commands.add_parser("mappings", help="list the shipped column mappings, or check one")
    mappings.add_argument("--kind", choices=KINDS)
    mappings.add_argument("--check", metavar="FILE", help="validate a YAML mapping file")
    mappings.add_argument("--json", action="store_true", help="machine-readable output")
    mappings.set_defaults(func=cmd_mappings)

    tick = with_stack(commands.add_parser("tick", help="invoke a scheduled function at a given time"))
    tick.add_argument("function", choices=sorted(FUNCTION_OUTPUTS))
    tick.add_argument("--at", required=True, help="ISO-8601 instant, e.g. 2026-11-23T09:00:00Z")
    tick.add_argument(
        "--cadence",
        choices=ReportCadence.ALL,
        help="reports only: which of its schedules fires (default daily; weekly also emails the managers "
        "their summary, monthly reports on the month that ended before --at)",
    )
    tick.set_defaults(func=cmd_tick)

    sms = commands.add_parser("sms", help="reminder texts").add_subparsers(dest="sms", required=True)
    reply = with_stack(
        sms.add_parser("reply", help="a customer's reply to a text, as AWS's two-way SMS topic delivers it")
    )
    reply.add_argument("--from", dest="number", required=True, help="the customer's number, E.164")
    reply.add_argument("--at", required=True, help="ISO-8601 instant the reply arrived")
    reply.add_argument("body", nargs="+", help="what the customer wrote, e.g. STOP")
    reply.set_defaults(func=cmd_sms_reply)
    from arcollect.sms import DELIVERED_EVENTS, PENDING_EVENTS, UNDELIVERED_EVENTS

    receipt = sms.add_parser(
        "receipt",
        help="the carrier's delivery status of a text the local stack sent, as AWS sends it to EventBridge",
    )
    receipt.add_argument("message_id", help="the text's message id (`arcollect outbox --sms --json`)")
    receipt.add_argument(
        "--status",
        required=True,
        choices=sorted({*DELIVERED_EVENTS, *UNDELIVERED_EVENTS, *PENDING_EVENTS}),
        metavar="EVENT_TYPE",
        help="the event type, e.g. TEXT_DELIVERED, or TEXT_UNREACHABLE (not delivered: the step goes by "
        "its next channel) or TEXT_INVALID (the number cannot receive texts)",
    )
    receipt.add_argument("--at", required=True, help="ISO-8601 instant of the receipt")
    receipt.add_argument("--json", action="store_true", help="machine-readable output")
    receipt.set_defaults(func=cmd_sms_receipt)

    reports = commands.add_parser("reports", help="KPI reports").add_subparsers(dest="reports", required=True)
    fetch = with_stack(reports.add_parser("fetch", help="download the latest reports"))
    fetch.add_argument("--to", required=True)
    fetch.set_defaults(func=cmd_reports_fetch)
    run = with_stack(
        reports.add_parser(
            "run",
            help="compute the reports as of a day, or of each day of a range (backfill)",
            description="Invokes the reports function for each as-of day in turn and prints the keys it "
            "wrote in the reports bucket. The same data gives the same files, so past days can be "
            "backfilled or reproduced.",
        )
    )
    run.add_argument("--as-of", metavar="YYYY-MM-DD", help="the day reported on")
    run.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="backfill: the first as-of day")
    run.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="backfill: the last as-of day (included)")
    run.add_argument("--every", choices=EVERY, help="backfill: one run per day (default), week or month")
    run.add_argument(
        "--cadence",
        choices=ReportCadence.ALL,
        default=ReportCadence.DAILY,
        help="as which schedule's run (default daily; weekly also emails the managers their summary)",
    )
    run.set_defaults(func=cmd_reports_run)

    link = with_stack(commands.add_parser("portal-link", help="a signed portal link for a customer"))
    link.add_argument("customer_id")
    link.set_defaults(func=cmd_portal_link)

    mail = commands.add_parser("mail", help="the stack's email sending").add_subparsers(
        dest="mail", required=True
    )
    dns = with_stack(
        mail.add_parser(
            "dns", help="the DNS records to publish for the sender domain (DKIM, MAIL FROM, DMARC)"
        )
    )
    dns.set_defaults(func=cmd_mail_dns)

    rotate = with_stack(
        commands.add_parser(
            "rotate-link-key",
            help="a new portal link-signing key; links signed with the old one keep opening until they "
            "expire",
        )
    )
    rotate.add_argument(
        "--grace-days",
        type=int,
        default=30,
        help="days the previous key still opens links (default 30: the stack's portalLinkDays if you "
        "changed it; 0 when the key leaked)",
    )
    rotate.set_defaults(func=cmd_rotate_link_key)

    revoke = with_stack(
        commands.add_parser(
            "portal-revoke", help="stop every portal link a customer has, and end its sessions"
        )
    )
    revoke.add_argument("customer_id")
    revoke.set_defaults(func=cmd_portal_revoke)

    reindex = with_stack(
        commands.add_parser(
            "reindex-credits",
            help="once, after upgrading a stack: index the credit notes and unapplied payments written "
            "before the by_credit index existed",
        )
    )
    reindex.set_defaults(func=cmd_reindex_credits)

    show = commands.add_parser("show", help="look at data").add_subparsers(dest="show", required=True)
    customer = with_stack(show.add_parser("customer", help="a customer's profile, invoices and timeline"))
    customer.add_argument("customer_id")
    customer.set_defaults(func=cmd_show_customer)

    outbox = commands.add_parser("outbox", help="emails the local stack sent")
    outbox.add_argument("--json", action="store_true")
    outbox.add_argument("--sms", action="store_true", help="the text messages instead (.local/outbox/sms/)")
    outbox.set_defaults(func=cmd_outbox)

    staff = commands.add_parser("staff", help="the collections team's sign-in accounts").add_subparsers(
        dest="staff", required=True
    )
    add_user = with_stack(
        staff.add_parser(
            "add-user",
            help="create a collector or manager in the staff user pool",
            description="USERNAME is the owner key the customer master uses for the collector "
            "(their worklist is the tasks they own). Without --password the user gets a temporary "
            "password (emailed by Cognito; printed by the local stack) to change at first sign-in.",
        )
    )
    add_user.add_argument("username")
    add_user.add_argument("--email", required=True)
    add_user.add_argument("--group", required=True, choices=StaffGroups.ALL)
    add_user.add_argument("--password", help="a permanent password (no invitation email)")
    add_user.set_defaults(func=cmd_staff_add_user)
    revoke_staff = with_stack(
        staff.add_parser("revoke", help="end every console session of a staff user, at once")
    )
    revoke_staff.add_argument("username")
    revoke_staff.set_defaults(func=cmd_staff_revoke)
    totp = staff.add_parser(
        "totp",
        help="the local stack only: a staff user's current authenticator code",
        description="The 6-digit code an authenticator app would show now for USERNAME, from the key "
        "the local stack's user pool accepted (the demo team's, or the one set up at first sign-in). "
        "On AWS the key stays in the user's authenticator app.",
    )
    totp.add_argument("username")
    totp.add_argument("--json", action="store_true", help="machine-readable output")
    totp.set_defaults(func=cmd_staff_totp)

    demo = commands.add_parser("demo", help="the whole system on the local stack, end to end")
    demo.add_argument("--no-serve", action="store_true", help="end after the summary")
    demo.add_argument("--customers", type=int, default=200)
    demo.add_argument("--months", type=int, default=3)
    demo.add_argument(
        "--days",
        type=int,
        default=DEMO_DAYS,
        help=f"simulated days after the go-live (default {DEMO_DAYS}; `--days 60` is the full two months)",
    )
    demo.add_argument(
        "--every-hour",
        action="store_true",
        help="tick dunning every simulated hour, also when nothing is due (the same outcome, slower)",
    )
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)

    from arcollect_cli import changes, dunning, letters, predict, status

    dunning.register(commands)
    changes.register(commands)
    letters.register(commands)
    status.register(commands)
    predict.register(commands)
    try:
        from arcollect_cli import generate
    except ImportError:  # pragma: no cover - the generator ships with the dev install
        pass
    else:
        generate.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.func(args))
    except CliError as error:
        print(f"arcollect: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`arcollect show ... | head`): stop quietly, as other tools do, and point
        # stdout at nothing so the interpreter's last flush does not fail on the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool the pipe stopped
    except Exception as error:  # a clear line instead of a traceback; --verbose keeps the details
        logging.getLogger("arcollect").debug("failed", exc_info=True)
        print(f"arcollect: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
