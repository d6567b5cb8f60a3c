"""The report's tables as CSV files, all rows, for spreadsheets: UTF-8 with a BOM (Excel then reads the
Chinese right), formula cells neutralised like the admin exports."""
from __future__ import annotations

import csv
import io

from storage.export import csv_cell

from .build import Report
from .content import Cell, Percent, sections


def csv_files(report: Report) -> dict[str, str]:
    """File name → content."""
    files = {}
    for section in sections(report):
        for table in section.tables:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(table.columns)
            writer.writerows([csv_cell(_value(v)) for v in row] for row in table.rows)
            files[f"{table.name}.csv"] = "\ufeff" + out.getvalue()
    return files


def _value(value: Cell):
    if isinstance(value, Percent):
        return round(float(value), 4)
    if isinstance(value, tuple):
        return " | ".join(str(v) for v in value)
    return value
