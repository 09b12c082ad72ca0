"""Dunning letters: the reminder on paper, as a PDF for a print-and-mail service (docs/letters.md).

A letter says what the reminder email of the same template says, in the customer's language (the words
of ``templates/wording.yaml``, through ``emails.reminder_words``): the open items, the net amount asked
(the customer's credits taken off), the statutory charges where the policy computes them, and the
portal link, printed as text and as a QR code. The page follows DIN 5008 / C5 window envelopes: the
address sits in the window (20 mm from the left, 45 mm from the top).

The PDF is made by fpdf2 and the QR code by segno (nothing is drawn by hand); both are imported when
the first letter is rendered, never at a cold start. The fonts are DejaVu Sans (``fonts/``, Bitstream
Vera licence), embedded and subset, so any name a customer master holds prints as it is written.
Rendering is deterministic: the same letter at the same ``now`` gives the same bytes, so its sha256
in the manifest identifies it.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arcollect.dunning.emails import ReminderEmail, format_date, language_for, letter_phrases, reminder_words

FONT_DIR = Path(__file__).parent / "fonts"
_FONT = "DejaVu"
# A4 in millimetres, and the DIN 5008 (form B) address window.
_MARGIN = 20.0
_WINDOW_TOP = 45.0
_WINDOW_WIDTH = 85.0
_QR_SIZE = 32.0


@dataclass(frozen=True)
class RenderedLetter:
    """One letter's PDF and what its manifest line says of it."""

    pdf: bytes
    pages: int
    language: str
    sha256: str


def as_letter(words: dict[str, Any], language: str) -> dict[str, Any]:
    """The reminder's words as a letter says them: the intro and closing without "reply to this email"."""
    phrases = letter_phrases(language)
    said = dict(words)
    for key in ("intro", "closing"):
        for email_phrase, letter_phrase in phrases.items():
            said[key] = said[key].replace(email_phrase, letter_phrase)
    return said


