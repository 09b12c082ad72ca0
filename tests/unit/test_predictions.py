"""Predicted pay dates (issue 19): no feature looks past the as-of day, too little history falls back to
the portfolio and says so, the factors add up to the prediction, and ``arcollect predict evaluate`` gives
the figures worked out by hand on a small history."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from arcollect import predictions
from arcollect.entities import Dispute, Invoice, Promise
from arcollect.predictions import (
    MIN_HISTORY,
    PAID_FOLLOW_UP,
    Factor,
    Ledger,
    Model,
    Prediction,
    PredictionError,
    Waits,
    auc,
    evaluate,
    known_by,
    predict,
    predict_open,
    train,
)
from arcollect_cli.main import main

MAPPING = Path(__file__).resolve().parents[1] / "data" / "mappings" / "ibm-late-payments.yaml"
AS_OF = date(2024, 6, 30)


def invoice(
    customer: str, number: str, issued: date, late: int | None, terms: int = 30, **changes: Any
) -> Invoice:
    due = issued + timedelta(days=terms)
    paid = None if late is None else due + timedelta(days=late)
    base = Invoice(
        customer_id=customer,
        invoice_number=number,
        currency="EUR",
        amount=Decimal("1000.00"),
        open_amount=Decimal("0") if paid else Decimal("1000.00"),
        invoice_date=issued,
        due_date=due,
        status="closed" if paid else "open",
        paid_date=paid,
    )
    return replace(base, **changes)


def portfolio(seed: int = 7) -> list[Invoice]:
    """Forty customers, each with its own habit (a typical delay and a spread), invoicing every 9 to 40
    days through 2024, with a few large invoices, and a few invoices never paid."""
    rng = random.Random(seed)  # noqa: S311 (reproducible test data)
    out = []
    for c in range(40):
        habit, spread = rng.choice([-5, 0, 3, 10, 25, 45]), rng.choice([1, 4, 12])
        day = date(2024, 1, 1) + timedelta(days=rng.randrange(60))
        for n in range(rng.randrange(1, 14)):
            late = None if rng.random() < 0.05 else max(-20, round(rng.gauss(habit, spread)))
            amount = Decimal(rng.choice([400, 1000, 1200, 9000]))
            out.append(
                invoice(f"C{c:02}", f"{c:02}-{n:03}", day, late, rng.choice([14, 30, 60]), amount=amount)
            )
            day += timedelta(days=rng.randrange(9, 40))
    return out


def by_key(predictions: list[Prediction]) -> dict[tuple[str, str], Prediction]:
    return {(p.customer_id, p.invoice_number): p for p in predictions}


def test_no_feature_looks_past_the_as_of_day() -> None:
    invoices = portfolio()
    rng = random.Random(11)  # noqa: S311 (reproducible test data)

    def rewrite_the_future(i: Invoice) -> Invoice | None:
        if i.invoice_date > AS_OF:  # issued later: changed, or gone
            if rng.random() < 0.3:
                return None
            moved = i.invoice_date + timedelta(days=rng.randrange(1, 30))
            return replace(i, invoice_date=moved, due_date=moved + timedelta(days=7), amount=i.amount * 3)
        if i.paid_date is not None and i.paid_date > AS_OF:  # paid later: on another day, or not yet
            if rng.random() < 0.3:
                return replace(i, paid_date=None, status="open", open_amount=i.amount)
            return replace(i, paid_date=AS_OF + timedelta(days=rng.randrange(1, 200)))
        return i

    future = [f for f in (rewrite_the_future(i) for i in invoices) if f is not None]
    future += [
        invoice("C03", "new-1", AS_OF + timedelta(days=3), 90),
        invoice("C77", "x", AS_OF + timedelta(days=1), 5),
    ]
    rng.shuffle(future)
    changed = {(i.customer_id, i.invoice_number, i.paid_date, i.invoice_date) for i in future} ^ {
        (i.customer_id, i.invoice_number, i.paid_date, i.invoice_date) for i in invoices
    }
    assert len(changed) > 40  # the future really is another one
    original = by_key(predict_open(invoices, AS_OF))
    rewritten = by_key(predict_open(future, AS_OF))
    assert len(original) > 20
    assert original == rewritten


def paid_before_issued(customer: str, number: str, issued: date, before: int, **changes: Any) -> Invoice:
    """A document whose payment date is ``before`` days before its document date (the SAP extract has
    33,950 of them: settled by a payment booked earlier)."""
    return replace(invoice(customer, number, issued, 0), paid_date=issued - timedelta(days=before), **changes)


def test_a_document_issued_after_the_as_of_day_counts_nowhere_even_paid_before_it() -> None:
    """Documents issued after the as-of day whose payment date is before it did not exist on the as-of
    day: adding, changing or removing them changes no prediction, and neither the model's figures nor
    the baselines of ``evaluate`` (the customer's average days late, the portfolio's)."""
    invoices = portfolio()
    rng = random.Random(19)  # noqa: S311 (reproducible test data)
    customers = sorted({i.customer_id for i in invoices})
    later = [
        paid_before_issued(
            customer,
            f"{customer}/PRE/{n}",
            AS_OF + timedelta(days=rng.randrange(1, 90)),
            rng.randrange(5, 120),  # paid up to 4 months before it was issued, on or before the as-of day
            amount=Decimal(rng.choice([50, 20000])),
        )
        for customer in customers[::2]
        for n in range(rng.randrange(1, 6))
    ]
    later.append(paid_before_issued("Müller & Söhne, GmbH", "INV/2024/0042", AS_OF + timedelta(days=2), 40))
    later = [i for i in later if i.paid_date is not None and i.paid_date <= AS_OF]
    assert len(later) > 30
    assert all(
        i.invoice_date > AS_OF >= i.paid_date > i.due_date - timedelta(days=200) for i in later if i.paid_date
    )

    def changed(i: Invoice) -> Invoice | None:
        if rng.random() < 0.3:
            return None  # removed
        paid = i.invoice_date - timedelta(days=rng.randrange(100, 200))
        return replace(i, paid_date=paid, amount=i.amount * 7)

    others = [c for c in (changed(i) for i in later) if c is not None]
    others += [paid_before_issued(c, f"{c}/PRE/x", AS_OF + timedelta(days=30), 60) for c in customers[1::2]]
    variants = [invoices, [*invoices, *later], [*others, *invoices]]

    clean = by_key(predict_open(invoices, AS_OF))
    assert len(clean) > 20
    for variant in variants[1:]:
        assert by_key(predict_open(variant, AS_OF)) == clean
    split = AS_OF + timedelta(days=1)
    measured = evaluate(invoices, split)
    assert measured.invoices_scored > 20
    for variant in variants[1:]:
        again = evaluate(variant, split)
        assert again.mae_due_plus_customer_average == measured.mae_due_plus_customer_average  # the baseline
        assert again.mae_due_date == measured.mae_due_date
        assert again == measured  # and the model's figures


def test_the_ledger_counts_a_document_from_the_day_it_was_both_issued_and_paid() -> None:
    """One rule for every history: as of a day, a document counts if it was issued on or before it and
    paid on or before it (training reads each invoice's history the day before it was issued)."""
    early = paid_before_issued("Müller & Söhne, GmbH", "INV/2024/0042", date(2024, 5, 20), 30)
    ordinary = invoice("Müller & Söhne, GmbH", "INV/2024/0001", date(2024, 3, 1), 5)
    assert early.paid_date == date(2024, 4, 20)
    ledger = Ledger([early, ordinary])
    assert not known_by(early, date(2024, 5, 19))  # paid, but not issued yet
    assert known_by(early, date(2024, 5, 20))
    assert not known_by(invoice("X", "open", date(2024, 1, 1), None), date(2030, 1, 1))
    before = ledger.history("Müller & Söhne, GmbH", date(2024, 5, 19))
    after = ledger.history("Müller & Söhne, GmbH", date(2024, 5, 20))
    assert before is not None and before.paid == 1
    assert after is not None and after.paid == 2
    assert ledger.average_days_late("Müller & Söhne, GmbH", date(2024, 5, 19)) == 5
    assert ledger.later_than("Müller & Söhne, GmbH", date(2024, 5, 19), 0) == [5]


def test_the_reports_run_reads_no_document_issued_after_its_day() -> None:
    """The reports function's predictions, with a model and under the customer-average rule, are the
    same whatever documents issued after the as-of day say they were paid before it."""
    from arcollect.reports.predicted import predict_portfolio
    from arcollect.store.reports import ReportData

    invoices = portfolio()
    later = [
        paid_before_issued(c, f"{c}/PRE", AS_OF + timedelta(days=9), 90)
        for c in sorted({i.customer_id for i in invoices})
    ]
    few = [i for i in invoices if i.customer_id < "C03"]
    for base in (invoices, few):
        clean = predict_portfolio(ReportData(invoices=base), AS_OF)
        leaky = predict_portfolio(ReportData(invoices=[*base, *later]), AS_OF)
        assert clean.outlooks and leaky.outlooks == clean.outlooks
        assert leaky.basis == clean.basis and leaky.note == clean.note
    assert predict_portfolio(ReportData(invoices=few), AS_OF).basis == "customer_average"


def test_the_factors_add_up_to_the_prediction() -> None:
    predictions = predict_open(portfolio(), AS_OF)
    assert predictions
    for p in predictions:
        assert p.baseline_days + sum(f.days for f in p.contributions) == pytest.approx(
            p.offset_days, abs=1e-9
        )
        assert p.pay_date == p.due_date + timedelta(days=round(p.offset_days))
        assert p.as_of < p.low <= p.pay_date <= p.high
        assert 0.0 <= p.probability_over_30_days_late <= 1.0
        assert 1 <= len(p.factors) <= 3
        sizes = [abs(f.days) for f in p.factors]
        assert sizes == sorted(sizes, reverse=True)
        assert all(f.sentence for f in p.contributions)


def test_a_factor_shown_is_a_whole_day_or_more_with_the_sign_of_its_days() -> None:
    """What a collector reads and which factors are listed follow one rule: whole days, half away from
    zero, of the tenth kept; a factor is listed only if it shows a day or more (the customer's history
    always). So no factor but that one reads "+0 d" or "-0 d", and -0.5 reads "-1 d"."""
    from arcollect.outlook import OutlookFactor, kept_days

    def shown(days: str) -> str:
        return OutlookFactor("x", Decimal(days), "t").sentence()

    assert [shown(d) for d in ("-0.5", "0.5", "2.5", "-2.5", "0.4", "-0.4", "-1.6")] == [
        "t (-1 d)", "t (+1 d)", "t (+3 d)", "t (-3 d)", "t (+0 d)", "t (-0 d)", "t (-2 d)",
    ]  # fmt: skip
    parts = (
        ("customer_history", -0.3),
        ("amount", -0.52),  # kept -0.5: shows -1 d, listed
        ("terms", 0.46),  # kept 0.5: shows +1 d, listed
        ("trend", 0.449),  # kept 0.4: shows +0 d, not listed
        ("spread", -0.2),
    )
    prediction = Prediction(
        "C", "1", AS_OF, AS_OF, AS_OF, AS_OF, AS_OF, 0.0, 0.0, 0.0,
        tuple(Factor(name, days, name) for name, days in parts), False,
    )  # fmt: skip
    assert [f.name for f in prediction.factors] == ["amount", "terms", "customer_history"]
    assert [OutlookFactor(f.name, kept_days(f.days), f.sentence).sentence() for f in prediction.factors] == [
        "amount (-1 d)", "terms (+1 d)", "customer_history (-0 d)",
    ]  # fmt: skip


def test_the_reports_factors_never_show_zero_days_but_the_customers_history() -> None:
    """Through the reports function: every factor of every row reads a whole day or more with the sign
    of its days, but the customer's history (the portfolio has factors of about half a day)."""
    from arcollect.reports.predicted import predict_portfolio, predictions_table
    from arcollect.store.reports import ReportData

    table = predictions_table(predict_portfolio(ReportData(invoices=portfolio()), AS_OF), {})
    assert table["basis"] == "model" and len(table["invoices"]) > 20
    halves = 0
    for row in table["invoices"]:
        for factor in row["factors"]:
            days = Decimal(factor["days"])
            whole = abs(days).to_integral_value(rounding=ROUND_HALF_UP)
            assert f"{factor['text']} ({'-' if days < 0 else '+'}{whole} d)" in row["factors_text"]
            if factor["name"] != "customer_history":
                assert whole >= 1, row["factors_text"]
            halves += abs(days) == Decimal("0.5")
    assert halves  # (what read "+0 d" before)


def test_too_little_history_falls_back_to_the_portfolio_and_says_so() -> None:
    regulars = [invoice("R", f"r{n}", date(2024, 1, 1) + timedelta(days=10 * n), 10) for n in range(12)]
    newcomer = invoice("N", "n1", date(2024, 6, 20), None)
    once = [invoice("O", "o1", date(2024, 3, 1), 40), invoice("O", "o2", date(2024, 6, 25), None)]
    predictions = by_key(predict_open([*regulars, newcomer, *once], AS_OF))

    new = predictions[("N", "n1")]
    assert new.fallback
    assert new.pay_date == newcomer.due_date + timedelta(days=10)  # the portfolio's 10 days late
    assert "no paid invoice of this customer yet" in new.factors[0].sentence or any(
        "no paid invoice of this customer yet" in f.sentence for f in new.contributions
    )
    single = predictions[("O", "o2")]
    assert single.fallback and MIN_HISTORY > 1
    history = next(f for f in single.contributions if f.name == "customer_history")
    assert history.sentence.startswith("only 1 paid invoice of this customer")
    assert 0 < history.days < 30  # pulled toward its 40 days, but mostly the portfolio's 10


def test_a_customer_with_a_habit_is_predicted_on_it_and_the_factor_says_why() -> None:
    history = [invoice("H", f"h{n}", date(2024, 1, 1) + timedelta(days=14 * n), 12) for n in range(10)]
    others = [invoice(f"P{n}", "p", date(2024, 2, 1) + timedelta(days=3 * n), 0) for n in range(30)]
    open_one = invoice("H", "open", date(2024, 6, 28), None)
    (p,) = [p for p in predict_open([*history, *others, open_one], AS_OF) if p.customer_id == "H"]
    assert not p.fallback
    assert p.pay_date == open_one.due_date + timedelta(days=12)
    top = p.factors[0]
    assert top.name == "customer_history"
    assert top.sentence.startswith("customer paid its last 10 invoices 12 days late")
    assert top.days == pytest.approx(12 * 10 / (10 + train([*history, *others], AS_OF).shrink))


def test_an_open_promise_and_an_open_dispute_count_only_from_the_day_they_were_made() -> None:
    invoices = portfolio()
    target = next(
        i for i in invoices if i.invoice_date <= AS_OF and (i.paid_date is None or i.paid_date > AS_OF)
    )
    promised = AS_OF + timedelta(days=14)
    promise = Promise(
        target.customer_id, "ptp-1", (target.invoice_number,), promised, datetime(2024, 6, 20, tzinfo=UTC)
    )
    later_promise = replace(promise, created_at=datetime(2024, 7, 2, tzinfo=UTC))
    dispute = Dispute(
        target.customer_id, "dsp-1", target.invoice_number, "pricing", "", datetime(2024, 6, 1, tzinfo=UTC)
    )
    model = train(invoices, AS_OF)
    plain = by_key(predict(model, invoices, AS_OF))[(target.customer_id, target.invoice_number)]
    with_promise = by_key(predict(model, invoices, AS_OF, promises=[promise]))[
        (target.customer_id, target.invoice_number)
    ]
    assert with_promise.pay_date == promised
    assert any(f.name == "promise" and str(promised) in f.sentence for f in with_promise.factors)
    assert (
        by_key(predict(model, invoices, AS_OF, promises=[later_promise]))[
            (target.customer_id, target.invoice_number)
        ]
        == plain
    )
    disputed = by_key(predict(model, invoices, AS_OF, disputes=[dispute]))[
        (target.customer_id, target.invoice_number)
    ]
    assert any(f.name == "dispute" and f.days > 0 for f in disputed.contributions)


def test_a_trained_model_kept_as_json_predicts_the_same() -> None:
    invoices = portfolio()
    model = train(invoices, AS_OF)
    again = Model.from_document(json.loads(json.dumps(model.to_document())))
    assert predict(again, invoices, AS_OF) == predict(model, invoices, AS_OF)
    with pytest.raises(PredictionError, match="version"):
        Model.from_document({**model.to_document(), "version": 99})


def test_auc_by_hand() -> None:
    # Positives 0.9 and 0.7 against negatives 0.8 and 0.1: 0.9 beats both, 0.7 beats one: 3 of 4.
    assert auc([(0.9, True), (0.8, False), (0.7, True), (0.1, False)]) == 0.75
    assert auc([(0.5, True), (0.5, False)]) == 0.5  # a tie counts half
    assert auc([(0.5, False), (0.2, False)]) is None


# -- the evaluation command, on a history whose answers are known by hand ------------------------------

HEADER = (
    "countryCode,customerID,PaperlessDate,invoiceNumber,InvoiceDate,DueDate,InvoiceAmount,Disputed,"
    "SettledDate,PaperlessBill,DaysToSettle,DaysLate\n"
)


def row(customer: str, number: str, issued: date, late: int) -> str:
    due, us = issued + timedelta(days=30), "{d.month}/{d.day}/{d.year}"
    paid = due + timedelta(days=late)
    return (
        f"391,{customer},1/1/2024,{number},{us.format(d=issued)},{us.format(d=due)},100.00,No,"
        f"{us.format(d=paid)},Paper,{(paid - issued).days},{max(late, 0)}\n"
    )


def background() -> list[str]:
    """Customer B paid 16 invoices, each exactly 10 days late, all before 2024: issued on the 1st of
    each month from August 2022 to November 2023 (the first paid 10 September 2022, the last 11 December
    2023). With A's 4 paid before a split on 1 June 2024 they make the 20 paid invoices a model needs
    (``MIN_TRAINING``), and they say nothing but 10 days late."""
    months = [date(2022 + (7 + n) // 12, (7 + n) % 12 + 1, 1) for n in range(16)]
    assert (months[0], months[-1]) == (date(2022, 8, 1), date(2023, 11, 1))
    return [row("B", f"{90000 + n:010}", issued, 10) for n, issued in enumerate(months)]


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """Customer A pays every invoice exactly 10 days late: January to April are paid before the split
    (1 June), May's (due 31 May) on 10 June. Customer C, new, pays its one invoice (15 May, due 14
    June) 10 days late too. Customer B paid its 16 invoices 10 days late before 2024 (``background``):
    20 paid invoices before the split, the minimum to train on. So the model, knowing nothing but 10
    days late, is exact; the due date is 9 days out for A's (it cannot be paid before the split, 1 June)
    and 10 for C's: 9.5 on average; the due date plus the average (10, the portfolio's for C) is exact
    too."""
    lines = background() + [row("A", f"{m:010}", date(2024, m, 1), 10) for m in range(1, 6)]
    lines.append(row("C", "0000000099", date(2024, 5, 15), 10))
    path = tmp_path / "history.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def test_evaluate_gives_the_figures_worked_out_by_hand(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "predict",
            "evaluate",
            "--history",
            str(history),
            "--mapping",
            str(MAPPING),
            "--split",
            "2024-06-01",
            "--json",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {
        "invoices_scored": 2,
        "mae_days": {"model": 0.0, "due_date": 9.5, "due_plus_customer_average": 0.0},
        "interval_coverage_80": 1.0,
        "auc_30_days_late": None,
    }


def test_evaluate_does_not_read_a_historys_disputed_column(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a history file the Disputed column is the invoice's final state, known only after the split:
    every invoice marked disputed gives the same figures (the reports function alone counts the ERP's
    flag, as of its own day)."""
    from arcollect_cli.predict import invoices_from_files

    def figures(path: Path) -> Any:
        argv = ["--history", str(path), "--mapping", str(MAPPING), "--split", "2024-06-01", "--json"]
        assert main(["predict", "evaluate", *argv]) == 0
        return json.loads(capsys.readouterr().out)

    disputed = history.with_name("disputed.csv")
    disputed.write_text(history.read_text(encoding="utf-8").replace(",No,", ",Yes,"), encoding="utf-8")
    invoices, _ = invoices_from_files([disputed], str(MAPPING))
    assert invoices and all(i.erp_disputed for i in invoices)  # the mapping reads the column
    assert figures(disputed) == figures(history)


def test_evaluate_prints_the_figures_as_text(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(
        ["predict", "evaluate", "--history", str(history), "--mapping", str(MAPPING), "--split", "2024-06-01"]
    )
    out = capsys.readouterr().out
    assert "split 2024-06-01: trained on 20 paid invoices, scored 2 open at the split" in out
    assert "due date                       9.50" in out
    assert "80% interval coverage: 100.0%" in out


def test_evaluate_counts_an_invoice_more_than_30_days_late(tmp_path: Path) -> None:
    # A's habit is 10 days (and B's, before 2024); D pays 45 days late, always: the AUC has one of each
    # side to rank.
    lines = background() + [row("A", f"{m:010}", date(2024, m, 1), 10) for m in range(1, 6)]
    lines += [row("D", f"{50 + m:010}", date(2024, m, 1), 45) for m in range(1, 6)]
    path = tmp_path / "h.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    from arcollect_cli.predict import invoices_from_files

    invoices, notes = invoices_from_files([path], str(MAPPING))
    assert notes == []
    result = evaluate(invoices, date(2024, 6, 1))
    assert result.invoices_scored == 3  # A's May invoice, D's April and May ones
    assert result.paid_over_30_days_late == 2
    assert result.auc_30_days_late == 1.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--history", "nowhere.csv"], "--history nowhere.csv: no such file"),
        (["--split", "2024-13-01"], "--split '2024-13-01': a day as YYYY-MM-DD"),
        (["--split", "2030-01-01"], "no invoice was open at 2030-01-01 and paid later: nothing to score"),
        (["--split", "2022-08-01"], "nothing was paid on or before 2022-07-31: nothing to learn from"),
        (
            ["--split", "2024-01-01"],
            "split 2024-01-01: 16 paid invoices were known before it (issued and paid on or before "
            "2023-12-31), 20 are needed to train the model",
        ),
        (
            ["--split", "2022-09-11"],
            "split 2022-09-11: 1 paid invoice was known before it (issued and paid on or before "
            "2022-09-10), 20 are needed to train the model",
        ),
        (["--mapping", "payments:generic"], "an invoices mapping is needed"),
        (["--history", "."], "--history .: a folder, not a file"),
        (["--locale", "xx-YY"], "--locale xx-YY: exportLocale='xx-YY' is not a locale arcollect knows"),
    ],
)
def test_evaluate_refuses_bad_input_with_a_clear_message(
    history: Path, arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    given = {"--history": str(history), "--mapping": str(MAPPING), "--split": "2024-06-01"}
    given.update(dict(zip(arguments[::2], arguments[1::2], strict=True)))
    argv = ["predict", "evaluate"] + [part for pair in given.items() for part in pair]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_evaluate_says_a_history_file_has_no_rows(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A history export that came out empty (a header alone) is said, as ingest says it, beside the
    refusal it leads to ("nothing was paid ... nothing to learn from" named no file)."""
    empty = tmp_path / "empty.csv"
    empty.write_text(history.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    argv = [
        "predict",
        "evaluate",
        "--history",
        str(empty),
        "--mapping",
        str(MAPPING),
        "--split",
        "2024-06-01",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "note: empty.csv: the file has a header and no rows: nothing was loaded" in err
    assert main([*argv[:3], str(history), str(empty), *argv[4:]]) == 0
    assert "note: empty.csv: the file has a header and no rows" in capsys.readouterr().out


def test_evaluate_needs_as_many_paid_invoices_as_the_reports_function() -> None:
    """One minimum, shared: below it the reports function trains no model (the customer-average rule),
    and ``evaluate`` measures none; at it, both train."""
    from arcollect.predictions import MIN_TRAINING, paid_known
    from arcollect.reports.predicted import predict_portfolio
    from arcollect.store.reports import ReportData

    paid = [invoice("A", f"a{n}", date(2024, 1, 1) + timedelta(days=5 * n), 10) for n in range(MIN_TRAINING)]
    still_open = invoice("A", "open", date(2024, 5, 1), 10)  # due 31 May, paid 10 June
    split = date(2024, 6, 1)
    as_of = split - timedelta(days=1)
    assert paid_known([*paid, still_open], as_of) == MIN_TRAINING
    assert evaluate([*paid, still_open], split).trained_on == MIN_TRAINING
    assert predict_portfolio(ReportData(invoices=[*paid, still_open]), as_of).basis == "model"
    fewer = paid[1:]
    with pytest.raises(PredictionError, match=f"{MIN_TRAINING - 1} paid invoices were known before it"):
        evaluate([*fewer, still_open], split)
    assert predict_portfolio(ReportData(invoices=[*fewer, still_open]), as_of).basis == "customer_average"


def test_an_invoice_its_payment_runs_passed_over_is_told_apart_and_the_segment_is_kept() -> None:
    """A customer that already paid an invoice due on or after this one's due day has passed it over:
    the still-open factor says so; the waits per company code go into the model's JSON and back."""
    invoices = [replace(i, company_code="1000" if i.customer_id < "C30" else "2000") for i in portfolio()]
    skipped = invoice("RUN", "old", AS_OF - timedelta(days=90), None, company_code="1000")
    runs = [
        invoice("RUN", f"r{n}", AS_OF - timedelta(days=150 - 10 * n), 0, company_code="1000")
        for n in range(12)
    ]
    model = train([*invoices, skipped, *runs], AS_OF)
    assert model.segment_waits
    assert {segment for _, _, segment in model.segment_waits} <= {"1000", "2000"}
    again = Model.from_document(json.loads(json.dumps(model.to_document())))
    assert again.segment_waits == model.segment_waits
    (prediction,) = [p for p in predict(model, [*invoices, skipped, *runs], AS_OF) if p.customer_id == "RUN"]
    still = next(f for f in prediction.contributions if f.name == "still_open")
    assert "still unpaid 60 days after its due date" in still.sentence
    assert "due on or after it was paid" in still.sentence
    assert prediction.baseline_days + sum(f.days for f in prediction.contributions) == prediction.offset_days


def test_an_invoice_not_yet_due_is_predicted_on_the_invoices_its_customer_left_unpaid_as_long() -> None:
    """Customer "Dupont & Fils, S.A." pays most invoices 10 days early; three of its paid invoices were
    still unpaid 5 days before their due date, and were paid 8, 16 and 30 days late. Its invoice due 5 days
    after the as-of day, still open, is expected 16 days late: the median of those three, whatever the
    portfolio's residuals say. An invoice paid after the as-of day does not count; with only two such
    invoices, an open dispute, or once the invoice is due, the rule stands aside."""
    customer = "Dupont & Fils, S.A."
    start = date(2024, 1, 1)
    habit = [invoice(customer, f"FA/2024/{n:03}", start + timedelta(days=9 * n), -10) for n in range(9)]
    late = [
        invoice(customer, f"FA/2024/1{n:02}", start + timedelta(days=11 * n), d)
        for n, d in enumerate((8, 16, 30))
    ]
    future = invoice(customer, "FA/2024/900", AS_OF - timedelta(days=40), 30)  # due 20 June, paid 20 July
    others = [invoice(f"P{n}", "p", date(2024, 2, 1) + timedelta(days=3 * n), 0) for n in range(30)]
    open_one = invoice(customer, "FA/2024/950", AS_OF - timedelta(days=25), None)  # due 5 July
    invoices = [*habit, *late, future, *others, open_one]
    model = train(invoices, AS_OF)

    def predicted(history: list[Invoice], **kwargs: Any) -> Prediction:
        (p,) = [
            p
            for p in predict(model, [*history, future, *others, open_one], AS_OF, **kwargs)
            if p.invoice_number == "FA/2024/950"
        ]
        assert p.baseline_days + sum(f.days for f in p.contributions) == pytest.approx(
            p.offset_days, abs=1e-9
        )
        return p

    p = predicted([*habit, *late])
    assert p.pay_date == open_one.due_date + timedelta(days=16)
    still = next(f for f in p.contributions if f.name == "still_open")
    assert still.sentence == (
        "not paid yet, 5 days before its due date, like 3 of the customer's paid invoices at that point: "
        "they were paid 16 days late (median)"
    )
    assert p.low <= p.pay_date <= p.high

    two = predicted([*habit, *late[:2]])
    assert not any("like" in f.sentence for f in two.contributions)
    assert two.pay_date != two.due_date + timedelta(days=12)  # not the median of the two

    dispute = Dispute(customer, "dsp-1", "FA/2024/950", "pricing", "", datetime(2024, 6, 1, tzinfo=UTC))
    disputed = predicted([*habit, *late], disputes=[dispute])
    assert any(f.name == "dispute" for f in disputed.contributions)
    assert not any("like" in f.sentence for f in disputed.contributions)

    due_already = replace(open_one, due_date=AS_OF - timedelta(days=1))
    (past,) = [
        p for p in predict(model, [*habit, *late, due_already], AS_OF) if p.invoice_number == "FA/2024/950"
    ]
    assert not any("like" in f.sentence for f in past.contributions)


def test_evaluate_reads_an_invoice_with_an_open_amount_left_as_unpaid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """C's three invoices were partly paid on their due days (a paid date, half still open): C has no
    invoice paid in full, so its baseline is the portfolio's 10 days (not 0 days from the partial
    payments), and the model does not learn from them. A pays 10 days late, always, and so did B, 16
    times before 2024 (the minimum of 20 paid invoices to train on, with A's 4)."""
    lines = ["customer_id,invoice_number,invoice_date,due_date,amount,open_amount,paid_date,currency\n"]
    for n in range(16):  # B: issued the 1st of each month from August 2022, paid 10 days late
        issued = date(2022 + (7 + n) // 12, (7 + n) % 12 + 1, 1)
        due = issued + timedelta(days=30)
        lines.append(f"B,B/{n},{issued},{due},100.00,0.00,{due + timedelta(days=10)},EUR\n")
    for m in range(1, 6):  # A: issued the 1st, due 30 days later, paid 10 days late
        issued = date(2024, m, 1)
        due = issued + timedelta(days=30)
        lines.append(f"A,A/{m},{issued},{due},100.00,0.00,{due + timedelta(days=10)},EUR\n")
    for m in range(1, 4):  # C: half paid on the due day, half still open
        issued = date(2024, m, 1)
        due = issued + timedelta(days=30)
        lines.append(f"C,C/{m},{issued},{due},100.00,50.00,{due},EUR\n")
    lines.append("C,C/9,2024-05-01,2024-05-31,100.00,0.00,2024-06-20,EUR\n")  # paid in full, 20 days late
    path = tmp_path / "partly.csv"
    path.write_text("".join(lines), encoding="utf-8")
    base = ["predict", "evaluate", "--history", str(path), "--mapping", "generic", "--split", "2024-06-01"]
    assert main([*base, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["invoices_scored"] == 2  # A/5 and C/9; C's partly paid ones are open, not scored
    # A/5: due plus 10 is exact; C/9: due plus the portfolio's 10 is 10 days early
    assert figures["mae_days"]["due_plus_customer_average"] == 5.0
    main(base)
    out = capsys.readouterr().out
    assert "trained on 20 paid invoices" in out  # A's 4 and B's 16: not C's 3 partly paid ones
    assert "3 invoice(s) with a paid date and an open amount left: read as unpaid" in out


def test_evaluate_reads_a_file_that_could_be_read_two_ways_in_the_locale_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Amounts like 1.000, read with a thousands or a decimal separator (its dates, with dots, read
    day-first): the file is refused, naming the option that settles it offline; with --locale de-DE it
    reads as German. B paid 18 invoices 10 days late before 2024, no day of its dates above 12: with
    A's 3 paid before the split, more than the 20 paid invoices a model needs."""
    lines = ["customer_id;invoice_number;invoice_date;due_date;amount;open_amount;paid_date;currency\n"]
    for n in range(18):  # issued 1 July 2022 to 1 December 2023, due the 2nd of the next month
        issued, after = (date(2022 + (6 + k) // 12, (6 + k) % 12 + 1, 1) for k in (n, n + 1))
        lines.append(f"B;B/{n};{issued:%d.%m.%Y};02.{after:%m.%Y};1.000;0;12.{after:%m.%Y};EUR\n")
    lines += [f"A;A/{m};01.0{m}.2024;02.0{m + 1}.2024;1.000;0;12.0{m + 1}.2024;EUR\n" for m in range(2, 6)]
    path = tmp_path / "eu.csv"
    path.write_text("".join(lines), encoding="utf-8")
    base = ["predict", "evaluate", "--history", str(path), "--mapping", "generic", "--split", "2024-06-01"]
    assert main(base) == 2
    assert "(here: --locale, e.g. --locale de-DE)" in capsys.readouterr().err
    assert main([*base, "--locale", "de-DE", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    # A/5, due 2 June (day-first), paid 12 June: 10 days late like the others, so the model is exact
    assert figures["invoices_scored"] == 1
    assert figures["mae_days"] == {"model": 0.0, "due_date": 10.0, "due_plus_customer_average": 0.0}


def test_evaluate_reads_dotted_dates_day_first_without_a_locale_and_notes_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same history as above, its amounts with a decimal comma (1.000,00): its dates, no day above
    12, are written DD.MM.YYYY, which no locale writes month-first, so they read day-first without
    --locale, and the note says so; --locale en-US contradicts them and is refused, not misread."""
    lines = ["customer_id;invoice_number;invoice_date;due_date;amount;open_amount;paid_date;currency\n"]
    for n in range(18):
        issued, after = (date(2022 + (6 + k) // 12, (6 + k) % 12 + 1, 1) for k in (n, n + 1))
        lines.append(f"B;B/{n};{issued:%d.%m.%Y};02.{after:%m.%Y};1.000,00;0;12.{after:%m.%Y};EUR\n")
    lines += [f"A;A/{m};01.0{m}.2024;02.0{m + 1}.2024;1.000,00;0;12.0{m + 1}.2024;EUR\n" for m in range(2, 6)]
    path = tmp_path / "eu.csv"
    path.write_text("".join(lines), encoding="utf-8")
    base = ["predict", "evaluate", "--history", str(path), "--mapping", "generic", "--split", "2024-06-01"]
    assert main([*base, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    # A/5, due 2 June (day-first), paid 12 June: 10 days late like the others, so the model is exact
    assert figures["invoices_scored"] == 1
    assert figures["mae_days"] == {"model": 0.0, "due_date": 10.0, "due_plus_customer_average": 0.0}
    assert main(base) == 0
    assert "note: eu.csv: line 2, invoice_date '01.07.2022': dates read day-first" in capsys.readouterr().out
    assert main([*base, "--locale", "en-US"]) == 2
    assert "the file was not exported in en-US" in capsys.readouterr().err


def test_waits_followed_long_enough_say_which_share_is_ever_paid() -> None:
    """Ten invoices as far past their day: 3 paid 10 days on, 2 paid 40 days on, 5 still unpaid when
    training ends. Followed 200 days, half were never paid: the day is the median of the paid ones (10),
    not the median of all (40), which the never-paid pull out. Followed 100 days, less than
    PAID_FOLLOW_UP, the 5 may yet pay, and the day reads every wait."""
    paid = [(10, True)] * 3 + [(40, True)] * 2
    followed = Waits.of([*paid, *[(200, False)] * 5])
    assert followed.paid_share == pytest.approx(0.5)
    assert followed.quantile(0.5) == 40 and followed.if_paid(0.5) == 10
    assert followed.survival(100) == pytest.approx(0.5, abs=0.01)  # P(longer) counts the never paid
    short = Waits.of([*paid, *[(PAID_FOLLOW_UP - 50, False)] * 5])
    assert short.paid_share == 1.0 and short.if_paid(0.5) == short.quantile(0.5) == 40
    document = Model.from_document(
        json.loads(json.dumps(replace(train(portfolio(), AS_OF), waits={(3, -1): followed}).to_document()))
    )
    assert document.waits[(3, -1)] == followed
    with pytest.raises(PredictionError, match="model version 1"):
        Model.from_document({**document.to_document(), "version": 1})


def test_a_long_late_invoice_is_predicted_among_those_that_were_paid_and_the_factor_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A go-live backlog: "Brennan & Sons, Zürich" left half of its 40 invoices of November 2023 unpaid and
    paid the rest 60 days late. Its invoice FA/2024/0001, 90 days late at the end of June, is predicted on
    the invoices as far past their day that were paid; its still-open factor says what share never was.
    Read with every wait (the never-paid counted as still waiting), the day is later; the interval and
    P(> 30 days late) are the same, since they count the never-paid either way."""
    backlog = [
        invoice(
            "Brennan & Sons, Zürich",
            f"FA/2023/{n:04}",
            date(2023, 11, 1) + timedelta(days=n),
            None if n % 2 else 60,
        )
        for n in range(40)
    ]
    late = invoice("Brennan & Sons, Zürich", "FA/2024/0001", date(2024, 3, 2), None)
    invoices = [*portfolio(), *backlog, late]

    def predicted() -> Prediction:
        model = train(invoices, AS_OF)
        return next(p for p in predict(model, invoices, AS_OF) if p.invoice_number == "FA/2024/0001")

    among_paid = predicted()
    still = next(f for f in among_paid.contributions if f.name == "still_open")
    assert still.sentence.startswith("still unpaid 90 days after its due date; ")
    assert "of invoices as far past theirs were still unpaid" in still.sentence
    assert still.sentence.endswith("this is the day it is paid, if it is")
    assert among_paid.baseline_days + sum(f.days for f in among_paid.contributions) == among_paid.offset_days
    monkeypatch.setattr(predictions, "PAID_FOLLOW_UP", 10_000)
    every_wait = predicted()
    assert among_paid.pay_date < every_wait.pay_date
    assert (among_paid.high, among_paid.probability_over_30_days_late) == (
        every_wait.high,
        every_wait.probability_over_30_days_late,
    )
    assert (
        "were still unpaid"
        not in next(f for f in every_wait.contributions if f.name == "still_open").sentence
    )
