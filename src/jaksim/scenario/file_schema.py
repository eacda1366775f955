"""JSON Schema of the scenario *file* (``jaksim schema``), for editor completion and checks.

pydantic's schema of :class:`~jaksim.scenario.schema.Scenario` describes the resolved model
(arms as a list of complete arms, each with a ``name``); a file is written differently: the
top level holds the base sections (``treatment``, ``infections``, ``mortality``,
``vaccination``, ``economics``) beside the run settings, and ``arms`` is a mapping of arm name
to overrides that are deep-merged into the base (so inside an arm no key is required). This
module builds that schema from the same pydantic models, so the two cannot drift apart.

Some rules are beyond a JSON Schema (shares adding up to 1, the library's drugs and doses,
every arm simulating the same types): ``jaksim validate`` checks those.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import Field, TypeAdapter, create_model

from jaksim.scenario.base import Model, Name
from jaksim.scenario.schema import ARM_KEYS, Arm, Scenario

SCHEMA_ID = "https://github.com/jaksim/jaksim/scenario.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: suffix of the definitions used inside ``arms``: the same objects with nothing required
OVERRIDE = "Override"


def _partial(node: Any) -> Any:
    """A schema node with no key required anywhere below it (references to the partial copies)."""
    if isinstance(node, list):
        return [_partial(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("required", "discriminator"):
            continue
        if key == "$ref" and isinstance(value, str):
            out[key] = value + OVERRIDE
        elif key == "oneOf":                 # partial alternatives may all match
            out["anyOf"] = _partial(value)
        else:
            out[key] = _partial(value)
    return out


def _closed_mappings(node: Any) -> None:
    """Mappings keyed by names (``patternProperties``) refuse keys that are not names."""
    if isinstance(node, list):
        for n in node:
            _closed_mappings(n)
    elif isinstance(node, dict):
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _closed_mappings(value)


def file_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a scenario file as written."""
    top = {k: (f.annotation, f) for k, f in Scenario.model_fields.items() if k != "arms"}
    sections = {k: (f.annotation, f) for k, f in Arm.model_fields.items() if k in ARM_KEYS and k != "description"}
    arms_field = Field(None, description="named arms: overrides of " + ", ".join(ARM_KEYS) + " deep-merged into "
                                         "the base sections; the first arm is the reference of contrasts")
    file_model = create_model("ScenarioFile", __base__=Model, **top, **sections,  # type: ignore[call-overload]
                              arms=(dict[Name, Any] | None, arms_field))
    schema = file_model.model_json_schema(ref_template="#/$defs/{model}")
    _closed_mappings(schema)
    defs = schema.setdefault("$defs", {})
    for option in defs["Infection"]["properties"]["rate_per_100py"]["anyOf"]:   # a validator's range
        if option.get("type") == "number":
            option.update(minimum=0, maximum=100000)
    for name, body in list(defs.items()):
        defs[name + OVERRIDE] = _partial(body)
    override = {
        "type": ["object", "null"], "additionalProperties": False,
        "description": "overrides of the base sections for this arm ({} or null: the base as it is)",
        "properties": {k: _partial(copy.deepcopy(schema["properties"][k])) for k in ARM_KEYS},
    }
    defs["ArmOverrides"] = override
    arms = schema["properties"]["arms"]
    arms.pop("anyOf", None)
    arms.update({"type": ["object", "null"], "minProperties": 1,
                 "propertyNames": {"pattern": TypeAdapter(Name).json_schema()["pattern"]},
                 "additionalProperties": {"$ref": "#/$defs/ArmOverrides"}})
    for body in defs.values():
        body.pop("title", None)
    return {"$schema": DRAFT, "$id": SCHEMA_ID, "title": "jaksim scenario file",
            "description": "A jaksim scenario (README 'Scenario format'); unknown keys are errors, numbers "
                           "carry their units in their names.", **{k: v for k, v in schema.items() if k != "title"}}
