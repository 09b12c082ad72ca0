"""``arcollect dunning backtest`` as a team runs it: on ERP exports before anything is deployed, and on a
stack's table, where it must read and nothing else (no email, no write)."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from arcollect.dunning.backtest import measures, replay
from arcollect.policy import shipped_policy
from arcollect.store.models import TableItem
from arcollect_cli import backtest as cli_backtest
from arcollect_cli.main import main
from tests.integration.ingest_flow import ingest

CUSTOMER = "Société Générale d'Équipement, S.A. & Fils"
SHIPPED_POLICY = Path(__file__).resolve().parents[2] / "layers/common/python/arcollect/policies/default.yaml"

# A German export: ';', day-first dates, '1.234,56'. The first invoice is never paid, the second is paid
# on 10 February (its paid date), the third row is bad and must be named, not dropped without a word
# (its day-first dates, 28.01., are what settles how the file writes dates).
INVOICES = (
    "customer_id;invoice_number;invoice_date;due_date;amount;currency;paid_date\n"
    f"{CUSTOMER};RE/2026/001;05.01.2026;04.02.2026;1.234,56;EUR;\n"
    f"{CUSTOMER};RE/2026/002;05.01.2026;04.02.2026;2.500,00;EUR;10.02.2026\n"
    f"{CUSTOMER};RE/2026/003;28.01.2026;27.02.2026;zwölf;EUR;\n"
)
CUSTOMERS = f'customer_id;name;email;country\n"{CUSTOMER}";Société Générale;ap@sge.example;DE\n'


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["dunning", "backtest", *argv]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_a_backtest_on_european_exports_before_anything_is_deployed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    draft = tmp_path / "draft.yaml"
    firm = "{id: firm, trigger: {days: 30}, action: email, template: firm}"
    draft.write_text(SHIPPED_POLICY.read_text().replace(firm, firm.replace("30", "20")))
    out = tmp_path / "report"
    result = run_cli(
        capsys,
        "--policy", str(draft), "--against", "shipped",
        "--from", "2026-01-01", "--to", "2026-04-30",
        "--invoices", str(tmp_path / "invoices.csv"), "--customers", str(tmp_path / "customers.csv"),
        "--team-size", "1", "--json", "--out", str(out),
    )  # fmt: skip
    assert list(result["policies"]) == ["draft.yaml", "shipped"]
    shipped, draft_measures = result["policies"]["shipped"], result["policies"]["draft.yaml"]
    # The unpaid invoice gets 6 emails and 3 calls over the window; the paid one outreach, courtesy
    # and due before 10 February (worked out in tests/unit/test_backtest.py).
    assert (shipped["emails"], shipped["calls"]) == (6, 3)
    assert shipped["invoices_30_days_past_due"] == 1
    assert shipped["share_with_4_touches_before_30_dpd"] == 1.0
    assert draft_measures["steps_fired"]["firm"] == 1
    # The bad row is named with its line and reason.
    assert any("line 4" in note and "amount" in note for note in result["history"]["notes"])
    assert (out / "backtest.json").is_file() and "<script" not in (out / "backtest.html").read_text()


def test_history_from_files_needs_the_invoices_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["dunning", "backtest", "--policy", "shipped", "--from", "2026-01-01", "--to", "2026-01-31",
                 "--payments", str(tmp_path / "p.csv")])  # fmt: skip
    assert code != 0
    assert "go with --invoices" in capsys.readouterr().err
    code = main(["dunning", "backtest", "--policy", "shipped", "--from", "2026-01-01", "--to", "2026-01-31",
                 "--locale", "de-DE"])  # fmt: skip
    assert code != 0
    assert "--locale go with --invoices" in capsys.readouterr().err


def test_a_history_file_that_reads_two_ways_is_read_in_the_locale_given(tmp_path: Path) -> None:
    from arcollect_cli.backtest import history_from_files
    from arcollect_cli.target import CliError

    path = tmp_path / "eu.csv"
    path.write_text(
        "customer_id;invoice_number;invoice_date;due_date;amount\nA;A/1;01.02.2026;02.03.2026;1.000\n",
        encoding="utf-8",
    )
    with pytest.raises(CliError, match=r"--locale, e\.g\. --locale de-DE"):
        history_from_files(path, None, None, ["generic"])
    history = history_from_files(path, None, None, ["generic"], "de-DE")
    (invoice,) = history.invoices
    assert (invoice.due_date.isoformat(), invoice.amount) == ("2026-03-02", Decimal(1000))


def test_a_history_file_with_dotted_dates_that_read_both_ways_is_read_day_first_and_says_so(
    tmp_path: Path,
) -> None:
    # Every date has a day of 12 or less, but they are written DD.MM.YYYY, which no locale writes
    # month-first: no --locale needed (the amounts' decimal comma settles them), and a note says why.
    from arcollect_cli.backtest import history_from_files
    from arcollect_cli.target import CliError

    path = tmp_path / "eu.csv"
    path.write_text(
        "customer_id;invoice_number;invoice_date;due_date;amount\nA;A/1;01.02.2026;02.03.2026;1.000,00\n",
        encoding="utf-8",
    )
    history = history_from_files(path, None, None, ["generic"])
    (invoice,) = history.invoices
    assert (invoice.invoice_date, invoice.due_date, invoice.amount) == (
        date(2026, 2, 1),
        date(2026, 3, 2),
        Decimal(1000),
    )
    [note] = history.notes
    assert note.startswith("eu.csv: line 2, invoice_date '01.02.2026': dates read day-first, as DD.MM.YYYY")
    # A month-first --locale contradicts the dots: refused, naming the option, never read month-first.
    with pytest.raises(CliError, match=r"not exported in en-US.*\(here: --locale, e\.g\. --locale de-DE\)"):
        history_from_files(path, None, None, ["generic"], "en-US")


def _table() -> list[dict[str, Any]]:
    return sorted(
        (item.serialize() for item in TableItem.scan()), key=lambda item: json.dumps(item, sort_keys=True)
    )


class _Bound:
    """The stack's table, already bound (moto): what ``Target.bind_table`` does for a real stack."""

    def bind_table(self) -> None:
        pass


def test_a_backtest_from_the_table_reads_and_writes_and_sends_nothing(aws: None) -> None:
    assert ingest("incoming/customers/customers.csv", CUSTOMERS.encode())["accepted"] == 1
    assert ingest("incoming/invoices/invoices.csv", INVOICES.encode())["accepted"] == 2
    before, objects_before = _table(), _objects()
    history = cli_backtest.history_from_table(_Bound())  # type: ignore[arg-type]
    assert {i.invoice_number: i.paid_date for i in history.invoices} == {
        "RE/2026/001": None,
        "RE/2026/002": date(2026, 2, 10),
    }
    result = measures(replay(history, shipped_policy(), start=date(2026, 1, 1), end=date(2026, 4, 30)))
    # One customer: each email covers every invoice of it then due (the paid one until 10 February).
    assert (result["emails"], result["calls"]) == (6, 3)
    assert _table() == before
    assert _objects() == objects_before
    assert ses_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]].sent_message_count == 0


def _objects() -> list[tuple[str, str]]:
    listing = boto3.client("s3").list_object_versions(Bucket=os.environ["DROP_BUCKET"])
    return [(v["Key"], v["VersionId"]) for v in listing.get("Versions", [])]
