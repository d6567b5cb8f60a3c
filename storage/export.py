"""Admin exports of the append-only tables: rows streamed in batches, written as CSV that spreadsheets
open safely. Shared by the feedback and the query log."""
from __future__ import annotations

import csv
import io
import sqlite3
from typing import Iterator, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: cells a spreadsheet runs
EXPORT_BATCH = 500


def table_rows(db: sqlite3.Connection, table: str, columns: Sequence[str],
               since: str | None = None, until: str | None = None) -> Iterator[tuple]:
    """Every row of ``table`` in id order, read in batches (a table can outgrow memory); closes ``db``.
    ``since``/``until`` bound the ``at`` column (ISO 8601 UTC text: since inclusive, until exclusive)."""
    where, params = [], []
    if since is not None:
        where.append("at >= ?")
        params.append(since)
    if until is not None:
        where.append("at < ?")
        params.append(until)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    try:
        cursor = db.execute(f"SELECT {', '.join(columns)} FROM {table}{clause} ORDER BY id", params)
        while batch := cursor.fetchmany(EXPORT_BATCH):
            yield from batch
    finally:
        db.close()


def csv_pieces(columns, rows) -> Iterator[str]:
    """A CSV as a stream of pieces (a header, then batches of rows), formula cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(value) for value in row])
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
