"""``arcollect dunning backtest``: replay a draft policy (and the one to beat) over history.

History is the table a stack's ingest has loaded, or ERP files read here through the same mappings and
checks as ingest (``--invoices``, ``--payments``, ``--customers``, ``--mapping``): a team can try a policy
on its exports before deploying anything. Nothing is sent and nothing is written; from the table the
command only reads (one scan).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from arcollect.entities import Customer, DropKind, Invoice, Payment
from arcollect.policy import PolicyError, PolicySet, parse_policy, shipped_policy
from arcollect_cli.history_files import LOCALE_HELP, read_entities, read_mappings, settings_for
from arcollect_cli.output import progress
from arcollect_cli.target import CliError, Target

SHIPPED = "shipped"


def history_from_files(
    invoices: Path,
    payments: Path | None,
    customers: Path | None,
    mappings: list[str],
    locale: str | None = None,
) -> Any:
    from arcollect.dunning.backtest import History

    names, texts = read_mappings(mappings)
    settings = settings_for(locale)
    notes: list[str] = []
    documents: dict[tuple[str, str], Invoice] = {}
    for entity in read_entities(
        invoices, DropKind.INVOICES, names.get(DropKind.INVOICES), texts, notes, settings=settings
    ):
        documents[(entity.customer_id, entity.invoice_number)] = entity  # a later row of a document wins
    if payments is not None:
        paid = _paid_dates(
            read_entities(
                payments, DropKind.PAYMENTS, names.get(DropKind.PAYMENTS), texts, notes, settings=settings
            ),
            documents,
            notes,
        )
        for key, day in paid.items():
            documents[key] = replace(documents[key], paid_date=day)
    people: dict[str, Customer] = {}
    if customers is not None:
        for entity in read_entities(
            customers, DropKind.CUSTOMERS, names.get(DropKind.CUSTOMERS), texts, notes, settings=settings
        ):
            people[entity.customer_id] = entity
    # A document the file shows settled (nothing open) without the day it was paid has no day to close
    # on: replaying it open would remind a customer who paid, so it is left out, and counted.
    undated = [
        i for i in documents.values() if not i.is_open and i.paid_date is None and not i.is_credit_note
    ]
    if undated:
        notes.append(
            f"{len(undated)} invoice(s) settled in the file without a paid date (and no payment naming "
            "them): left out, there is no day to close them on"
        )
    kept = tuple(i for i in documents.values() if i.is_open or i.paid_date is not None or i.is_credit_note)
    return History(kept, people, notes=tuple(notes))


def _paid_dates(
    payments: list[Payment], documents: dict[tuple[str, str], Invoice], notes: list[str]
) -> dict[tuple[str, str], date]:
    """The day each invoice was paid in full, from the payments that name it (the remittance's lines,
    else the payment's invoice number); payments that name no known invoice are counted in ``notes``."""
    received: dict[tuple[str, str], list[tuple[date, Decimal]]] = defaultdict(list)
    unmatched = Counter[str]()
    for payment in payments:
        lines = [(line.invoice_number, line.amount) for line in payment.remittance] or (
            [(payment.invoice_number, payment.amount)] if payment.invoice_number else []
        )
        for number, amount in lines:
            key = (payment.customer_id, number)
            if key in documents:
                received[key].append((payment.payment_date, amount))
            else:
                unmatched[payment.payment_id] += 1
    paid: dict[tuple[str, str], date] = {}
    for key, parts in received.items():
        total = Decimal(0)
        for day, amount in sorted(parts):
            total += amount
            if total >= documents[key].amount:
                paid[key] = day
                break
    if unmatched:
        notes.append(
            f"{len(unmatched)} payment(s) name no invoice of the invoices file: they close nothing here"
        )
    return paid


def history_from_table(target: Target) -> Any:
    from arcollect.dunning.backtest import History
    from arcollect.dunning.response import PastTouch
    from arcollect.store.reports import ReportReader

    target.bind_table()
    data = ReportReader().read()
    invoices = tuple(
        replace(invoice, paid_date=invoice.paid_date or (invoice.closed_on if not invoice.is_open else None))
        for invoice in data.invoices
    )
    notes = []
    unknown = sum(1 for i in invoices if not i.is_open and i.paid_date is None and not i.is_credit_note)
    if unknown:
        notes.append(
            f"{unknown} closed invoice(s) have no paid or closing day: taken as paid before the window"
        )
    touches = tuple(PastTouch(t.customer_id, t.invoice_number, t.step, t.at) for t in data.touches)
    return History(
        invoices,
        data.customers,
        tuple(data.disputes),
        tuple(data.promises),
        notes=tuple(notes),
        touches=touches,
    )


def _policy(value: str) -> tuple[str, PolicySet]:
    if value == SHIPPED:
        return SHIPPED, shipped_policy()
    path = Path(value)
    if not path.is_file():
        raise CliError(f"--policy {value}: no such file (or say `shipped` for the shipped policy)")
    try:
        return path.name, parse_policy(path.read_text(encoding="utf-8"), source=str(path))
    except PolicyError as error:
        raise CliError(str(error)) from error


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} {value!r}: a day as YYYY-MM-DD") from None


