"""Fuzzed scenario files (issue 17): mutations of every shipped scenario, validated through the
CLI in process, give exit 0 or exit 2 with exactly one stderr line ``error: ...``, never a
traceback or an "internal error".

Mutations, one to four per example, on the parsed scenario or on its text: keys deleted,
renamed (typos, other names, numbers) and retyped (null, booleans, numbers, strings, lists,
mappings), numbers scaled and names extended (mostly still valid: the model is built),
extreme numbers (0, -0, ±1e308, ±inf, nan, 2^63, 2^64, 1e-320, -1), values wrapped
in random nesting (up to 40 levels), keys duplicated, and NUL and other control characters,
byte-order marks and line separators inserted into the text, or the text cut short.

In the test suite the run is bounded (``JAKSIM_FUZZ_EXAMPLES``, default 60, derandomized);
``JAKSIM_FUZZ_EXAMPLES=10000 python -m pytest tests/properties/test_scenario_fuzz.py`` is the
long run (random, with a summary of the exits on stdout with ``-s``).
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaksim.cli import main
from jaksim.scenario.yamlfile import load_yaml_text

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "scenarios").glob("*.yaml"))
BASE = {p.name: load_yaml_text(p.read_text(encoding="utf-8"), str(p))[0] for p in SHIPPED}
EXAMPLES = int(os.environ.get("JAKSIM_FUZZ_EXAMPLES", "60"))
LONG = EXAMPLES > 1000
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG, database=None,
                suppress_health_check=list(HealthCheck))

EXTREMES = [0, -0.0, 1e308, -1e308, float("inf"), float("-inf"), float("nan"), 2**63, 2**64, -1, 1e-320,
            10**30, 0.5, 1e5, 1e12]
CONTROL = ["\0", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u2028", "\ufeff", "\ud800",
           "\t", "\r", "\n", ":", "- ", "&a ", "*a", "!!python/object:os.system ", "{", "[", "'", '"', "#"]
values = st.one_of(
    st.none(), st.booleans(), st.sampled_from(EXTREMES), st.integers(), st.floats(),
    st.text(max_size=12), st.sampled_from(["", "no", "yes", "1:30", "012345", "0x1F", "1e5", "~", "[bold]:thumbs_up:"]),
    st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.text(max_size=6), st.integers(), max_size=2))
keys = st.one_of(st.text(min_size=1, max_size=12), st.integers(), st.sampled_from(
    ["name", "seed", "arms", "drug", "dose_mg", "rate_per_100py", "<<", "cohort", "infections", "economics",
     "hazard_ratios", "from_file", "library", "vaccination", "clinic", "life_table"]))
COUNTS: Counter = Counter()


def _paths(data, prefix=()):
    """Every key path of a parsed document (mapping keys and list indices)."""
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        out.append(prefix + (k,))
        out += _paths(v, prefix + (k,))
    return out


def _parent(data, path):
    for k in path[:-1]:
        data = data[k]
    return data


@st.composite
def mutate_data(draw, data):
    paths = _paths(data)
    if not paths:
        return data
    path = draw(st.sampled_from(paths))
    parent, key = _parent(data, path), path[-1]
    op = draw(st.sampled_from(["delete", "rename", "retype", "extreme", "nest", "duplicate", "tweak", "tweak"]))
    value = parent[key]
    if op == "tweak" and isinstance(value, (int, float)) and not isinstance(value, bool):
        parent[key] = value * draw(st.sampled_from([0, 0.5, 0.9, 1.1, 2, 10, 1000, -1]))   # mostly still valid
    elif op == "tweak" and isinstance(value, str):
        parent[key] = value + draw(st.sampled_from(["", "x", "_2", ".csv", " "]))
    elif op == "delete":
        del parent[key]
    elif op == "rename" and isinstance(parent, dict):
        new = draw(st.one_of(keys, st.just(str(key)[:-1] + "x"), st.just(str(key).upper())))
        parent[new] = parent.pop(key)
    elif op == "retype":
        parent[key] = draw(values)
    elif op == "extreme":
        parent[key] = draw(st.sampled_from(EXTREMES))
    elif op == "nest":
        value, depth = parent[key], draw(st.integers(1, 40))
        for _ in range(depth):
            value = draw(st.sampled_from([[value], {"x": value}, {str(key): value}]))
        parent[key] = value
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    elif op == "duplicate" and isinstance(parent, dict):
        parent[draw(keys)] = copy.deepcopy(parent[key])
    return data


@st.composite
def mutate_text(draw, text):
    op = draw(st.sampled_from(["insert", "insert", "cut", "repeat-line", "indent"]))
    at = draw(st.integers(0, len(text)))
    if op == "insert":
        return text[:at] + draw(st.sampled_from(CONTROL)) + text[at:]
    if op == "cut":
        return text[:at]
    lines = text.splitlines(keepends=True)
    i = draw(st.integers(0, max(0, len(lines) - 1)))
    if op == "repeat-line":
        return "".join(lines[: i + 1] + lines[i:])
    return "".join(lines[:i] + [" " + line for line in lines[i : i + 1]] + lines[i + 1 :])


@st.composite
def fuzzed(draw):
    name = draw(st.sampled_from(sorted(BASE)))
    data = copy.deepcopy(BASE[name])
    for _ in range(draw(st.integers(1, 4))):
        data = draw(mutate_data(data))
    try:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200)
    except yaml.YAMLError:
        text = (REPO / "scenarios" / name).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(0, 2))):
        text = draw(mutate_text(text))
    return name, text


@pytest.fixture(scope="module")
def folder():
    """A folder holding the shipped user libraries, where fuzzed scenarios are written."""
    tmp = Path(tempfile.mkdtemp(prefix="jaksim-fuzz-"))
    shutil.copytree(REPO / "scenarios" / "libraries", tmp / "libraries")
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)
    if LONG:
        print(f"\nfuzz exits: {dict(COUNTS)}")


def validate(path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    return code, err.getvalue()


@FUZZ
@given(case=fuzzed())
def test_fuzzed_scenarios_give_exit_0_or_one_error_line(folder, case):
    name, text = case
    path = folder / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    code, err = validate(path)
    COUNTS[code] += 1
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        lines = [line for line in err.split("\n") if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), err


def test_every_shipped_scenario_is_fuzzed_and_valid(folder):
    assert len(BASE) == len(SHIPPED) >= 13
    for name in BASE:
        shutil.copy(REPO / "scenarios" / name, folder / name)
        assert validate(folder / name)[0] == 0, name
