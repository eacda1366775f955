"""Start-up stays light (issue 11): importing jaksim or its command line loads no compiled stack.

numba, pyarrow and scipy together take most of a second to import; ``jaksim --help``,
``jaksim validate`` and ``import jaksim`` in a notebook must not pay for them. Each check runs in a
fresh interpreter (the test process has imported everything already) and looks at
``sys.modules``; no timing is involved (timings: ``benchmarks/startup.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("numba", "pyarrow", "scipy")
SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"


def loaded_after(code: str) -> set[str]:
    """Which of HEAVY a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("code", ["import jaksim", "import jaksim.cli", "import jaksim.api",
                                  "import jaksim; jaksim.__version__"])
def test_import_loads_neither_numba_nor_pyarrow(code):
    assert loaded_after(code) == set()


def test_help_loads_neither_numba_nor_pyarrow():
    code = ("from jaksim.cli import main\n"
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['--help']) == 0")
    assert loaded_after(code) == set()


def test_public_functions_still_load_on_first_use():
    code = ("import jaksim\n"
            "from jaksim.run import engine\n"          # the subpackage jaksim.run, imported first
            "assert callable(jaksim.run) and jaksim.run.__module__ == 'jaksim.api'\n"
            "assert jaksim.load_scenario.__module__ == 'jaksim.api'")
    assert "numba" in loaded_after(code)   # the engine, once asked for, brings the kernel


@pytest.mark.parametrize("name", sorted(p.name for p in SHIPPED.glob("*.yaml")))
def test_validate_needs_no_compiled_code(name):
    """Validation resolves every look-up without calibrating, so no numba, scipy or pyarrow."""
    code = ("from jaksim.cli import main\n"
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert main(['validate', {str(SHIPPED / name)!r}]) == 0")
    assert loaded_after(code) == set()


def test_console_script_ends_at_once_with_everything_written(minimal_path, tmp_path):
    """``jaksim run`` as a process ends without interpreter teardown (cli._end_process): its exit
    code, its printed summary and every Parquet file are as from the same run in-process."""
    import pyarrow.dataset as ds

    from jaksim.cli import main
    done = subprocess.run([sys.executable, "-m", "jaksim.cli", "run", str(minimal_path), "--n-patients", "300",
                           "--out", str(tmp_path / "process")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith(f"Results: {tmp_path / 'process'}/")
    assert main(["run", str(minimal_path), "--n-patients", "300", "--out", str(tmp_path / "in_process")]) == 0
    for table in ("events", "patients", "summary"):
        a, b = (ds.dataset(tmp_path / run / table).to_table() for run in ("process", "in_process"))
        assert a.num_rows > 0 and a.equals(b), table
    failed = subprocess.run([sys.executable, "-m", "jaksim.cli", "run", str(minimal_path), "--out",
                             str(tmp_path / "process")], capture_output=True, text=True)   # not empty: exit 2
    assert failed.returncode == 2 and failed.stderr.startswith("error: --out")


#: what a run needs none of: scipy.optimize (calibration roots are kept between processes,
#: model/kept_roots.py), scipy.stats, pandas (pyarrow imports it at its first conversion when it
#: can), Dask, plotting, reports, EVPPI, Excel and schema export
NOT_ON_THE_RUN_PATH = ("scipy.optimize", "scipy.stats", "pandas", "dask", "distributed", "matplotlib", "jinja2",
                       "sklearn", "openpyxl", "jsonschema")


def test_a_warm_run_imports_nothing_it_does_not_use(tmp_path):
    """A second ``jaksim run`` of a shipped scenario (roots kept by the first) in a fresh process."""
    scenario = SHIPPED / "ra_tofacitinib_5mg.yaml"
    env = {**os.environ, "JAKSIM_CACHE_DIR": str(tmp_path / "cache")}
    probe = ("import sys\n"
             "from jaksim.cli import main\n"
             f"assert main(['run', {str(scenario)!r}, '--n-patients', '300', '--out', sys.argv[1]]) == 0\n"
             f"print('loaded:', *(m for m in {NOT_ON_THE_RUN_PATH!r} if m in sys.modules))")
    loaded = []
    for run in ("first", "second"):
        done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / run)], capture_output=True, text=True,
                              env=env)
        assert done.returncode == 0, done.stderr
        loaded.append(set(done.stdout.rstrip().splitlines()[-1].split()))
    assert "scipy.optimize" in loaded[0]      # the first run solved its calibrations (the probe can fail)
    assert loaded[1] == {"loaded:"}
    assert list((tmp_path / "cache").glob("root-*.json"))


#: printed at exit by a console-script process (cli._end_process runs atexit handlers)
AT_EXIT = ("import atexit, gc, sys\n"
           "atexit.register(lambda: print('collector', gc.isenabled(), gc.get_freeze_count() > 0, flush=True))\n"
           "from jaksim.cli import main\n"
           "sys.argv = ['jaksim'] + sys.argv[1:]\n"
           "main()")


@pytest.mark.parametrize("command, after", [("validate", "collector False False"),
                                            ("run", "collector True True"),
                                            ("schema", "collector True True")])
def test_console_script_starts_without_the_garbage_collector(command, after, minimal_path, tmp_path):
    """Paused by cli.main for the console script only: ``validate`` to its end, ``run`` until its first
    chunk, every other command not past its start; resumed with the start-up's objects frozen."""
    args = {"validate": [str(minimal_path)], "schema": [],
            "run": [str(minimal_path), "--n-patients", "300", "--out", str(tmp_path / "run")]}[command]
    done = subprocess.run([sys.executable, "-c", AT_EXIT, command, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().splitlines()[-1] == after


def test_in_process_main_leaves_the_collector_alone(minimal_path, tmp_path):
    """Tests and embedding (``main(argv)``): the caller's setting is kept, on or off."""
    import gc

    from jaksim.cli import main
    assert gc.isenabled()
    assert main(["run", str(minimal_path), "--n-patients", "300", "--out", str(tmp_path / "a")]) == 0
    assert gc.isenabled()
    gc.disable()
    try:
        assert main(["run", str(minimal_path), "--n-patients", "300", "--out", str(tmp_path / "b")]) == 0
        assert not gc.isenabled()
    finally:
        gc.enable()
