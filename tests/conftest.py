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
