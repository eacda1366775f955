"""Checkpoints and PSA draw files are data, never code: JSON read against the expected structure.

Written from the attacker's side (issue 17, finding 1): a pickle planted where ``--resume``
looks for a checkpoint or a finished PSA draw must execute nothing and give a one-line error.
And from the user's side: a saved state reads back bit for bit, a damaged one is refused.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from helpers import MINIMAL, write_scenario
from jaksim.cli import main
from jaksim.errors import OutputError
from jaksim.model import spec
from jaksim.run import checkpoint
from jaksim.run.totals import DrawArmTotals, RunState
from jaksim.scenario import load as config

ROOT = Path(__file__).resolve().parents[2]
DEAD_PID = 999_999_999          # above any pid_max: the folder looks left by a killed process


class _Payload:
    """Unpickling this runs ``open(marker, 'w').write(...)``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",))


def _plant(out: Path, marker: Path, name: str = "checkpoint.json") -> Path:
    """A hidden work folder next to ``out`` as a killed run leaves it, holding a pickle."""
    hidden = out.parent / f".{out.name}.jaksim-tmp-{DEAD_PID}"
    hidden.mkdir(parents=True)
    (hidden / name).write_bytes(pickle.dumps(_Payload(marker)))
    return hidden


def _one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0], err
    return err[0]


def test_the_payload_would_run_if_unpickled(tmp_path):
    """The planted file is a real exploit: unpickling it writes the marker."""
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.read_text() == "code ran"


@pytest.mark.parametrize("command", ["run", "psa"])
def test_planted_pickle_checkpoint_runs_nothing_on_resume(tmp_path, capsys, command):
    scenario = write_scenario(tmp_path, MINIMAL)
    out, marker = tmp_path / "out", tmp_path / "marker"
    hidden = _plant(out, marker)
    line = _one_line_error(capsys, [command, str(scenario), "--out", str(out), "--resume", "--n-patients", "50"])
    assert "not a readable jaksim checkpoint" in line
    assert not marker.exists()
    assert not out.exists()
    assert (hidden.parent / f".{out.name}.jaksim-tmp-{os.getpid()}" / "checkpoint.json").is_file()


def test_planted_pickle_under_the_old_name_is_not_a_checkpoint(tmp_path, capsys):
    scenario = write_scenario(tmp_path, MINIMAL)
    out, marker = tmp_path / "out", tmp_path / "marker"
    _plant(out, marker, name="checkpoint.pkl")
    line = _one_line_error(capsys, ["run", str(scenario), "--out", str(out), "--resume", "--n-patients", "50"])
    assert "no interrupted run to continue" in line
    assert not marker.exists()


def test_planted_pickle_psa_draw_runs_nothing_on_resume(tmp_path, capsys, scenario_writer):
    from test_economics import ECON_SCENARIO
    path = scenario_writer(ECON_SCENARIO)
    out, marker = tmp_path / "psa", tmp_path / "marker"
    sc = config.load_scenario(path).with_overrides(n_patients=50)
    hidden = out.parent / f".{out.name}.jaksim-tmp-{DEAD_PID}"
    hidden.mkdir()
    checkpoint.open_draw_store(_Resumable(hidden), sc, out)          # a genuine PSA marker and store
    (hidden / checkpoint.DRAWS / "draw-0.json").write_bytes(pickle.dumps(_Payload(marker)))
    line = _one_line_error(capsys, ["psa", str(path), "--draws", "2", "--n-patients", "50", "--out", str(out),
                                    "--resume"])
    assert "draw-0.json" in line and "not a readable jaksim checkpoint" in line
    assert not marker.exists()


class _Resumable:
    """The parts of an OutputFolder that ``open_draw_store`` uses (a fresh work folder)."""

    def __init__(self, tmp: Path):
        self.tmp, self.resumed, self.checkpoint = tmp, False, tmp / "checkpoint.json"


# ------------------------------------------------------------------------ the format itself
@pytest.fixture(scope="module")
def model():
    sc = config.load_scenario(ROOT / "scenarios" / "ra_tofacitinib_zoster_vaccination.yaml")
    return spec.build_model(sc.with_overrides(n_patients=300))


