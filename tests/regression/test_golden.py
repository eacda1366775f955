"""Every shipped scenario gives the committed output, file by file (``golden.py``), on this CPU and
with another CPU's numerical kernels."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from golden import REL_TOL, RUN_OPTIONS, SCENARIOS, compare_folders, compare_runs, compute, folder_fingerprints, load

#: what another x86-64 CPU would pick: OpenBLAS's Haswell kernels (here: SkylakeX) and numpy's
#: ufunc loops without AVX2 / AVX-512 (exp, log, power differ in the last bit)
OTHER_KERNELS = {"OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": "AVX512_ICL X86_V4 X86_V3"}
UPDATE = "run 'python tests/regression/golden.py --update' and commit golden.json with it"


def _report(changed: dict[str, list[str]]) -> str:
    lines = [f"{name}: {'; '.join(why[:3])}" for name, why in list(changed.items())[:8]]
    return (f"{len(changed)} output files differ from the golden baseline (float tolerance {REL_TOL:g} of a "
            f"column's sum of |x|), e.g.\n" + "\n".join(lines) + f"\nif the change of numbers is intended, {UPDATE}")


@pytest.mark.slow
def test_every_shipped_scenario_matches_the_golden_baseline(tmp_path):
    expected = load()
    got = compute(tmp_path)
    shipped = {p.stem for p in SCENARIOS.glob("*.yaml")}
    assert shipped <= set(expected), f"scenarios without a baseline: {sorted(shipped - set(expected))}; {UPDATE}"
    changed = compare_runs(expected, got)
    assert not changed, _report(changed)


@pytest.mark.slow
def test_the_baseline_holds_with_another_cpus_kernels(tmp_path):
    """One scenario run in a process with other BLAS and SIMD kernels than this CPU's still agrees."""
    import jaksim
    name = "ra_tofacitinib_5mg"
    out = tmp_path / name
    code = ("import sys\n"
            "import numpy\n"
            "cpu = (getattr(numpy, '_core', None) or numpy.core)._multiarray_umath.__cpu_features__\n"
            "assert not cpu.get('AVX512_ICL') and not cpu.get('X86_V3'), 'NPY_DISABLE_CPU_FEATURES was ignored'\n"
            "from jaksim.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    # no kept calibration roots (JAKSIM_CACHE_DIR empty): every root is found with these kernels
    env = {**os.environ, **OTHER_KERNELS, "JAKSIM_CACHE_DIR": "",
           "PYTHONPATH": os.pathsep.join([str(Path(jaksim.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code, "run", str(SCENARIOS / f"{name}.yaml"), "--out", str(out),
                           *RUN_OPTIONS], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    changed = compare_folders(load()[name], folder_fingerprints(out))
    assert not changed, _report({f"{name}/{k}": v for k, v in changed.items()})
