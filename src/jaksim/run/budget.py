"""The run-size guard: a run that cannot finish on this machine is refused before it starts
(issue 17, finding 6: ``n_patients: 1e12`` passed ``validate`` and died out of memory).

Every estimate is a lower bound, measured on the development machine and then made
optimistic, so a refusal means the run needs at least that much: disk for the patients
table alone (events come on top), time at the fastest measured speed on every core, memory
for the arrays the capacity-limited clinic keeps for the whole cohort. Past any limit the
error says what was estimated; ``--force`` runs anyway.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from jaksim.errors import JaksimError
from jaksim.scenario.schema import Scenario

#: bytes of the patients table per patient and arm (measured 31 with Snappy; events extra)
PATIENT_BYTES = 24
#: core-seconds per patient and arm, simulation and writing (measured about 8e-6)
PATIENT_SECONDS = 2e-6
#: bytes per patient of a capacity-limited clinic arm kept for the whole cohort (dose times, flags)
CLINIC_BYTES = 18
#: a run or PSA estimated to take longer than this is refused
MAX_SECONDS = 7 * 24 * 3600.0


def _free_bytes(out: Path) -> int | None:
    """Free bytes on the file system that holds ``out`` (its nearest existing folder)."""
    here = Path(os.path.abspath(out))
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        return shutil.disk_usage(here).free
    except OSError:
        return None


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError


def _duration(seconds: float) -> str:
    return f"{seconds / 86400:,.1f} days" if seconds >= 86400 else f"{seconds / 3600:,.1f} hours"


def problems(scenario: Scenario, *, out: Path | None, draws: int = 0, cores: int | None = None) -> list[str]:
    """What a run (``draws`` = 0) or a PSA of ``draws`` draws of ``scenario`` needs beyond this
    machine, as phrases (empty: nothing found). ``out``: where results go (None: no disk check)."""
    n, arms = scenario.n_patients, len(scenario.arms)
    cores = cores or os.cpu_count() or 1
    found = []
    if out is not None and not draws:
        need, free = n * arms * PATIENT_BYTES, _free_bytes(out)
        if free is not None and need > free:
            found.append(f"at least {_size(need)} of disk for the results ({_size(free)} free at '{out}')")
    seconds = n * arms * max(draws, 1) * PATIENT_SECONDS / cores
    if seconds > MAX_SECONDS:
        found.append(f"at least {_duration(seconds)} on this machine's {cores} core(s) (the limit is "
                     f"{_duration(MAX_SECONDS)})")
    clinics = sum(1 for a in scenario.arms if a.vaccination is not None and a.vaccination.clinic is not None)
    clinics += sum(1 for a in scenario.arms if a.tb_screening is not None and a.tb_screening.clinic is not None)
    memory = _memory_bytes()
    if clinics and memory is not None and n * clinics * CLINIC_BYTES > memory:
        found.append(f"at least {_size(n * clinics * CLINIC_BYTES)} of memory for the clinics' "
                     f"schedules ({_size(memory)} in this machine)")
    return found


def check_run_size(scenario: Scenario, *, out: Path | None, force: bool, draws: int = 0,
                   overridden: bool = False) -> None:
    """Raise a one-line error when the run cannot finish on this machine (unless ``force``).

    ``overridden``: n_patients came from ``--n-patients`` (the error names it, not the file)."""
    if force:
        return
    found = problems(scenario, out=out, draws=draws)
    if not found:
        return
    what = (f"{scenario.n_patients:,} patients × {len(scenario.arms)} arm(s)"
            + (f" × {draws:,} draws" if draws else "") + " need " + " and ".join(found))
    advice = "; lower n_patients" + (" or --draws" if draws else "") + ", or give --force to try anyway"
    if overridden:
        raise JaksimError(f"--n-patients {scenario.n_patients}: {what}{advice}")
    raise scenario.error(("n_patients",), what + advice)
