"""Scenario files read into validated ``Scenario`` objects; every error as one line:
``file:line: key.path: problem (got value); allowed ...``."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from jaksim.errors import ScenarioError
from jaksim.scenario import economics, schema
from jaksim.scenario.base import ValueErrorAt
from jaksim.scenario.schema import ARM_KEYS, Arm, Scenario
from jaksim.scenario.yamlfile import Lines, load_yaml_file, load_yaml_text


class _Source:
    """Where a scenario came from: file name, text and line numbers of its keys."""

    def __init__(self, file: str | None, text: str, lines: Lines, arm_paths: dict[str, tuple]):
        self.file, self.text, self.lines, self.arm_paths = file, text, lines, arm_paths

    def _depth(self, path: tuple) -> int:
        """Length of the longest prefix of ``path`` written in the file (-1: none, 0: the document)."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return n
        return -1

    def _line(self, path: tuple) -> int | None:
        n = self._depth(path)
        return self.lines[path[:n]] if n >= 0 else None

    def locate(self, loc: tuple) -> tuple[tuple, int | None]:
        """The key path as the user wrote it, and its line (or the nearest written parent's).

        Arms are stored resolved (base merged with overrides): ``arms.<i>.<key…>`` maps to
        ``arms.<name>.<key…>`` where the arm's overrides wrote (more of) the key, else to
        the base section ``<key…>`` it was inherited from.
        """
        loc = tuple(loc)
        if len(loc) >= 2 and loc[0] == "arms" and isinstance(loc[1], int):
            names = list(self.arm_paths)
            own = self.arm_paths[names[loc[1]]] if loc[1] < len(names) else ()
            rest = loc[2:]
            if own and rest[:1] in ((), ("name",)):
                return own, self._line(own)
            if own:
                in_arm = self._depth(own + rest) - len(own)
                if in_arm > 0 and in_arm >= self._depth(rest):
                    return own + rest, self._line(own + rest)
            loc = rest
        return loc, self._line(loc)

    def line_of(self, path: tuple) -> int | None:
        return self.locate(tuple(path))[1]


# ------------------------------------------------------------------------ loading
#: Keys a user may write at the top level of a scenario, and those required there.
TOP_KEYS = ("name", "description", "seed", "n_patients", "horizon_years", "evidence", "library", "psa", "frailty",
            "cohort",
            *ARM_KEYS[1:], "arms")
TOP_REQUIRED = ("name", "seed", "n_patients", "horizon_years", "cohort", "treatment", "infections")
#: pydantic's names of union members / tagged variants inside error locations (not user keys).
_TAGS = {("cohort", "synthetic"): "SyntheticCohort", ("cohort", "file"): "FileCohort",
         ("age", "truncated_normal"): "TruncatedNormalAge", ("age", "bands"): "AgeBands",
         ("rate_per_100py", "float"): "float", ("rate_per_100py", "TypedRate"): "TypedRate",
         ("discount", "DiscountRates"): "DiscountRates"}
_UNION_MEMBER = re.compile(r"^(?:[a-z][a-z0-9_-]*\[.*\]|\[key\])$")


def _deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = _deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


def _is_tag(loc: tuple, i: int) -> bool:
    key = loc[i]
    if isinstance(key, str) and i > 0 and (loc[i - 1], key) in _TAGS:
        return True
    return isinstance(key, str) and bool(_UNION_MEMBER.match(key))


def _user_loc(loc: tuple) -> tuple:
    """An error location without pydantic's variant tags and union member names."""
    return tuple(k for i, k in enumerate(loc) if not _is_tag(loc, i))


def _model_at(model: type[BaseModel] | None, loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class that a (raw) location's last key belongs to (best effort)."""
    for i, key in enumerate(loc[:-1]):
        if model is None:
            return None
        if _is_tag(loc, i):
            tagged = _TAGS.get((loc[i - 1], key)) if i > 0 else None
            if tagged:
                model = getattr(schema, tagged, None) or getattr(economics, tagged, None)
            continue
        if isinstance(key, int):
            continue
        field = model.model_fields.get(key)
        if field is None:
            continue  # a key of a mapping (infection type name): same value model
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation) -> type[BaseModel] | None:
    import typing
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        m = _inner_model(arg)
        if m is not None:
            return m
    return None


def _shown(value: Any) -> str:
    """A bad value as shown in a message (short repr; containers abbreviated)."""
    text = repr(value)
    if isinstance(value, dict):
        return text if len(text) <= 60 else f"a mapping with keys {', '.join(map(str, value))}"[:80]
    if isinstance(value, (list, tuple)):
        return text if len(text) <= 60 else f"a list of {len(value)} items"
    return text if len(text) <= 80 else text[:77] + "..."


