"""Start-up of jaksim (issue 11): wall time of whole processes, as a user meets it.

Eight commands, each run as a fresh process, interleaved round by round so that a change in
the machine's load affects all of them alike; the median of ``--repeats`` processes each
(default 9), and its ratio to ``python -c pass`` measured in the same run:

* ``python -c pass``                      the interpreter alone (the floor)
* ``python -c "import jaksim"``           what a notebook pays for ``import jaksim``
* two floors: a process that imports (and, for numba, starts) only the third-party libraries
  that ``validate`` and a run need (``VALIDATE_LIBRARIES``, ``RUN_LIBRARIES``); a command's
  median per-round difference from its floor is jaksim's own share of its time
* ``jaksim --help``
* ``jaksim validate <shipped scenario>``
* ``jaksim run <shipped scenario> --n-patients 1000`` with numba's on-disk cache already
  filled (one untimed run first), writing Parquet to a temporary folder;
* the same run with pandas hidden, as where it is not installed (only jaksim's test extra
  installs it; a run does not import it: test_startup).

"Warm" means what a second run of the same scenario finds: numba's on-disk cache and the
calibration roots kept by the first run (``model/kept_roots.py``), both filled by one untimed
run of every command before the timed rounds. Python's own bytecode cache is part of that: a
``pip install`` compiles every module, and an editable install writes ``__pycache__`` at the
first import. Where the environment sets ``PYTHONDONTWRITEBYTECODE`` (these sandboxes do), every
start would compile jaksim's ~100 modules from source again (0.1-0.3 s) — a cost no installed
user pays — so the measured processes run without it (``info.bytecode_cache_off_in_environment``
records whether it was set).

``jaksim`` is the console script installed next to this interpreter (not a pyenv shim,
whose own start-up is 0.1-0.2 s of bash); without one, ``python -m jaksim.cli``. The
machine may be shared: each process's "other load" (CPU used by other processes during it,
as a fraction of the machine) and the load average are recorded, and medians are used.

Usage::

    python benchmarks/startup.py                 # table on stdout, results/startup.json
    python benchmarks/startup.py --repeats 15
    PYTHONPATH=<old checkout>/src python benchmarks/startup.py --label <commit> --json <file>
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from foreign import ForeignLoad

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "scenarios/ra_tofacitinib_5mg.yaml"
#: issue 11's targets, seconds of wall time per process
TARGETS = {"jaksim --help": 0.4, "jaksim validate": 0.4, "jaksim run (warm, 1,000 patients)": 1.0}
#: command -> the process that imports and starts only the third-party libraries it needs
FLOORS = {"jaksim validate": "libraries of validate (floor)",
          "jaksim run (warm, 1,000 patients)": "libraries of a run (floor)",
          "same run, pandas hidden": "libraries of a run (floor)"}


#: ``jaksim`` as if pandas were not installed (``import pandas`` raises ImportError)
HIDE_PANDAS = ("import sys\n"
               "class NoPandas:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name == 'pandas' or name.startswith('pandas.'):\n"
               "            raise ModuleNotFoundError(name)\n"
               "sys.meta_path.insert(0, NoPandas())\n"
               "from jaksim.cli import main\n"
               "sys.exit(main())")


#: what any program that checks a scenario as jaksim does must import: numpy, pydantic (with the
#: parts that build validators), PyYAML, typer (whose 0.2x releases coerce options through pydantic
#: adapters) and rich; the collector off, as jaksim's console script starts
VALIDATE_LIBRARIES = ("import gc; gc.disable()\n"
                      "import numpy, yaml, pydantic, rich.console, typer, typer._adapters\n"
                      "from pydantic import BaseModel, TypeAdapter\n")

#: numba's own start for a cached function: the first call of an ``@njit(cache=True, parallel=True)``
#: function kept in ``numba_floor.py`` (written next to the run's output folder), which imports
#: numba, refreshes its typing and target contexts (every registry, numba.np.arraymath, which
#: imports scipy.linalg to check for BLAS), builds the runtime (NRT) and starts the thread pool
NUMBA_FLOOR_MODULE = ("import numba\n"
                      "@numba.njit(cache=True, parallel=True)\n"
                      "def total(x):\n"
                      "    s = 0.0\n"
                      "    for i in numba.prange(x.shape[0]):\n"
                      "        s += x[i]\n"
                      "    return s\n")

#: the libraries of a run on top of those of validate: numba started with a cached parallel
#: function, scipy.special (confidence intervals, the truncated normal) and pyarrow's Parquet writer
RUN_LIBRARIES = (VALIDATE_LIBRARIES +
                 "import sys; sys.path.insert(0, sys.argv[1])\n"
                 "import numpy as np, scipy.special, pyarrow, pyarrow.parquet\n"
                 "import numba_floor\n"
                 "numba_floor.total(np.ones(1000))\n")


def jaksim_command() -> list[str]:
    """The ``jaksim`` console script of this interpreter, or ``python -m jaksim.cli``."""
    script = Path(sys.executable).with_name("jaksim")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "jaksim.cli"]


def cases(out: Path) -> dict[str, list[str]]:
    """Name -> argv of each measured command (run from the repository root)."""
    js = jaksim_command()
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import jaksim'": [sys.executable, "-c", "import jaksim"],
        "libraries of validate (floor)": [sys.executable, "-c", VALIDATE_LIBRARIES],
        "libraries of a run (floor)": [sys.executable, "-c", RUN_LIBRARIES, str(out.parent)],
        "jaksim --help": js + ["--help"],
        "jaksim validate": js + ["validate", SCENARIO],
        "jaksim run (warm, 1,000 patients)": js + ["run", SCENARIO, "--n-patients", "1000",
                                                   "--out", str(out), "--overwrite"],
        # the same run where pandas is not installed (only the test extra installs it): pyarrow
        # imports pandas at its first array conversion whenever it can
        "same run, pandas hidden": [sys.executable, "-c", HIDE_PANDAS, "run", SCENARIO, "--n-patients",
                                    "1000", "--out", str(out), "--overwrite"],
    }


#: the environment of every measured process: this one's, with Python's bytecode cache on
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_process(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, other load) of one process from start to exit; raises if it fails."""
    with ForeignLoad(children=True) as load:
        t0 = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False, env=CHILD_ENV)
        seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {done.returncode}: {done.stderr.strip()}")
    return seconds, load.fraction


