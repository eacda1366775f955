"""The allocator setting that lets chunks reuse freed memory instead of faulting in new pages."""

import os
import subprocess
import sys
import textwrap

import pytest

from jaksim.run import memory

SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from jaksim.run.memory import keep_freed_memory
    applied = keep_freed_memory() if sys.argv[1] == "keep" else False
    def cycle():   # what a chunk does: a few MB of arrays made, written, freed
        a = [np.empty(200_000) for _ in range(6)]
        for x in a:
            x[:] = 1.0
    cycle()
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        cycle()
    print(applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 50)
""")


def _faults_per_cycle(mode: str, env=None) -> tuple[str, float]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    return out[0], float(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings (Linux only)")
def test_freed_chunk_memory_is_reused_without_page_faults():
    """Six 1.6 MB arrays per cycle are 2,300 pages: with glibc's defaults a cycle faults in
    hundreds to thousands of them (the heap top is returned, large blocks are mapped afresh);
    with the setting, none after the first cycle. Deterministic: no timing involved."""
    applied, kept = _faults_per_cycle("keep")
    assert applied == "True"
    _, default = _faults_per_cycle("default")
    assert kept < 5, kept
    assert default > 100 * max(kept, 1.0), (default, kept)


def test_opt_out_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.setenv("JAKSIM_MALLOC_DEFAULTS", "1")
    assert memory.keep_freed_memory() is False
    env = dict(os.environ, JAKSIM_MALLOC_DEFAULTS="1")
    applied, _ = _faults_per_cycle("keep", env)
    assert applied == "False"


# ------------------------------------------------------------- who sets it (issue 11)
# The setting is process-wide, so loading a scenario (e.g. in a notebook kernel) must not
# make it; the command line sets it for `jaksim run` and `jaksim psa`, the API only on request.

@pytest.fixture
def calls(monkeypatch):
    """Record calls of ``keep_freed_memory`` (callers import it from jaksim.run.memory when run)."""
    made: list[int] = []
    monkeypatch.setattr(memory, "keep_freed_memory", lambda: made.append(1) or True)
    return made


def test_loading_a_scenario_leaves_the_allocator_alone(calls, minimal_path):
    import jaksim
    from jaksim.model.spec import build_model
    build_model(jaksim.load_scenario(minimal_path))
    assert calls == []


def test_api_run_sets_it_only_when_asked(calls, minimal_path):
    import jaksim
    jaksim.run(minimal_path, n_patients=50)
    assert calls == []
    jaksim.run(minimal_path, n_patients=50, reuse_freed_memory=True)
    assert calls == [1]


def test_cli_run_and_psa_set_it(calls, scenario_writer, tmp_path):
    from helpers import MINIMAL
    from jaksim.cli import main
    path = scenario_writer(MINIMAL + "economics: {discount: nice}\n")   # a PSA needs economics
    assert main(["run", str(path), "--n-patients", "50", "--out", str(tmp_path / "run")]) == 0
    assert calls == [1]
    assert main(["psa", str(path), "--draws", "1", "--n-patients", "50", "--out", str(tmp_path / "psa")]) == 0
    assert calls == [1, 1]
