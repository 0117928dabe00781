"""The parameter table of the DAGs' documentation, made from the Params' specs (`config.param_specs`), so the
page in the UI says what the trigger form accepts. String formatting only: it runs when the file is parsed."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from dog_breed.config import UNSET

# What validation.DOMAINS wraps every pattern in (anchored, no trailing newline), not worth showing.
_ANY = {"boolean": "true or false", "string": "any text", "object": "any object"}
_ANCHORED = re.compile(r"^\^\(\?:(?P<inner>.*)\)\$\(\?!\\n\)$")


def parameter_table(specs: Mapping[str, Mapping[str, Any]]) -> str:
    """A Markdown table of the parameters: name, form section, default, domain and description."""
    rows = ["| parameter | section | default | domain | description |", "| --- | --- | --- | --- | --- |"]
    rows += [f"| `{name}` | {spec['section']} | {_default(spec['default'])} | {_cell(domain(spec))} | "
             f"{_cell(spec['description']).replace('<', '&lt;')} |" for name, spec in specs.items()]
    return "\n".join(rows)


def domain(schema: Mapping[str, Any]) -> str:
    """The values `schema` allows, in words: bounds, choices, lengths, patterns."""
    rules = []
    if "enum" in schema:
        rules.append("one of " + ", ".join(f"`{json.dumps(choice)}`" for choice in schema["enum"]))
    if "minimum" in schema and "maximum" in schema:
        rules.append(f"{schema['minimum']} to {schema['maximum']}")
    elif "minimum" in schema or "exclusiveMinimum" in schema:
        rules.append(f"≥ {schema['minimum']}" if "minimum" in schema else f"> {schema['exclusiveMinimum']}")
    elif "maximum" in schema:
        rules.append(f"≤ {schema['maximum']}")
    if "maxLength" in schema:
        rules.append(f"at most {schema['maxLength']} characters")
    if "pattern" in schema:
        match = _ANCHORED.match(schema["pattern"])
        rules.append(f"matches `{match['inner'] if match else schema['pattern']}`")
    if schema.get("allOf"):
        rules.append(f"and {len(schema['allOf'])} more pattern{'s' if len(schema['allOf']) > 1 else ''}")
    if "minItems" in schema:
        rules.append(f"at least {schema['minItems']} item{'s' if schema['minItems'] > 1 else ''}")
    if schema.get("uniqueItems"):
        rules.append("no repeats")
    for key, label in (("items", "each item"), ("propertyNames", "names"), ("additionalProperties", "values")):
        if isinstance(schema.get(key), Mapping) and domain(schema[key]):
            rules.append(f"{label}: {domain(schema[key])}")
    for branch in schema.get("anyOf", ()):
        if branch != {"const": UNSET}:
            rules.append(domain(branch))
    if any(branch == {"const": UNSET} for branch in schema.get("anyOf", ())):
        rules.append("or unset (`\"\"`: the deployment sets it)")
    return "; ".join(rule for rule in rules if rule) or _ANY.get(schema.get("type"), "")


def _default(value: Any) -> str:
    return "unset" if value == UNSET else f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    """`text` safe in a table cell: a pipe would end the cell, also inside a code span."""
    return text.replace("|", "\\|").replace("\n", " ")