def describe_error(err: Any, root: type[BaseModel], raw_loc: tuple) -> str:
    """One readable sentence for a pydantic error: what is wrong, the value, what is allowed."""
    kind, value = err["type"], err.get("input")
    loc = _user_loc(raw_loc)
    key = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        model = _model_at(root, raw_loc)
        keys = TOP_KEYS if model in (Scenario, Arm) else (tuple(model.model_fields) if model else ())
        allowed = ", ".join(keys) if keys else "see the documentation"
        return f"unknown key '{key}'; allowed keys here: {allowed}"
    if kind == "missing":
        model = _model_at(root, raw_loc)
        required: tuple[str, ...]
        if model in (Scenario, Arm):
            required = TOP_REQUIRED
        else:
            required = tuple(n for n, f in (model.model_fields.items() if model else ()) if f.is_required())
        tail = f"; required keys here: {', '.join(required)}" if required else ""
        return f"missing required key '{key}'{tail}"
    if kind == "union_tag_not_found":
        ctx = err.get("ctx", {})
        return f"missing required key {ctx.get('discriminator', 'tag')}"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return (f"{ctx.get('discriminator', 'tag').strip(chr(39))} must be one of "
                f"{ctx.get('expected_tags')} (got {ctx.get('tag')!r})")
    msg = err["msg"]
    if kind == "value_error":
        # our own validators: the message already names the bad value and what is allowed
        return msg[len("Value error, "):] if msg.startswith("Value error, ") else msg
    if kind == "string_pattern_mismatch":
        msg = "must use only letters, digits, '_', '.', '-' (at most 64 characters)"
    elif kind == "too_short":
        msg = "must have at least one entry" if isinstance(value, dict) else "must have at least one item"
    else:
        msg = msg.replace("Input should be", "must be").replace("Dictionary should", "must")
    return f"{msg} (got {_shown(value)})"


def _first_error(exc: ValidationError) -> Any:
    """The error to report: the first one, but for a union the member that matches the input best."""
    errors = exc.errors()
    err = errors[0]
    loc = tuple(err["loc"])
    cut = next((i for i in range(len(loc)) if _is_tag(loc, i)), None)
    if cut is None:
        return err
    siblings = [e for e in errors if tuple(e["loc"])[:cut] == loc[:cut]]
    return max(siblings, key=lambda e: len(e["loc"]))  # deepest: the member that got furthest


#: at most this many problems of one file are reported by ``jaksim validate``
MAX_ERRORS = 20


def _reported_errors(exc: ValidationError) -> list:
    """The errors to report, the one ``_first_error`` picks first. A misspelt key shows up twice
    (an unknown key and the required key it hides): only the unknown key is reported, with the
    hidden keys as the suggestions for "did you mean"."""
    errors = exc.errors()
    first = _first_error(exc)
    unknown = {tuple(e["loc"])[:-1] for e in errors if e["type"] == "extra_forbidden"}

    def hidden(e) -> bool:
        return e["type"] == "missing" and tuple(e["loc"])[:-1] in unknown

    for e in errors:
        if e["type"] == "extra_forbidden":
            e["_suggest"] = [str(m["loc"][-1]) for m in errors  # type: ignore[typeddict-unknown-key]
                             if hidden(m) and m["loc"][:-1] == e["loc"][:-1]]
    ordered = [e for e in [first] + [e for e in errors if e is not first] if not hidden(e)]
    return ordered or [first]


def _located_error(err: Any, source: Any, file: str | None) -> ScenarioError:
    import difflib
    raw_loc = tuple(err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ValueErrorAt):
        raw_loc += cause.at
    message = describe_error(err, Scenario, raw_loc)
    if err["type"] == "extra_forbidden":
        model = _model_at(Scenario, raw_loc)
        keys = list(TOP_KEYS) if model in (Scenario, Arm) else list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(raw_loc[-1]), err.get("_suggest") or keys, n=1) or \
            difflib.get_close_matches(str(raw_loc[-1]), keys, n=1)
        message += f" (did you mean '{close[0]}'?)" if close else ""
    user_path, line = source.locate(_user_loc(raw_loc))
    return ScenarioError(message, file=file, line=line, path=".".join(map(str, user_path)) or None)


