#!/usr/bin/python3
"""api_check.py - check pp-api answers against schema/openapi.json (used by api_core.sh).

  api_check.py check SPEC LOG METHOD TEMPLATE STATUS CONTENT_TYPE BODYFILE
      the status must be documented for the operation and the body must match its schema;
      appends "METHOD TEMPLATE STATUS" to LOG.
  api_check.py coverage SPEC LOG [TAG]
      every documented status of every operation tagged TAG (default "core"; except
      x-untested) was seen.
"""
import json
import sys

import jsonschema


def op_of(spec, method, template):
    path = spec["paths"].get(template)
    if path is None or method.lower() not in path:
        sys.exit("not documented: %s %s" % (method, template))
    return path[method.lower()]


def check(spec, log, method, template, status, ctype, bodyfile):
    op = op_of(spec, method, template)
    resp = op["responses"].get(status)
    if resp is None:
        sys.exit("%s %s answered %s, not a documented status (%s)"
                 % (method, template, status, ", ".join(sorted(op["responses"]))))
    content = resp.get("content", {})
    media = ctype.split(";")[0].strip()
    if media not in content:
        sys.exit("%s %s %s: content type %r, documented %s" % (method, template, status, ctype, list(content)))
    raw = open(bodyfile, "rb").read().decode("utf-8")
    schema = content[media]["schema"]
    body = json.loads(raw) if media == "application/json" else raw
    root = dict(schema)
    root["components"] = spec["components"]
    try:
        jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker()).validate(body)
    except jsonschema.ValidationError as e:
        sys.exit("%s %s %s: body does not match the schema: %s at %s\nbody: %s"
                 % (method, template, status, e.message, "/".join(map(str, e.absolute_path)), raw[:500]))
    with open(log, "a") as f:
        f.write("%s %s %s\n" % (method.upper(), template, status))


def coverage(spec, log, tag="core"):
    seen = set(line.strip() for line in open(log))
    missing = []
    for template, ops in spec["paths"].items():
        for method, op in ops.items():
            if tag not in op.get("tags", []):
                continue
            for status, resp in op["responses"].items():
                if resp.get("x-untested"):
                    continue
                if "%s %s %s" % (method.upper(), template, status) not in seen:
                    missing.append("%s %s %s" % (method.upper(), template, status))
    if missing:
        sys.exit("documented but never checked: " + "; ".join(missing))


def main():
    spec = json.load(open(sys.argv[2]))
    jsonschema.Draft202012Validator.check_schema(
        {"$defs": spec["components"]["schemas"]})
    if sys.argv[1] == "check":
        check(spec, *sys.argv[3:9])
    elif sys.argv[1] == "coverage":
        coverage(spec, *sys.argv[3:5])
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main()
