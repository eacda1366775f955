"""Shared codes (``jaksim.codes``): the random-stream registry and one definition of each code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from jaksim import codes
from jaksim.kernel.keys import stream_id

SRC = Path(__file__).resolve().parents[2] / "src" / "jaksim"


def _stream_key_names() -> list[tuple[str, str]]:
    """(file, name) of every stream name passed to ``stream_key`` in src/, f-string fields as ``{}``."""
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None))
                    == "stream_key" and len(node.args) >= 2):
                continue
            arg = node.args[1]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((path.name, arg.value))
            elif isinstance(arg, ast.JoinedStr):
                found.append((path.name, "".join(v.value if isinstance(v, ast.Constant) else "{x}"
                                                 for v in arg.values)))
            else:
                found.append((path.name, f"<not a literal: {ast.unparse(arg)}>"))
    return found


def test_every_stream_name_used_in_src_is_registered():
    used = _stream_key_names()
    assert len(used) >= 8, used            # the kernel's four, cohort, vaccination, pathway, PSA
    missing = [(f, n) for f, n in used if not codes.is_registered(n.replace("{x}", "some_value"))]
    assert not missing, f"stream names missing from codes.STREAMS: {missing}"


def test_the_registry_expands_to_distinct_names_and_stream_ids():
    from jaksim.scenario.schema import BINARY_COVARIATES
    types = ("serious_infection", "herpes_zoster", "opportunistic_infection", "tuberculosis")
    names = codes.stream_names(type=types, name=("age", "age_band", "glucocorticoid", "indication", "region",
                                                 *BINARY_COVARIATES),
                               parameter=("rate.herpes_zoster", "excess_mortality_ratio"))
    assert "clock/herpes_zoster" in names and "death/background" in names and "psa/excess_mortality_ratio" in names
    assert len(names) == 4 * 2 + 2 + 12 + 1 + 4 + 2 + 2 + 5   # + disease_activity/*, screening/*, screening no-show
    codes.check_streams(names)            # no duplicate name, no colliding id


def test_a_duplicate_stream_is_rejected():
    with pytest.raises(ValueError, match="'clock/herpes_zoster' is listed twice"):
        codes.check_streams(["clock/herpes_zoster", "death/background", "clock/herpes_zoster"])


def test_colliding_stream_ids_are_rejected():
    # two different names with the same CRC-32 (a known collision pair)
    a, b = "plumless", "buckeroo"
    assert stream_id(a) == stream_id(b)
    with pytest.raises(ValueError, match="same stream id"):
        codes.check_streams([a, b])


def test_unregistered_names_are_not_registered():
    assert codes.is_registered("clock/herpes_zoster") and codes.is_registered("cohort/female")
    assert not codes.is_registered("clock/") and not codes.is_registered("clocks/herpes_zoster")
    assert not codes.is_registered("death/other")


def test_each_shared_code_is_defined_once_in_src():
    """EXIT_*, the flag bits, ZOSTER, PHN, MAX_AGE and the bound factor are assigned in codes.py only."""
    shared = {"EXIT_HORIZON", "EXIT_BACKGROUND_DEATH", "EXIT_INFECTION_DEATH", "EXIT_REASONS", "ON_TREATMENT",
              "HOSPITALISED", "SERIOUS", "FATAL", "STOPS_TREATMENT", "POST_HERPETIC_NEURALGIA", "ZOSTER", "PHN",
              "MAX_AGE", "BOUND_FACTOR"}
    where: dict[str, list[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            for t in targets:
                for n in (t.elts if isinstance(t, ast.Tuple) else [t]):
                    if isinstance(n, ast.Name) and n.id in shared:
                        where.setdefault(n.id, []).append(str(path.relative_to(SRC)))
    assert {k: v for k, v in where.items() if v != ["codes.py"]} == {}
    assert set(where) == shared
    assert "1.0000001" not in "".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py")
                                      if p.name != "codes.py")
