# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Renders docs/variables.md from the roles' meta/argument_specs.yml, so the
variable reference can never drift from what the roles validate.

    python3 docs/render_variables.py          # rewrite docs/variables.md
    python3 docs/render_variables.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import glob
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "docs", "variables.md")


def _cell(value):
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")


def _default(option):
    if "default" not in option:
        return "*required*" if option.get("required") else ""
    return "`%s`" % _cell(yaml.safe_dump(option["default"], default_flow_style=True, width=10000).strip()
                          .removesuffix("...").strip())


def render():
    out = ["# Role variables", "",
           "Generated from each role's `meta/argument_specs.yml` by `docs/render_variables.py`;",
           "do not edit by hand. Every variable can be set in inventory (`group_vars`, `host_vars`)",
           "or as an extra var.", ""]
    for spec_path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))):
        role = spec_path.split(os.sep)[-3]
        with open(spec_path) as handle:
            main = yaml.safe_load(handle)["argument_specs"]["main"]
        out += ["## `nexus_cos.launch.%s`" % role, "", main.get("short_description", ""), ""]
        options = main.get("options") or {}
        if not options:
            out += ["No variables of its own.", ""]
            continue
        out += ["| variable | type | default | description |", "|---|---|---|---|"]
        for name, option in options.items():
            kind = option.get("type", "str")
            if option.get("elements"):
                kind += " of " + option["elements"]
            if option.get("choices"):
                kind += " (%s)" % ", ".join(str(c) for c in option["choices"])
            desc = option.get("description", "")
            desc = " ".join(desc) if isinstance(desc, list) else desc
            out.append("| `%s` | %s | %s | %s |" % (name, kind, _default(option), _cell(desc)))
        out.append("")
    return "\n".join(out)


def main(argv):
    text = render()
    if "--check" in argv:
        with open(TARGET) as handle:
            if handle.read() != text:
                print("docs/variables.md is stale: run python3 docs/render_variables.py", file=sys.stderr)
                return 1
        return 0
    with open(TARGET, "w") as handle:
        handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