def measure(commands: dict[str, list[str]], repeats: int) -> dict[str, dict]:
    """Run every command ``repeats`` times, interleaved, after one untimed run of each.

    The untimed round fills numba's on-disk cache (the run is then "warm") and the OS file
    cache. Each timed round starts at a different command, so none always follows the run.

    Returns
    -------
    dict
        name -> {"seconds": [...], "other_load": [...]} in the order measured.
    """
    for argv in commands.values():
        time_process(argv)
    names = list(commands)
    raw: dict[str, dict] = {n: {"seconds": [], "other_load": []} for n in names}
    for r in range(repeats):
        for i in range(len(names)):
            name = names[(r + i) % len(names)]
            seconds, other = time_process(commands[name])
            raw[name]["seconds"].append(seconds)
            raw[name]["other_load"].append(other)
    return raw


#: one warm run in a fresh process, timed phase by phase (seconds, printed as JSON)
PHASES = """
import json, sys, tempfile, time
from pathlib import Path
t = [time.perf_counter()]
import jaksim.cli
from jaksim.run.memory import pause_collection, resume_collection
pause_collection()            # as the console script does (cli.main), until the first chunk
t.append(time.perf_counter())
from jaksim.model.spec import build_model
from jaksim.report import tables
from jaksim.run import engine
t.append(time.perf_counter())
from jaksim.library import load_library
from jaksim.scenario import load
load_library()
t.append(time.perf_counter())
from jaksim.model.kept_roots import keeping_roots
with keeping_roots():         # as `jaksim run` builds its model
    model = build_model(load.load_scenario(sys.argv[1]).with_overrides(n_patients=1000))
t.append(time.perf_counter())
with tempfile.TemporaryDirectory() as tmp:
    engine.run_to_folder(model, Path(tmp) / "a", progress=lambda n: resume_collection())
    t.append(time.perf_counter())
    engine.run_to_folder(model, Path(tmp) / "b")
    t.append(time.perf_counter())
names = ["import jaksim.cli (typer, rich)", "import the engine (numpy, pydantic, numba, pyarrow, scipy.special)",
         "load the library (its checked JSON cache)",
         "build the model (scipy.special, calibration with kept roots, evidence network)",
         "first run_to_folder (numba start-up, cache load, work)", "second run_to_folder (work only)"]
print(json.dumps(dict(zip(names, (b - a for a, b in zip(t, t[1:]))))))
"""