def cmd_backtest(args: argparse.Namespace, root: Path) -> int:
    from arcollect.dunning.backtest import BacktestError, document, replay
    from arcollect.dunning.backtest_page import render

    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    policies = [_policy(args.policy)] + ([_policy(args.against)] if args.against else [])
    if len(policies) == 2 and policies[0][0] == policies[1][0]:
        policies = [
            (f"{name} ({value})", p)
            for (name, p), value in zip(policies, [args.policy, args.against], strict=True)
        ]
    if args.invoices:
        history = history_from_files(
            Path(args.invoices),
            Path(args.payments) if args.payments else None,
            Path(args.customers) if args.customers else None,
            args.mapping or [],
            args.locale,
        )
        source = "ERP files"
    elif args.payments or args.customers or args.mapping or args.locale:
        raise CliError(
            "--payments, --customers, --mapping and --locale go with --invoices (history from files)"
        )
    else:
        history = history_from_table(Target.resolve(args.stack, root))
        source = "the table"
    if not args.json:
        progress(f"replaying {len(policies)} polic{'y' if len(policies) == 1 else 'ies'} over {source}")
    try:
        replays = [
            replay(
                history,
                policy_set,
                start=start,
                end=end,
                team_size=args.team_size,
                policy_name=name,
                contactable=args.assume_contactable,
            )
            for name, policy_set in policies
        ]
        result = document(history, replays, source, policies[0][1])
    except BacktestError as error:
        raise CliError(str(error)) from error
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "backtest.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        (out / "backtest.html").write_text(render(result), encoding="utf-8")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(summary_text(result))
        if args.out:
            print(f"wrote {Path(args.out) / 'backtest.json'} and {Path(args.out) / 'backtest.html'}")
    return 0


def summary_text(result: dict[str, Any]) -> str:
    window = result["window"]
    lines = [f"backtest {window['from']} to {window['to']} over {result['history']['source']}"]
    lines += [f"  note: {note}" for note in result["history"]["notes"]]
    for name, m in result["policies"].items():
        per = m["calls_per_collector_per_day"]
        share = m["share_with_4_touches_before_30_dpd"]
        lines.append(
            f"{name}: {m['emails']} emails, "
            # The touches other channels carried (a step's ``channels``), when any did.
            + "".join(
                f"{count} {label}, "
                for label, count in (
                    ("letters", m.get("channels", {}).get("letter", 0)),
                    ("texts", m.get("channels", {}).get("sms", 0)),
                )
                if count
            )
            + f"{m['calls']} calls; calls per collector per working day "
            f"p50 {per['p50']} p95 {per['p95']} max {per['max']} (team of {m['team_size']}); "
            f"{m['invoices_30_days_past_due']} invoices reached 30 days past due, "
            + (f"{share:.1%} of them with 4+ touches before" if share is not None else "none of them touched")
            + (f"; never fired: {', '.join(m['steps_never_fired'])}" if m["steps_never_fired"] else "")
        )
    guess = result.get("estimate") or {}
    if guess.get("why_not"):
        lines.append(f"estimate of what would change: {guess['why_not']}")
    for name, figures in (guess.get("policies") or {}).items():
        if figures.get("available"):
            lines.append(
                f"{name}, ESTIMATE (a response model, not a replay): "
                f"{figures['invoices_paid_within_7_days_of_a_touch_beyond_baseline']} invoices paid within 7 "
                f"days of a touch beyond untouched days (95%: {figures['low']} to {figures['high']})"
            )
    return "\n".join(lines)


def add_parser(commands: Any, with_stack: Any, root: Path) -> None:
    backtest = with_stack(
        commands.add_parser(
            "backtest",
            help="replay a policy over history (the table or ERP files); sends and writes nothing",
        )
    )
    backtest.add_argument("--policy", required=True, help="the draft policy YAML file (or `shipped`)")
    backtest.add_argument("--against", help="a second policy to compare with (a file, or `shipped`)")
    backtest.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (the go-live)")
    backtest.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
    backtest.add_argument("--invoices", help="history from this ERP invoices file instead of the table")
    backtest.add_argument("--payments", help="with --invoices: a payments file (the days invoices were paid)")
    backtest.add_argument("--customers", help="with --invoices: a customers file (master data)")
    backtest.add_argument(
        "--mapping",
        action="append",
        help="with --invoices: a mapping YAML file, or a preset as [invoices|payments|customers:]NAME "
        "(repeatable)",
    )
    backtest.add_argument(
        "--team-size", type=int, help="collectors sharing the calls (default: the policy's)"
    )
    backtest.add_argument(
        "--assume-contactable",
        action="store_true",
        help="treat every customer as reachable by email (history without master data)",
    )
    backtest.add_argument("--locale", help=f"with --invoices: {LOCALE_HELP}")
    backtest.add_argument("--out", help="write backtest.json and backtest.html to this folder")
    backtest.set_defaults(func=lambda args: cmd_backtest(args, root))
