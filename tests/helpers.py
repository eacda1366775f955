"""Small shared test helpers (importable as ``from helpers import MINIMAL, write_scenario``).

``MINIMAL`` is a valid scenario with constant hazards: two infection types that are not in
the parameter library (so every hazard ratio is 1 and every consequence probability 0),
their rates given in the file, a constant background death rate and no discontinuation.
Line numbers of MINIMAL are stable; tests may rely on them via :func:`line_of`.
"""

from __future__ import annotations

from pathlib import Path

MINIMAL = """\
name: minimal
seed: 12345
n_patients: 2000
horizon_years: 2
cohort:
  age: {distribution: truncated_normal, mean_years: 50, sd_years: 10, min_years: 18, max_years: 90}
  female: 0.5
treatment:
  drug: tofacitinib
  dose_mg: 5
  discontinuation_rate_per_100py: 0
infections:
  infection_a: {rate_per_100py: 5.0}
  infection_b: {rate_per_100py: 2.0}
mortality:
  rate_per_100py: 1.0
"""


def write_scenario(directory: Path, text: str = MINIMAL, name: str = "scenario.yaml") -> Path:
    """Write scenario ``text`` to ``directory/name`` and return the path."""
    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def replace(text: str, old: str, new: str) -> str:
    """``text`` with the single occurrence of ``old`` replaced (fails loudly if absent or repeated)."""
    count = text.count(old)
    if count != 1:
        raise AssertionError(f"{old!r} occurs {count} times in the scenario text, expected once")
    return text.replace(old, new)


def line_of(text: str, fragment: str) -> int:
    """1-based line number of the single line of ``text`` that contains ``fragment``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if fragment in line]
    if len(hits) != 1:
        raise AssertionError(f"{fragment!r} is on lines {hits}, expected exactly one")
    return hits[0]


def leftovers(out: Path) -> list[Path]:
    """What a failed run left behind: the out folder's content and hidden temp siblings."""
    out = Path(out)
    left = sorted(out.iterdir()) if out.is_dir() else ([out] if out.exists() else [])
    if out.parent.is_dir():
        left += sorted(out.parent.glob(f".{out.name}.jaksim-*"))
    return left
