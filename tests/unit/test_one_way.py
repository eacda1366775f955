"""jaksim one-way: user ranges, each input low and high under common random numbers (issue 15,
item 4), drawn by jaksim tornado; ranges-file errors in one line."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jaksim.cli import main
from jaksim.errors import ScenarioError
from jaksim.run.one_way import ranges_of

VACC = Path(__file__).resolve().parents[2] / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml"


def test_price_range_moves_costs_only_and_tornado_reads_the_folder(tmp_path, capsys):
    ranges = tmp_path / "ranges.yaml"
    ranges.write_text("economics.vaccine_cost_per_dose: [100, 220]\n"
                      "arms.rzv_all_before_start.vaccination.uptake: [0.6, 0.95]\n")
    out = tmp_path / "ow"
    assert main(["one-way", str(VACC), str(ranges), "--n-patients", "400", "--out", str(out)]) == 0
    t = pq.read_table(out / "one_way.parquet").to_pylist()
    cell = {(r["parameter"], r["bound"], r["arm"]): r for r in t}
    arm, key = "rzv_all_before_start", "economics.vaccine_cost_per_dose"
    base, lo, hi = cell[("", "base", arm)], cell[(key, "low", arm)], cell[(key, "high", arm)]
    # common random numbers: the price changes no patient's health, and costs are linear in it
    assert lo["qalys"] == base["qalys"] == hi["qalys"]
    assert lo["costs"] < base["costs"] < hi["costs"]
    slope = (hi["costs"] - lo["costs"]) / 120.0             # cost per currency unit of price
    assert base["costs"] - lo["costs"] == pytest.approx(slope * (library_price() - 100), rel=1e-9)
    assert b"jaksim.ranges_yaml" in (pq.read_schema(out / "one_way.parquet").metadata or {})
    assert cell[(key, "low", "no_vaccination")]["costs"] == cell[("", "base", "no_vaccination")]["costs"]
    capsys.readouterr()
    assert main(["tornado", str(out), "--arm", arm, "--measure", "incremental_costs"]) == 0
    assert "Incremental discounted costs per patient" in capsys.readouterr().out
    assert main(["report", str(out)]) == 2
    assert "is a one-way folder: draw it with 'jaksim tornado" in capsys.readouterr().err


def library_price() -> float:
    """The recombinant vaccine's price in the library (GBP): the base run's, since the scenario sets none."""
    from jaksim.economics.costs_qalys import economics_library
    return float(economics_library()["currencies"]["GBP"]["vaccines"]["recombinant"]["cost_per_dose"]["value"])


@pytest.mark.parametrize("text,words", [
    ("economics.vaccine_cost_per_dose: 100\n", "must be [low, high], two numbers"),
    ("economics.vaccine_cost_per_dose: [200, 100]\n", "low must be below high"),
    ("[1, 2]\n", "a ranges file maps key paths to [low, high]"),
])
def test_bad_ranges_files(tmp_path, text, words):
    f = tmp_path / "r.yaml"
    f.write_text(text)
    with pytest.raises(ScenarioError, match=words.replace("[", r"\[").replace("]", r"\]")):
        ranges_of(f)
