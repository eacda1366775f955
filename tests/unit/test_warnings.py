"""One-line warnings for what a user should know: NICE case with a foreign life table, and
placeholder costs or utilities; printed on stderr and written into the output metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from jaksim.cli import main

ROOT = Path(__file__).resolve().parents[2]
VACC = ROOT / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"


def test_nice_case_with_us_life_table_warns_once(capsys, tmp_path):
    assert main(["validate", str(VACC)]) == 0               # shipped: UK life table, no life-table warning
    assert "life table" not in capsys.readouterr().err
    us = tmp_path / "us.yaml"
    text = VACC.read_text()
    us.write_text(text.replace("life_table: uk_2022_2024", "life_table: us_2019"))
    assert us.read_text() != text
    assert main(["validate", str(us)]) == 0
    err = capsys.readouterr().err.splitlines()
    life = [ln for ln in err if "life table" in ln]
    assert len(life) == 1 and life[0].startswith("warning: every arm: NICE reference case")
    assert "us_2019" in life[0] and "United States" in life[0]
    assert any(ln.startswith("warning: ") and "placeholders" in ln for ln in err)


def test_no_economics_no_warning(capsys):
    assert main(["validate", str(ROOT / "scenarios" / "ra_tofacitinib_5mg.yaml")]) == 0
    assert "warning" not in capsys.readouterr().err


def test_warnings_are_in_the_metadata(tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(VACC), "--n-patients", "300", "--out", str(out)]) == 0
    meta = pq.read_schema(next((out / "summary").rglob("*.parquet"))).metadata
    warnings = json.loads(meta[b"jaksim.warnings"])
    assert any("placeholders" in w for w in warnings) and not any("life table" in w for w in warnings)


def test_economics_provenance_is_in_the_metadata(tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(VACC), "--n-patients", "300", "--out", str(out)]) == 0
    meta = pq.read_schema(next((out / "summary").rglob("*.parquet"))).metadata
    econ = json.loads(meta[b"jaksim.economics"])
    hz = econ["events"]["herpes_zoster"]
    assert hz["cost"]["status"] in ("read", "computed", "assumption") and "citation" in hz["cost"]
    assert econ["discount"]["preset"] == "nice"