def scenario_from_data(data: Any, *, file: str | None = None, text: str = "",
                       lines: Lines | None = None) -> Scenario:
    """Validate parsed YAML data into a Scenario, turning every problem into a ScenarioError."""
    lines = lines or {}
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"{type(data).__name__} {_shown(data)}"
        raise ScenarioError("a scenario must be a YAML mapping with keys name, seed, n_patients, "
                            f"horizon_years, cohort, treatment, infections, mortality, arms (got {got})",
                            file=file, line=lines.get((), 1))
    from jaksim.scenario.distributions import extract
    data, distributions = extract(data, lines, file)
    raw = data
    raw_arms = data.get("arms", None)
    base = {k: v for k, v in data.items() if k != "arms"}
    arm_paths: dict[str, tuple] = {}
    arms: list[dict] = []
    if raw_arms is None:
        arms.append({"name": "base", **{k: base[k] for k in ARM_KEYS if k in base}})
        arm_paths["base"] = ()
    elif not isinstance(raw_arms, dict) or not raw_arms:
        raise ScenarioError("arms must be a mapping of arm name to overrides "
                            "(e.g. 'arms: {tofa5: {}, tofa10: {treatment: {dose_mg: 10}}}'; "
                            f"got {type(raw_arms).__name__} {_shown(raw_arms)})",
                            file=file, line=lines.get(("arms",)), path="arms")
    else:
        for arm_name, override in raw_arms.items():
            override = {} if override is None else override
            if not isinstance(override, dict):
                raise ScenarioError(f"arm '{arm_name}' must be a mapping of overrides of "
                                    f"{', '.join(ARM_KEYS)} (got {_shown(override)})",
                                    file=file, line=lines.get(("arms", arm_name)), path=f"arms.{arm_name}")
            bad = [k for k in override if k not in ARM_KEYS]
            if bad:
                raise ScenarioError(f"unknown key '{bad[0]}' in an arm; an arm may override: "
                                    f"{', '.join(ARM_KEYS)} (every arm simulates the same patients)",
                                    file=file, line=lines.get(("arms", arm_name, bad[0])),
                                    path=f"arms.{arm_name}.{bad[0]}")
            merged = {k: base[k] for k in ARM_KEYS if k in base}
            merged = _deep_merge(merged, override)
            arms.append({"name": str(arm_name), **merged})
            arm_paths[str(arm_name)] = ("arms", arm_name)
    top = {k: v for k, v in base.items() if k not in ARM_KEYS}
    top["arms"] = arms
    source = _Source(file, text, lines, arm_paths)
    try:
        scenario = Scenario.model_validate(top)
    except ValidationError as exc:
        found = [_located_error(e, source, file) for e in _reported_errors(exc)]
        unique = list({(e.line, e.path, e.detail): e for e in found}.values())
        first = unique[0]
        first.more = unique[1:MAX_ERRORS]
        raise first from None
    scenario._source = source
    scenario._raw = raw
    scenario._distributions = distributions
    return scenario


def with_values(scenario: Scenario, values: dict[tuple, float]) -> Scenario:
    """The scenario re-validated with values set at key paths as written (a PSA draw's values
    of the distributions declared in the scenario); the declared distributions are kept."""
    if not values:
        return scenario
    data = copy.deepcopy(scenario._raw)
    for path, v in values.items():
        node = data
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = float(v)
    src = scenario._source
    new = scenario_from_data(data, file=src.file if src else None, text=src.text if src else "",
                             lines=src.lines if src else {})
    # the command line's overrides (--n-patients, --seed, ...) are not in the file's data
    new = new.with_overrides(n_patients=scenario.n_patients, seed=scenario.seed,
                             horizon_years=scenario.horizon_years, name=scenario.name, evidence=scenario.evidence)
    new._distributions = scenario._distributions
    return new


def load_scenario(path: str | Path, settings: list[str] | None = None) -> Scenario:
    """Load and validate a scenario file (structure and value ranges), with command-line
    ``settings`` (``key.path=value``, ``scenario/settings.py``) applied first.

    Library look-ups (drug, dose, default rates) are checked when the model is built;
    ``jaksim.api.load_scenario`` does both.
    """
    data, lines, text = load_yaml_file(path)
    if settings:
        from jaksim.scenario.settings import apply_settings, settings_comment
        data = apply_settings(data, list(settings))
        text = text.rstrip("\n") + settings_comment(list(settings)) + "\n"
    return scenario_from_data(data, file=str(path), text=text, lines=lines)


def scenario_from_text(text: str, file: str = "<string>") -> Scenario:
    """Validate a scenario given as YAML text (tests, notebooks)."""
    data, lines = load_yaml_text(text, file)
    return scenario_from_data(data, file=file, text=text, lines=lines)
