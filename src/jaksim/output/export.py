"""``jaksim export``: every table of a run or PSA folder as CSV files or one Excel workbook.

For a reviewer who opens the model in a spreadsheet. A table partitioned by arm gets its
``arm`` column first; dictionary columns are written as their strings. ``csv`` writes one
``<table>.csv`` per table; ``xlsx`` one workbook with a sheet per table, an ``about`` sheet
first (the manifest: scenario, seed, arms, versions), written with openpyxl. A PSA folder also
gets the wide matrices that dampack's ``make_psa_obj`` and BCEA's ``bcea`` take, as CSV:
``psa_cost.csv`` and ``psa_effectiveness.csv`` (one row per draw, one column per strategy:
mean costs and QALYs per patient) and ``psa_parameters.csv`` (one row per draw, one column per
parameter), rows in the same draw order.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from jaksim.errors import OutputError
from jaksim.output.parquet import MANIFEST, PARTITION_KEY

FORMATS = ("csv", "xlsx")
#: rows of an Excel sheet, less the header row
XLSX_MAX_ROWS = 1_048_575
#: the default place of an export inside the results folder
EXPORT_FOLDER = "export"
#: sheet order: what a reviewer opens first, first (others after these, by name)
ORDER = ("summary", "contrasts", "economics", "cycles", "events", "patients", "outcomes", "parameters",
         "parameter_info", "one_way")


def manifest(folder: Path) -> dict:
    """The manifest of a jaksim results folder, or an OutputError saying what ``folder`` is not."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise OutputError(f"'{folder}' is not a jaksim results folder ({MANIFEST} missing); give the folder "
                          "that jaksim run or jaksim psa wrote")
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise OutputError(f"'{path}' is not readable JSON") from None
    if not isinstance(found, dict) or not isinstance(found.get("tables"), dict):
        raise OutputError(f"'{path}' does not describe a jaksim result (no 'tables')")
    return found


def read_table(folder: Path, name: str) -> pa.Table:
    """One table of a results folder: a hive-partitioned folder (``arm`` first) or one file."""
    import pyarrow.dataset as ds
    folder = Path(folder)
    if (folder / name).is_dir():
        t = ds.dataset(folder / name, format="parquet", partitioning="hive").to_table()
        if PARTITION_KEY in t.column_names:
            arm = t.column(PARTITION_KEY)
            t = t.drop_columns([PARTITION_KEY]).add_column(0, PARTITION_KEY, arm)
        return t
    path = folder / f"{name}.parquet"
    if not path.is_file():
        raise OutputError(f"table '{name}' is listed in '{folder / MANIFEST}' but is missing")
    return pq.read_table(path)


def tables(folder: Path, only: list[str] | None = None) -> dict[str, pa.Table]:
    """Every table of ``folder`` in ``ORDER`` (``only``: these, checked)."""
    names = sorted(manifest(folder)["tables"], key=lambda t: (ORDER.index(t) if t in ORDER else len(ORDER), t))
    if only:
        unknown = [t for t in only if t not in names]
        if unknown:
            raise OutputError(f"--tables: '{unknown[0]}' is not a table of '{folder}'; allowed: {', '.join(names)}")
        names = [t for t in names if t in only]
    return {name: plain(read_table(folder, name)) for name in names}


def plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded to their values; metadata dropped (a spreadsheet has none)."""
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(cols, names=table.column_names)


def psa_matrices(folder: Path) -> dict[str, pa.Table]:
    """dampack/BCEA inputs of a PSA folder: costs and effects (draws × strategies), parameters."""
    info = manifest(folder)
    outcomes = pq.read_table(Path(folder) / "outcomes.parquet")
    params = pq.read_table(Path(folder) / "parameters.parquet").sort_by("draw")
    draws = params.column("draw")
    wide = {}
    for name, col in (("psa_cost", "costs"), ("psa_effectiveness", "qalys")):
        cols = {}
        for arm in info["arms"]:
            rows = outcomes.filter(pc.equal(outcomes.column("arm"), arm)).sort_by("draw")
            if not rows.column("draw").equals(draws):
                raise OutputError(f"'{folder}': outcomes of arm '{arm}' do not cover the draws of parameters.parquet")
            cols[arm] = rows.column(col)
        wide[name] = pa.table(cols)
    wide["psa_parameters"] = params.drop_columns(["draw"])
    return wide


def export(folder: Path, fmt: str, out: Path | None = None, only: list[str] | None = None) -> list[Path]:
    """Write the tables of a run or PSA folder as CSV files or one XLSX workbook; the paths written.

    ``out``: the folder to write into (default ``<folder>/export``); ``only``: these tables.
    """
    if fmt not in FORMATS:
        raise OutputError(f"--format '{fmt}' is not allowed; allowed: {', '.join(FORMATS)}")
    folder = Path(folder)
    info = manifest(folder)
    found = tables(folder, only)
    out = Path(out) if out is not None else folder / EXPORT_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if fmt == "csv":
        for name, t in found.items():
            written.append(_csv(t, out / f"{name}.csv"))
    else:
        written.append(_xlsx(found, info, out / f"{info.get('scenario', 'jaksim')}{_suffix(info)}.xlsx"))
    if info.get("kind") == "psa" and not only:
        for name, t in psa_matrices(folder).items():
            written.append(_csv(t, out / f"{name}.csv"))
    return written


def _suffix(info: dict) -> str:
    return "_psa" if info.get("kind") == "psa" else ""


def _csv(table: pa.Table, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    pacsv.write_csv(table, tmp)
    tmp.replace(path)
    return path


def _cell(value):
    """A value openpyxl writes: NaN and infinities as empty cells (Excel has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _xlsx(found: dict[str, pa.Table], info: dict, path: Path) -> Path:
    from openpyxl import Workbook

    too_big = [(n, t.num_rows) for n, t in found.items() if t.num_rows > XLSX_MAX_ROWS]
    if too_big:
        name, rows = too_big[0]
        others = ",".join(n for n in found if n != name)
        raise OutputError(f"table '{name}' has {rows:,} rows, more than an Excel sheet holds ({XLSX_MAX_ROWS:,}); "
                          f"export it as CSV (--format csv) or leave it out (--tables {others})")
    book = Workbook(write_only=True)
    about = book.create_sheet("about")
    about.append(["key", "value"])
    for key, value in info.items():
        about.append([key, value if isinstance(value, (int, float, str)) else json.dumps(value, sort_keys=True)])
    for name, t in found.items():
        sheet = book.create_sheet(name[:31])
        sheet.append(t.column_names)
        for batch in t.to_batches(max_chunksize=65536):
            columns = [c.to_pylist() for c in batch.columns]
            for row in zip(*columns, strict=True):
                sheet.append([_cell(v) for v in row])
    tmp = path.with_name(path.name + ".tmp")
    book.save(tmp)
    tmp.replace(path)
    return path
