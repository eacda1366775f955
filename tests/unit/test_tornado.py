"""Tornado (one-way sensitivity) on net benefit at any threshold or on the ICER (issue 15, item 4):
hand-computed values on a constructed one-way table, and the ``jaksim tornado`` command on a PSA."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_economics import ECON_SCENARIO

from jaksim import cli
from jaksim.analysis.tornado import tornado
from jaksim.run import psa
from jaksim.scenario import load as config


def _one_way(rows: list[tuple[str, str, float, str, float, float]]) -> pa.Table:
    keys = ("parameter", "bound", "value", "arm", "costs", "qalys")
    return pa.Table.from_pylist([dict(zip(keys, r, strict=True)) for r in rows])


#: reference 'ref' and arm 'vac'; base: Δcosts 100, ΔQALYs 0.01 (ICER 10,000)
TABLE = _one_way([
    ("", "base", math.nan, "ref", 1000.0, 10.0), ("", "base", math.nan, "vac", 1100.0, 10.01),
    ("price", "low", 50.0, "ref", 1000.0, 10.0), ("price", "low", 50.0, "vac", 1050.0, 10.01),
    ("price", "high", 150.0, "ref", 1000.0, 10.0), ("price", "high", 150.0, "vac", 1150.0, 10.01),
    ("efficacy", "low", 0.5, "ref", 1000.0, 10.0), ("efficacy", "low", 0.5, "vac", 1100.0, 9.99),
    ("efficacy", "high", 0.9, "ref", 1000.0, 10.0), ("efficacy", "high", 0.9, "vac", 1050.0, 10.02),
    ("utility", "low", 0.1, "ref", 1000.0, 10.0), ("utility", "low", 0.1, "vac", 1100.0, 10.009),
    ("utility", "high", 0.2, "ref", 1000.0, 10.0), ("utility", "high", 0.2, "vac", 1100.0, 10.011),
])


def test_net_benefit_at_any_threshold_is_hand_computed():
    for w in (0.0, 20_000.0, 50_000.0):
        t = tornado(TABLE, "vac", "ref", "nmb", w)
        assert t.base == pytest.approx(w * 0.01 - 100.0, abs=1e-6)
        bars = {b.parameter: b for b in t.bars}
        assert bars["price"].outcome_low == pytest.approx(w * 0.01 - 50.0, abs=1e-6)
        assert bars["price"].outcome_high == pytest.approx(w * 0.01 - 150.0, abs=1e-6)
        assert bars["efficacy"].outcome_low == pytest.approx(w * -0.01 - 100.0, abs=1e-6)
        assert bars["efficacy"].outcome_high == pytest.approx(w * 0.02 - 50.0, abs=1e-6)
        assert [b.swing for b in t.bars] == sorted((b.swing for b in t.bars), reverse=True)
    # the order of the bars depends on the threshold: price leads at 0, efficacy at 50,000
    assert tornado(TABLE, "vac", "ref", "nmb", 0.0).bars[0].parameter == "price"
    assert tornado(TABLE, "vac", "ref", "nmb", 50_000.0).bars[0].parameter == "efficacy"


def test_icer_bars_and_where_the_icer_is_undefined():
    t = tornado(TABLE, "vac", "ref", "icer")
    assert t.base == pytest.approx(10_000.0)
    assert t.willingness_to_pay is None
    bars = {b.parameter: b for b in t.bars}
    assert bars["price"].outcome_low == pytest.approx(5_000.0) and bars["price"].outcome_high == pytest.approx(15_000.0)
    assert bars["utility"].outcome_low == pytest.approx(100.0 / 0.009)
    assert bars["utility"].outcome_high == pytest.approx(100.0 / 0.011)
    eff = bars["efficacy"]                      # fewer QALYs at low efficacy: no ICER, said why
    assert math.isnan(eff.outcome_low) and "fewer QALYs" in eff.note
    assert eff.outcome_high == pytest.approx(50.0 / 0.02)
    assert t.bars[-1].parameter == "efficacy"   # undefined swings go last
    # NMB at the base-case ICER is zero: the two measures agree
    assert tornado(TABLE, "vac", "ref", "nmb", t.base).base == pytest.approx(0.0, abs=1e-9)


def test_a_dominant_arm_keeps_its_negative_icer_with_a_note():
    table = _one_way([("", "base", math.nan, "ref", 1000.0, 10.0), ("", "base", math.nan, "vac", 990.0, 10.02)])
    t = tornado(table, "vac", "ref", "icer")
    assert t.base == pytest.approx(-500.0) and "dominant" in t.base_note


def test_bad_measure_or_arm_is_a_one_line_error():
    from jaksim.errors import JaksimError
    with pytest.raises(JaksimError, match="measure 'qaly' is not allowed"):
        tornado(TABLE, "vac", "ref", "qaly")
    with pytest.raises(JaksimError, match="arm 'nosuch' is not in this PSA; allowed: ref, vac"):
        tornado(TABLE, "nosuch", "ref", "icer")
    with pytest.raises(JaksimError, match="needs a willingness to pay"):
        tornado(TABLE, "vac", "ref", "nmb")


@pytest.fixture(scope="module")
def psa_folder(tmp_path_factory):
    sc = config.scenario_from_text(ECON_SCENARIO).with_overrides(n_patients=200)
    result = psa.run_psa(sc, range(2), one_way=True)
    out = tmp_path_factory.mktemp("tornado") / "psa"
    psa.write_psa(result, sc, out)
    return out, result


def test_tornado_command_writes_the_table_and_figure(psa_folder, tmp_path, capsys):
    out, result = psa_folder
    table, figure = tmp_path / "t.parquet", tmp_path / "t.png"
    assert cli.main(["tornado", str(out), "--wtp", "45000", "--out", str(table), "--figure", str(figure),
                     "--arm", "vaccine"]) == 0
    assert "at 45,000 per QALY" in capsys.readouterr().out
    got = pq.read_table(table)
    want = tornado(result.one_way, "vaccine", result.arms[0], "nmb", 45_000.0)
    assert got.column("parameter").to_pylist() == [b.parameter for b in want.bars]
    assert got.column("outcome_high").to_pylist() == [b.outcome_high for b in want.bars]
    assert set(got.column("measure").to_pylist()) == {"nmb"} and figure.stat().st_size > 0
    assert not any(lbl == p for lbl, p in zip(got.column("label").to_pylist(), got.column("parameter").to_pylist(),
                                              strict=True))         # readable names, not internal paths
    assert cli.main(["tornado", str(out), "--measure", "icer", "--out", str(tmp_path / "t.csv")]) == 0
    assert (tmp_path / "t.csv").read_text().startswith('"arm","reference_arm","measure"')


def test_tornado_command_errors(psa_folder, tmp_path, capsys):
    out, _ = psa_folder
    for args, message in ((["--measure", "qaly"], "--measure 'qaly' is not allowed"),
                          (["--arm", "nosuch"], "--arm 'nosuch' is not a compared arm of this PSA"),
                          (["--out", str(tmp_path / "t.xlsx")], "must end in .parquet or .csv"),
                          (["--top", "0"], "--top must be at least 1")):
        assert cli.main(["tornado", str(out), *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert cli.main(["tornado", str(tmp_path)]) == 2
    assert "has no one_way.parquet: run the PSA with --one-way" in capsys.readouterr().err
