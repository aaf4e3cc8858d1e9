"""Checks real answers of a Lemma server against the OpenAPI document's response schemas.

Usage: answers.py DOCUMENT.json ANSWERS.json, where ANSWERS is a list of
{"method", "path" (as documented, templated), "status", "body"}. Exits non-zero, listing every
answer that does not match, when any does not.

Strict about fields: an object answer may hold no property its schema does not name. Schemas
that are parts of an `allOf` stay open (the parts are evaluated together), so the schema that
combines them is the one closed, with `unevaluatedProperties`, which sees all of its parts.
"""

import copy
import json
import sys

from jsonschema import Draft202012Validator


def all_of_parts(node, out):
    """Names of the component schemas referenced as parts of an `allOf`."""
    if isinstance(node, dict):
        for part in node.get("allOf", []):
            ref = part.get("$ref", "") if isinstance(part, dict) else ""
            if ref.startswith("#/components/schemas/"):
                out.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            all_of_parts(value, out)
    elif isinstance(node, list):
        for value in node:
            all_of_parts(value, out)


def close(node, open_names, name=None):
    """Adds `unevaluatedProperties: false` to object schemas, except `allOf` parts."""
    if isinstance(node, dict):
        is_object = "properties" in node or "allOf" in node
        if is_object and name not in open_names and "additionalProperties" not in node:
            node.setdefault("unevaluatedProperties", False)
        for key, value in node.items():
            if key == "allOf":
                # Inline parts are evaluated with their parent: leave them open too.
                for part in value:
                    for child in (part.get("properties") or {}).values():
                        close(child, open_names)
                continue
            close(value, open_names)
    elif isinstance(node, list):
        for value in node:
            close(value, open_names)


def main():
    document = json.load(open(sys.argv[1]))
    answers = json.load(open(sys.argv[2]))
    components = copy.deepcopy(document.get("components", {}))
    open_names = set()
    all_of_parts(document, open_names)
    for name, schema in components.get("schemas", {}).items():
        close(schema, open_names, name)

    wrong = []
    for answer in answers:
        where = f"{answer['method'].upper()} {answer['path']} -> {answer['status']}"
        operation = document["paths"][answer["path"]][answer["method"]]
        response = operation["responses"].get(str(answer["status"]))
        if response is None:
            wrong.append(f"{where}: status not documented")
            continue
        schema = (response.get("content") or {}).get("application/json", {}).get("schema")
        if schema is None:
            wrong.append(f"{where}: answered JSON, documented without a JSON body")
            continue
        root = copy.deepcopy(schema)
        close(root, open_names)
        root["components"] = components
        errors = sorted(Draft202012Validator(root).iter_errors(answer["body"]), key=str)
        for error in errors[:5]:
            path = "/".join(str(p) for p in error.absolute_path)
            wrong.append(f"{where}: at /{path}: {error.message[:300]}")
    if wrong:
        print("\n".join(wrong))
        sys.exit(1)
    print(f"{len(answers)} answers match their documented schemas")


if __name__ == "__main__":
    main()