def breakdown(repeats: int) -> dict[str, float]:
    """Median seconds of each phase of a warm 1,000-patient run, inside fresh processes.

    Where the time of ``jaksim run`` goes; the interpreter's own start is not included.
    """
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", PHASES, SCENARIO], cwd=ROOT, capture_output=True,
                             text=True, check=True, env=CHILD_ENV).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def summarise(raw: dict[str, dict]) -> list[dict]:
    """Median seconds with its confidence interval, ratio to ``python -c pass``, spread, other load
    and target per command; ``met_beyond_noise``: the whole interval below the target."""
    from suite import median_interval
    floor = statistics.median(raw["python -c pass"]["seconds"])
    rows = []
    for name, r in raw.items():
        med = statistics.median(r["seconds"])
        low, high, cover = median_interval(r["seconds"])
        target = TARGETS.get(name)
        rows.append({"command": name, "median_seconds": med, "ratio_to_python": med / floor,
                     "median_interval": [low, high, cover],
                     "min_seconds": min(r["seconds"]), "max_seconds": max(r["seconds"]),
                     "median_other_load": statistics.median(r["other_load"]),
                     "target_seconds": target, "met": None if target is None else med < target,
                     "met_beyond_noise": None if target is None else high < target})
        if name in FLOORS and FLOORS[name] in raw:
            # jaksim's own share: paired by round (both ran in the same round, one after the other)
            diff = [a - b for a, b in zip(r["seconds"], raw[FLOORS[name]]["seconds"], strict=True)]
            rows[-1]["above_floor_seconds"] = statistics.median(diff)
            rows[-1]["above_floor_interval"] = list(median_interval(diff))
    return rows


def above(row: dict) -> str:
    """'median (low–high)' of a command's seconds above its floor, or '' without one."""
    if "above_floor_seconds" not in row:
        return ""
    low, high, _ = row["above_floor_interval"]
    return f"{row['above_floor_seconds']:.3f} ({low:.3f}–{high:.3f})"


def markdown(rows: list[dict], info: dict) -> str:
    """The table for benchmarks/README.md."""
    head = (f"Median of {info['repeats']} processes each, interleaved; {info['cpus']} CPUs, load average "
            f"{info['loadavg_before'][0]:.2f} before and {info['loadavg_after'][0]:.2f} after "
            f"({info['label']}, {info['started']}).")
    lines = [head, "",
             "| command | median s (CI) | × `python -c pass` | min–max s | other load | target s | met "
             "| above its floor s (CI) |",
             "|---|---:|---:|---:|---:|---:|:---:|---:|"]
    for r in rows:
        target = "" if r["target_seconds"] is None else f"< {r['target_seconds']:g}"
        met = "" if r["met"] is None else ("beyond noise" if r["met_beyond_noise"] else "yes" if r["met"] else "no")
        low, high, cover = r["median_interval"]
        lines.append(f"| `{r['command']}` | {r['median_seconds']:.3f} ({low:.3f}–{high:.3f}) | "
                     f"{r['ratio_to_python']:.1f} | {r['min_seconds']:.3f}–{r['max_seconds']:.3f} | "
                     f"{r['median_other_load']:.0%} | {target} | {met} | {above(r)} |")
    lines.append("")
    lines.append(f"CI: {rows[0]['median_interval'][2]:.0%} distribution-free interval of the median "
                 "(order statistics); 'beyond noise': the whole interval below the target. 'Above its "
                 "floor': the median of the per-round differences from the process that imports and "
                 "starts only the third-party libraries the command needs (jaksim's own share).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Measure, print the Markdown table, write the JSON; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=9, help="processes per command (at least 7)")
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "startup.json")
    ap.add_argument("--label", default="this checkout", help="what was measured (e.g. a commit)")
    ap.add_argument("--no-breakdown", action="store_true",
                    help="skip the phases of a run (they need jaksim.model.spec: not in checkouts before issue 11)")
    args = ap.parse_args(argv)
    if args.repeats < 7:
        ap.error("--repeats must be at least 7")
    info = {"label": args.label, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "repeats": args.repeats,
            "cpus": os.cpu_count(), "python": platform.python_version(), "executable": sys.executable,
            "jaksim": " ".join(jaksim_command()), "scenario": SCENARIO, "loadavg_before": os.getloadavg(),
            "bytecode_cache_off_in_environment": bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "numba_floor.py").write_text(NUMBA_FLOOR_MODULE)
        raw = measure(cases(Path(tmp) / "run"), args.repeats)
    phases = {} if args.no_breakdown else breakdown(args.repeats)
    info["loadavg_after"] = os.getloadavg()
    rows = summarise(raw)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"info": info, "results": rows, "run_phases_seconds": phases, "raw": raw},
                                    indent=1) + "\n")
    sys.stdout.write(markdown(rows, info))
    if phases:
        sys.stdout.write("\n| phase of a warm `jaksim run` (in-process, median) | s |\n|---|---:|\n")
        sys.stdout.write("".join(f"| {k} | {v:.3f} |\n" for k, v in phases.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
