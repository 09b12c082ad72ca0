"""Text written into a spreadsheet cell by arcollect (statements, KPI reports, the ERP change feed).

Text that came from the ERP or the customer (names, customer and invoice numbers, notes) could start a
formula: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single
quote, so Excel and LibreOffice show it as text instead of running it (CSV injection, DDE). Numbers and
dates arcollect writes itself are never altered. It lives here, below the features, because the portal,
the reports and the change feed all write such cells.
"""

from __future__ import annotations

from typing import Final

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")

# The content types of the spreadsheet files arcollect writes (S3 objects and downloads).
CSV_CONTENT_TYPE: Final = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(text: str | None) -> str:
    """``text`` safe to put in a spreadsheet cell: no formula, no DDE (a leading quote if needed)."""
    if not text:
        return ""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