def render_letter(letter: ReminderEmail, *, letter_id: str, address: tuple[str, ...]) -> RenderedLetter:
    """The letter for ``letter`` (the reminder as it would be emailed: its customer, invoices, template,
    credits and charges) to ``address`` (the name, then the postal lines)."""
    if len(address) < 2:
        raise ValueError("a letter needs the customer's name and at least one postal address line")
    words = as_letter(reminder_words(letter), language_for(letter.customer))
    from fpdf import FPDF  # the first letter pays for the PDF library, not the cold start

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creation_date(letter.now)
    pdf.set_title(words["subject"])
    pdf.set_author(letter.sender_name)
    pdf.add_font(_FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(_FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN)
    labels = words["labels"]
    page_label = labels["letter_page"]
    pdf.alias_nb_pages()

    def footer() -> None:
        pdf.set_y(-15)
        pdf.set_font(_FONT, "", 8)
        pdf.cell(0, 5, f"{letter_id} · {page_label} {pdf.page_no()}/{{nb}}", align="R")

    pdf.footer = footer  # type: ignore[method-assign]
    pdf.add_page()
    _head(pdf, letter, words, letter_id, address)
    _body(pdf, words)
    _portal(pdf, words)
    _signature(pdf, words)
    body = bytes(pdf.output())
    return RenderedLetter(
        pdf=body,
        pages=pdf.pages_count,
        language=str(words["lang"]),
        sha256=hashlib.sha256(body).hexdigest(),
    )


def _head(
    pdf: Any, letter: ReminderEmail, words: dict[str, Any], letter_id: str, address: tuple[str, ...]
) -> None:
    labels = words["labels"]
    pdf.set_font(_FONT, "", 7)
    pdf.set_xy(_MARGIN, _WINDOW_TOP - 5)
    pdf.cell(_WINDOW_WIDTH, 4, letter.sender_name)
    pdf.set_xy(_MARGIN, _WINDOW_TOP)
    pdf.set_font(_FONT, "", 10)
    pdf.multi_cell(_WINDOW_WIDTH, 5, "\n".join(address), new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(125, _WINDOW_TOP)
    pdf.set_font(_FONT, "", 9)
    day = format_date(letter.today or letter.now.date(), str(words["lang"]))
    pdf.multi_cell(
        65,
        5,
        f"{labels['letter_date']}{words['colon']}{day}\n{labels['letter_reference']}{words['colon']}{letter_id}",
    )
    pdf.set_xy(_MARGIN, 100)
    pdf.set_font(_FONT, "B", 12)
    pdf.multi_cell(0, 6, words["subject"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(_FONT, "", 10)
    pdf.multi_cell(0, 5, words["greeting"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.multi_cell(0, 5, words["intro"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _body(pdf: Any, words: dict[str, Any]) -> None:
    labels = words["labels"]
    pdf.set_font(_FONT, "", 8.5)
    _rows(pdf, labels, words["rows"])
    pdf.ln(2)
    pdf.set_font(_FONT, "", 9)
    if words["gross"]:
        # The customer's credits come off what is asked: the gross, each credit, then the net.
        _amount_line(pdf, labels["total"], " + ".join(words["gross"]))
    for line in words["credits"]:
        _amount_line(pdf, f"{line['label']} {line['reference']}", line["amount"])
    pdf.set_font(_FONT, "B", 10)
    _amount_line(pdf, labels["to_pay"] if words["credits"] else labels["total"], " + ".join(words["totals"]))
    pdf.set_font(_FONT, "", 9)
    if words["info_rows"]:
        # Invoices a statement of overdue invoices lists for information: not yet due, in no total.
        pdf.ln(3)
        pdf.set_font(_FONT, "B", 9)
        pdf.multi_cell(0, 5, labels["not_yet_due_title"], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(_FONT, "", 8.5)
        pdf.multi_cell(0, 4, labels["not_yet_due_note"], new_x="LMARGIN", new_y="NEXT")
        _rows(pdf, labels, words["info_rows"])
        pdf.set_font(_FONT, "", 9)
    if words["charges"]:
        pdf.ln(3)
        pdf.set_font(_FONT, "B", 9)
        pdf.multi_cell(0, 5, labels["late_charges_title"], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(_FONT, "", 8.5)
        with pdf.table(
            col_widths=(60, 55, 55),
            text_align=("LEFT", "RIGHT", "RIGHT"),
            line_height=5,
            first_row_as_headings=True,
        ) as table:
            table.row([labels["invoice"], labels["interest"], labels["compensation"]])
            for charge in words["charges"]:
                table.row([charge["number"], charge["interest"], charge["compensation"]])
        pdf.set_font(_FONT, "", 8)
        pdf.multi_cell(0, 4, words["charges_note"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(_FONT, "", 10)
    pdf.multi_cell(0, 5, words["closing"], new_x="LMARGIN", new_y="NEXT")


def _rows(pdf: Any, labels: dict[str, str], rows: list[dict[str, Any]]) -> None:
    """A table of invoices: number, PO, dates, status and open amount."""
    with pdf.table(
        col_widths=(28, 22, 33, 22, 34, 31),
        text_align=("LEFT", "LEFT", "LEFT", "LEFT", "LEFT", "RIGHT"),
        line_height=5,
        first_row_as_headings=True,
    ) as table:
        table.row(
            [
                labels["invoice"],
                labels["po"],
                labels["invoice_date"],
                labels["due_date"],
                labels["status"],
                labels["open_amount"],
            ]
        )
        for row in rows:
            table.row(
                [row["number"], row["po"], row["invoice_date"], row["due_date"], row["status"], row["amount"]]
            )


def _amount_line(pdf: Any, label: str, amount: str) -> None:
    pdf.cell(120, 5, label)
    pdf.cell(50, 5, amount, align="R", new_x="LMARGIN", new_y="NEXT")


def _portal(pdf: Any, words: dict[str, Any]) -> None:
    """The portal link as text (to type) and as a QR code (to scan), kept together on one page."""
    import segno

    labels = words["labels"]
    if pdf.will_page_break(_QR_SIZE + 12):
        pdf.add_page()
    pdf.ln(3)
    top = pdf.get_y()
    image = io.BytesIO()
    # Error correction M: still reads with a crease or a smudge of the printed page.
    segno.make(words["portal_url"], error="m", micro=False).save(image, kind="png", scale=8, border=4)
    image.seek(0)
    pdf.image(image, x=_MARGIN, y=top, w=_QR_SIZE, h=_QR_SIZE)
    pdf.set_xy(_MARGIN + _QR_SIZE + 5, top + 2)
    pdf.set_font(_FONT, "", 9)
    pdf.multi_cell(0, 5, labels["portal_intro"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(_MARGIN + _QR_SIZE + 5)
    pdf.set_font(_FONT, "B", 8)
    pdf.multi_cell(0, 4, words["portal_url"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(_MARGIN + _QR_SIZE + 5)
    pdf.set_font(_FONT, "", 8)
    pdf.multi_cell(0, 4, labels["letter_scan"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + _QR_SIZE) + 3)


def _signature(pdf: Any, words: dict[str, Any]) -> None:
    labels = words["labels"]
    pdf.set_font(_FONT, "", 9)
    pdf.multi_cell(0, 5, labels["paid_note"], new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, labels["letter_hint"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(_FONT, "", 10)
    pdf.multi_cell(0, 5, labels["regards"], new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0,
        5,
        "\n".join(line for line in (words["signer"], words["signer_team"]) if line),
        new_x="LMARGIN",
        new_y="NEXT",
    )
