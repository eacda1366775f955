"""Every table of a run folder and of a PSA folder reads as is with pandas, pyarrow, polars and
DuckDB (issue 16): no column is both inside the files and a partition key of their folder."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest


def _tables(folder: Path) -> dict[str, Path]:
    manifest = json.loads((folder / "jaksim.json").read_text())
    found = {}
    for name in manifest["tables"]:
        path = folder / name if (folder / name).is_dir() else folder / f"{name}.parquet"
        assert path.exists(), path
        found[name] = path
    return found


def _expected_rows(path: Path) -> int:
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _read(reader: str, path: Path):
    """(rows, column names) of the table at ``path`` read by ``reader`` as a user would."""
    if reader == "pandas":
        import pandas as pd
        df = pd.read_parquet(path)
        return len(df), list(df.columns)
    if reader == "pyarrow":
        t = pq.read_table(path)
        return t.num_rows, t.column_names
    if reader == "polars":
        pl = pytest.importorskip("polars")
        df = (pl.read_parquet(path / "**" / "*.parquet", hive_partitioning=True) if path.is_dir()
              else pl.read_parquet(path))
        lazy = pl.scan_parquet(path, hive_partitioning=True).collect() if path.is_dir() else df
        assert lazy.height == df.height
        return df.height, df.columns
    duckdb = pytest.importorskip("duckdb")
    source = f"'{path}/*/*.parquet', hive_partitioning=true" if path.is_dir() else f"'{path}'"
    rel = duckdb.sql(f"select * from read_parquet({source})")
    return len(rel.fetchall()), rel.columns


@pytest.mark.parametrize("reader", ["pandas", "pyarrow", "polars", "duckdb"])
def test_every_run_table_reads(vaccination_run, reader):
    tables = _tables(vaccination_run)
    assert {"events", "patients", "summary", "contrasts", "economics", "cycles"} <= set(tables)
    for name, path in tables.items():
        rows, columns = _read(reader, path)
        assert rows == _expected_rows(path) > 0, (reader, name)
        assert columns.count("arm") == 1, (reader, name, columns)


@pytest.mark.parametrize("reader", ["pandas", "pyarrow", "polars", "duckdb"])
def test_every_psa_table_reads(vaccination_psa, reader):
    tables = _tables(vaccination_psa)
    assert {"outcomes", "parameters", "parameter_info", "cycles", "summary"} <= set(tables)
    for name, path in tables.items():
        rows, _ = _read(reader, path)
        assert rows == _expected_rows(path) > 0, (reader, name)


def test_partitioned_files_hold_no_arm_column(vaccination_run):
    for f in vaccination_run.rglob("*.parquet"):
        assert "arm" not in pq.read_schema(f).names, f
        assert pq.read_schema(f).metadata[b"jaksim.arm"].decode() == f.parent.name.removeprefix("arm=")
