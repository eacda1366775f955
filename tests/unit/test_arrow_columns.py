"""Arrow columns built from numpy buffers equal pyarrow.array's, and a run never imports pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from jaksim.output.arrow import column, dictionary, strings


@pytest.mark.parametrize("values", [
    np.arange(7, dtype=np.int64), np.arange(5, dtype=np.int32), np.linspace(0, 1, 9),
    np.array([True, False, True, True, False, False, True, False, True, True]),
    np.zeros(0), np.arange(12.0)[::3],          # empty; non-contiguous view
    np.array([1.0, np.nan, np.inf]),            # NaN stays a value unless masked
])
def test_column_equals_pyarrow_array(values):
    got, want = column(values), pa.array(values)
    assert got.type == want.type and got.null_count == want.null_count == 0
    assert np.array_equal(got.to_numpy(zero_copy_only=False), want.to_numpy(zero_copy_only=False),
                          equal_nan=values.dtype.kind == "f")


def test_masked_column_has_nulls_where_masked():
    x = np.array([1.0, np.nan, 3.0, np.inf])
    got = column(x, mask=~np.isfinite(x))
    assert got.equals(pa.array(x, mask=~np.isfinite(x)))
    assert got.null_count == 2


def test_typed_column_converts():
    assert column(np.array([1.0, 2.0]), pa.int64()).equals(pa.array([1, 2], pa.int64()))
    assert column([1, 2, 3]).type == pa.int64()


def test_strings_and_dictionary():
    names = ["serious_infection", "herpes_zoster", "", "é"]
    assert strings(names).equals(pa.array(names, pa.string()))
    d = dictionary(np.array([1, 0, 3]), names)
    assert d.to_pylist() == ["herpes_zoster", "serious_infection", "é"]
    assert d.type == pa.dictionary(pa.int8(), pa.string())


def test_run_does_not_import_pandas(tmp_path):
    """pyarrow.array imports pandas (0.2 s) when it is installed; a run must not call it."""
    code = ("import sys\n"
            "from jaksim.cli import main\n"
            f"rc = main(['run', 'scenarios/ra_tofacitinib_5mg.yaml', '--n-patients', '300', '--out', "
            f"{str(tmp_path / 'out')!r}])\n"
            "print('pandas' in sys.modules, rc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).resolve().parents[2]))
    assert out.stdout.strip().splitlines()[-1] == "False 0", out.stdout + out.stderr
