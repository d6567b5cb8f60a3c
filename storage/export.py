"""Admin exports of the append-only tables: rows streamed in batches, written as CSV that spreadsheets
open safely. Shared by the feedback and the query log, on either backend."""
from __future__ import annotations

import csv
import io
from typing import Iterator

from core.masking import mask

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: cells a spreadsheet runs
EXPORT_BATCH = 500


def csv_pieces(columns, rows, masked: tuple[str, ...] = ("question",)) -> Iterator[str]:
    """A CSV as a stream of pieces (a header, then batches of rows), formula cells neutralised. The
    ``masked`` columns are masked again: a row stored by an older version may hold what today's masking
    catches (masking a masked text changes nothing)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    again = {columns.index(name) for name in masked if name in columns}
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(mask(value) if i in again and isinstance(value, str) else value)
                         for i, value in enumerate(row)])
        if n % EXPORT_BATCH == 0:
            yield _drain(out)
    yield _drain(out)


def csv_cell(value):
    """A text starting with = + - @ TAB or CR gets a leading ' so that Excel or LibreOffice shows it
    instead of running it as a formula (OWASP, CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text
