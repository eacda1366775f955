"""Shared pytest fixtures. Helpers live in ``helpers.py`` (import it directly)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import MINIMAL, write_scenario  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


@pytest.fixture
def minimal_path(tmp_path) -> Path:
    """MINIMAL written to a fresh temporary folder."""
    return write_scenario(tmp_path, MINIMAL)


@pytest.fixture
def scenario_writer(tmp_path):
    """``scenario_writer(text, name='scenario.yaml') -> Path`` writing into tmp_path."""
    def write(text: str = MINIMAL, name: str = "scenario.yaml") -> Path:
        return write_scenario(tmp_path, text, name)
    return write


VACCINATION = SCENARIOS / "ra_tofacitinib_zoster_vaccination.yaml"


@pytest.fixture(scope="session")
def vaccination_run(tmp_path_factory) -> Path:
    """The vaccination study (economics, six arms, a clinic) run small, with per-cycle tables."""
    from jaksim.cli import main
    out = tmp_path_factory.mktemp("vaccination") / "run"
    assert main(["run", str(VACCINATION), "--out", str(out), "--n-patients", "2000", "--threads", "2",
                 "--cycle-length", "0.25"]) == 0
    return out


@pytest.fixture(scope="session")
def vaccination_psa(tmp_path_factory) -> Path:
    """A three-draw PSA of the vaccination study."""
    from jaksim.cli import main
    out = tmp_path_factory.mktemp("vaccination") / "psa"
    assert main(["psa", str(VACCINATION), "--out", str(out), "--draws", "3", "--n-patients", "300",
                 "--threads", "2"]) == 0
    return out
