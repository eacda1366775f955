"""``--set key.path=value``: change one value of a scenario file from the command line.

Each setting replaces (or adds) the value at a dotted key path of the parsed file before it is
validated, so a setting is checked exactly like the file (``--set arms.tofa10.treatment.dose_mg=10``,
``--set horizon_years=10``, ``--set economics.discount=us``). The value is read as YAML 1.2 (``10``
a number, ``true`` a boolean, ``[1, 2]`` a list, ``{a: 1}`` a mapping). The settings are appended
to the scenario text as comments, so the output metadata and a resume's fingerprint record them.
"""

from __future__ import annotations

import copy
from typing import Any

from jaksim.errors import ScenarioError
from jaksim.scenario.yamlfile import load_yaml_text


def _value(setting: str, raw: str) -> Any:
    try:
        value, _ = load_yaml_text(raw, file=f"--set {setting}")
    except ScenarioError as exc:
        raise ScenarioError(f"--set '{setting}': the value is not valid YAML ({exc.detail})") from None
    return value


def apply_settings(data: Any, settings: list[str]) -> Any:
    """A copy of the parsed scenario with every ``key.path=value`` setting applied."""
    if not settings:
        return data
    if not isinstance(data, dict):
        raise ScenarioError("--set needs a scenario file that is a YAML mapping")
    out = copy.deepcopy(data)
    for setting in settings:
        path, eq, raw = setting.partition("=")
        keys = path.strip().split(".")
        if not eq or not path.strip() or any(not k for k in keys):
            raise ScenarioError(f"--set '{setting}': give key.path=value, e.g. --set horizon_years=10")
        node = out
        for i, key in enumerate(keys[:-1]):
            if isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
                continue
            if not isinstance(node, dict):
                raise ScenarioError(f"--set '{setting}': '{'.'.join(keys[:i])}' is not a mapping, so it has no "
                                    f"key '{key}'")
            node = node.setdefault(key, {})
        last = keys[-1]
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = _value(setting, raw)
        elif isinstance(node, dict):
            node[last] = _value(setting, raw)
        else:
            raise ScenarioError(f"--set '{setting}': '{'.'.join(keys[:-1])}' is not a mapping, so it has no "
                                f"key '{last}'")
    return out


def settings_comment(settings: list[str]) -> str:
    """The settings as YAML comment lines appended to the scenario text (provenance)."""
    return "".join(f"\n# --set {s}" for s in settings)
