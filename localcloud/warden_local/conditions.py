"""CloudFormation's Conditions, evaluated as CloudFormation does: which resources and outputs a template creates for
its parameter values, and each ``Fn::If``'s branch (the SAM stack and the StackSets' member template alike)."""

from __future__ import annotations

import json
from typing import Any


class TemplateError(RuntimeError):
    """The template cannot be translated or deployed locally (the message names the resource)."""


def parameter_defaults(template: dict[str, Any]) -> dict[str, Any]:
    return {
        name: declared["Default"]
        for name, declared in template.get("Parameters", {}).items()
        if isinstance(declared, dict) and "Default" in declared
    }


def evaluate_conditions(template: dict[str, Any], values: dict[str, Any]) -> dict[str, bool]:
    """Each of the template's Conditions, true or false, for these parameter (and pseudo-parameter) values.

    Parameters not in ``values`` take their default. Raises :class:`TemplateError` for what it cannot evaluate.
    """
    values = {**parameter_defaults(template), **values}
    conditions = template.get("Conditions", {})
    lists = {
        name for name, declared in template.get("Parameters", {}).items() if "List" in str(declared.get("Type", ""))
    }
    evaluated: dict[str, bool] = {}

    def resolve(node: Any) -> Any:
        if isinstance(node, (str, int, float, bool)):
            return str(node) if not isinstance(node, bool) else node
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if isinstance(node, dict) and len(node) == 1:
            [(function, argument)] = node.items()
            if function == "Ref" and argument in values:
                value = values[argument]
                if argument in lists:
                    return [] if value in ("", []) else (value.split(",") if isinstance(value, str) else list(value))
                return str(value)
            if function == "Fn::Join":
                separator, items = argument
                resolved = resolve(items)
                parts = resolved if isinstance(resolved, list) else [resolved]
                return str(separator).join(str(part) for part in parts)
            if function == "Fn::Equals":
                left, right = (resolve(item) for item in argument)
                return left == right
            if function == "Fn::Not":
                return not truth(argument[0])
            if function == "Fn::And":
                return all(truth(item) for item in argument)
            if function == "Fn::Or":
                return any(truth(item) for item in argument)
            if function in ("Condition", "Fn::Condition"):  # moto's YAML reader writes !Condition as the latter
                return condition(argument)
        raise TemplateError(f"condition uses what the local cloud cannot evaluate: {json.dumps(node)[:200]}")

    def truth(node: Any) -> bool:
        result = resolve(node)
        if not isinstance(result, bool):
            raise TemplateError(f"condition is not true or false: {json.dumps(node)[:200]}")
        return result

    def condition(name: Any) -> bool:
        if name not in conditions:
            raise TemplateError(f"unknown condition {name!r}")
        if name not in evaluated:
            evaluated[name] = truth(conditions[name])
        return evaluated[name]

    return {name: condition(name) for name in conditions}


def apply_conditions(template: dict[str, Any], values: dict[str, Any]) -> None:
    """Remove the resources and outputs whose Condition is false, take each ``Fn::If``'s branch and drop
    ``AWS::NoValue``, in place, as CloudFormation does.

    moto evaluates conditions itself but then lists a skipped resource as an empty entry in DescribeStackResources,
    and keeps ``AWS::NoValue`` as a null list item (a policy statement ``null``); on AWS neither is there.
    """
    conditions = evaluate_conditions(template, values)
    no_value = {"Ref": "AWS::NoValue"}

    def choose(node: Any) -> Any:
        if isinstance(node, dict):
            if len(node) == 1 and "Fn::If" in node:
                name, when_true, when_false = node["Fn::If"]
                if name not in conditions:
                    raise TemplateError(f"Fn::If names an unknown condition {name!r}")
                return choose(when_true if conditions[name] else when_false)
            chosen = {key: choose(value) for key, value in node.items()}
            return {key: value for key, value in chosen.items() if value != no_value}
        if isinstance(node, list):
            return [item for item in (choose(value) for value in node) if item != no_value]
        return node

    for section in ("Resources", "Outputs"):
        entries = template.get(section, {})
        for logical_id in [key for key, entry in entries.items() if isinstance(entry, dict) and "Condition" in entry]:
            if not conditions[entries[logical_id]["Condition"]]:
                del entries[logical_id]
        template[section] = choose(entries)