def _filled(model) -> RunState:
    """A state whose accumulators hold real chunks (exact sums, int arrays, economics)."""
    from jaksim.run.chunks import Cohorts, run_chunks
    from jaksim.run.totals import RunTotals
    state = RunState.fresh(model, "f" * 64)
    run_chunks(model, Cohorts(model, 100), 0, 200, 100, state.caps, [RunTotals(model, state.arms)])
    state.next_start = 200
    return state


def test_run_state_round_trips_exactly(tmp_path, model):
    state = _filled(model)
    path = tmp_path / "checkpoint.json"
    checkpoint.save_run(path, state)
    back, parts = checkpoint.read_run(path, RunState.fresh(model, "f" * 64), tmp_path / "out")
    assert parts == {}
    assert json.dumps(checkpoint.encode(back), sort_keys=True) == json.dumps(checkpoint.encode(state), sort_keys=True)
    for name, t in state.arms.items():
        b = back.arms[name]
        assert b.summary.person_years.value() == t.summary.person_years.value()
        np.testing.assert_array_equal(b.summary.events, t.summary.events)
        if t.economics is not None:
            assert b.economics.means() == t.economics.means()
    assert back.caps == state.caps and back.next_start == 200
    assert not list(tmp_path.glob("*.tmp"))


def test_floats_round_trip_bit_for_bit(tmp_path, scenario_writer):
    from test_economics import ECON_SCENARIO
    sc = config.load_scenario(scenario_writer(ECON_SCENARIO))
    store = checkpoint.DrawStore(tmp_path, sc)
    years = int(np.ceil(sc.horizon_years))
    values = [0.1, 1e-300, 5e-324, -0.0, 1.7976931348623157e308, 1 / 3]
    res = {}
    for a in sc.arms:
        t = DrawArmTotals.empty(3, years)
        for i, o in enumerate(t.s1):
            t.s1[o] += values[i % len(values)]
        t.person_years[:] = np.array(values[:years])
        res[a.name] = t
    store.save(7, ("a", "b", "c"), res)
    names, back = store.load()[7]
    assert names == ("a", "b", "c")
    for arm, t in res.items():
        assert [x.hex() for x in back[arm].s1.values()] == [x.hex() for x in t.s1.values()]
        assert back[arm].person_years.tobytes() == t.person_years.tobytes()
        assert list(back[arm].s1) == list(t.s1)


@pytest.mark.parametrize("damage", [
    lambda d: b"",                                                   # empty (killed mid-write elsewhere)
    lambda d: d[: len(d) // 2],                                      # truncated
    lambda d: d.replace(b'"jaksim-checkpoint"', b'"other"'),         # another format
    lambda d: d.replace(b'"next_start": 200', b'"next_start": 1e3'),  # float for an int
    lambda d: d.replace(b'"next_start": 200', b'"next_start": 100'),  # inconsistent with the sums
    lambda d: d.replace(b'"next_start": 200', b'"next_start": NaN'),  # not JSON numbers
    lambda d: d.replace(b'"dtype": "<i8"', b'"dtype": "|O"', 1),     # an object array
    lambda d: d.replace(b'"shape": [', b'"shape": [1, ', 1),         # another shape
    lambda d: d.replace(b'"caps": {', b'"caps": {"extra": 1, ', 1),  # an unknown key
    lambda d: b"[" * 100_000 + b"]" * 100_000,                       # deep nesting
    lambda d: b"\xff\xfe" + d,                                       # not UTF-8
])
def test_damaged_checkpoint_is_one_line_error(tmp_path, model, damage):
    path = tmp_path / "checkpoint.json"
    checkpoint.save_run(path, _filled(model))
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(OutputError) as info:
        checkpoint.read_run(path, RunState.fresh(model, "f" * 64), tmp_path / "out")
    assert "\n" not in str(info.value) and "--overwrite" in str(info.value)


def test_oversized_checkpoint_is_not_read(tmp_path, model, monkeypatch):
    path = tmp_path / "checkpoint.json"
    checkpoint.save_run(path, _filled(model))
    monkeypatch.setattr(checkpoint, "MAX_BYTES", 100)
    with pytest.raises(OutputError, match="larger than 100 bytes"):
        checkpoint.read_run(path, RunState.fresh(model, "f" * 64), tmp_path / "out")


def test_no_pickle_in_the_package():
    src = ROOT / "src" / "jaksim"
    assert [str(p) for p in src.rglob("*.py") if "pickle" in p.read_text(encoding="utf-8")] == []
