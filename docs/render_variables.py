# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Renders the Markdown role reference from the roles' meta/argument_specs.yml,
so it can never drift from what the roles validate: docs/variables.md (every
role, every entry point), each role's README.md and its meta/main.yml
galaxy_info (what Galaxy shows of a role: its description; the lowest
ansible-core comes from meta/runtime.yml). And docs/playbooks.md, a section
a playbook, from the playbook's own header comment.

    python3 docs/render_variables.py          # rewrite them
    python3 docs/render_variables.py --check  # exit 1 naming each stale file

Descriptions are written in Ansible's markup (C(...), M(...), ...), which
ansible-doc and the docs site render; here it becomes Markdown.
"""

from __future__ import annotations

import glob
import os
import re
import sys

import yaml
from antsibull_docs_parser import dom
from antsibull_docs_parser.parser import Context, parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMESPACE = "nexus_cos.launch"
TARGET = os.path.join(ROOT, "docs", "variables.md")
GENERATED = "Generated from `meta/argument_specs.yml` by `docs/render_variables.py` (`make docs`); do not edit by hand."


def _code(text):
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return "%s%s%s%s%s" % (fence, pad, text, pad, fence)


def _option(part):
    return _code("%s=%s" % (part.name, part.value) if part.value is not None else part.name)


# One Markdown form per kind of markup part: code-like parts as code spans, links as links.
_PARTS = {
    dom.PartType.TEXT: lambda p: p.text,
    dom.PartType.CODE: lambda p: _code(p.text),
    dom.PartType.BOLD: lambda p: "**%s**" % p.text,
    dom.PartType.ITALIC: lambda p: "*%s*" % p.text,
    dom.PartType.MODULE: lambda p: _code(p.fqcn),
    dom.PartType.PLUGIN: lambda p: _code(p.plugin.fqcn),
    dom.PartType.LINK: lambda p: "[%s](%s)" % (p.text, p.url),
    dom.PartType.URL: lambda p: "<%s>" % p.url,
    dom.PartType.RST_REF: lambda p: p.text,
    dom.PartType.ENV_VARIABLE: lambda p: _code(p.name),
    dom.PartType.OPTION_NAME: _option,
    dom.PartType.RETURN_VALUE: _option,
    dom.PartType.OPTION_VALUE: lambda p: _code(p.value),
    dom.PartType.HORIZONTAL_LINE: lambda p: "---",
    dom.PartType.ERROR: lambda p: p.message,
}


def markdown(text):
    """Ansible markup (a string or a list of paragraphs) as Markdown paragraphs."""
    paragraphs = parse(text, Context(current_plugin=None), strict=True)
    return ["".join(_PARTS[part.type](part) for part in paragraph) for paragraph in paragraphs]


def _cell(text):
    return " ".join(" ".join(text.split()).split("\n")).replace("|", "\\|")


def _default(option):
    if "default" not in option:
        return "*required*" if option.get("required") else ""
    return _code(yaml.safe_dump(option["default"], default_flow_style=True, width=10000).strip()
                 .removesuffix("...").strip())


def _kind(option):
    kind = option.get("type", "str")
    if option.get("elements"):
        kind += " of " + option["elements"]
    if option.get("choices"):
        kind += " (%s)" % ", ".join(str(c) for c in option["choices"])
    return kind


def _rows(options, prefix=""):
    rows = []
    for name, option in options.items():
        desc = _cell(" ".join(markdown(option.get("description", ""))))
        rows.append("| %s | %s | %s | %s |" % (_code(prefix + name), _kind(option), _default(option), desc))
        # Suboptions: a list of dicts names its items' keys as parent[].key.
        if option.get("options"):
            sub = prefix + name + ("[]." if option.get("type") == "list" else ".")
            rows += _rows(option["options"], sub)
    return rows


def table(options):
    if not options:
        return ["No variables of its own.", ""]
    return ["| variable | type | default | description |", "|---|---|---|---|"] + _rows(options) + [""]


def load_specs():
    """{role: {entry point: spec}}, roles sorted, main first."""
    specs = {}
    for spec_path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))):
        with open(spec_path) as handle:
            entry_points = yaml.safe_load(handle)["argument_specs"]
        ordered = sorted(entry_points, key=lambda name: (name != "main", name))
        specs[spec_path.split(os.sep)[-3]] = {name: entry_points[name] for name in ordered}
    return specs


def _usage(role, entry_point):
    lines = ["```yaml", "- name: Import %s" % role, "  ansible.builtin.import_role:",
             "    name: %s.%s" % (NAMESPACE, role)]
    if entry_point != "main":
        lines.append("    tasks_from: %s" % entry_point)
    return lines + ["```", ""]


def render_variables(specs):
    out = ["# Role variables", "",
           GENERATED + " Every variable can be set in inventory (`group_vars`, `host_vars`) or as an extra var;",
           "each role's README.md says the same, with its description.", ""]
    for role, entry_points in specs.items():
        out += ["## `%s.%s`" % (NAMESPACE, role), ""]
        for name, spec in entry_points.items():
            if name != "main":
                out += ["### Entry point `%s` (`tasks_from: %s`)" % (name, name), ""]
            out += markdown(spec.get("short_description", "")) + [""]
            out += table(spec.get("options") or {})
    return "\n".join(out)


def render_readme(role, entry_points):
    main = entry_points["main"]
    out = ["# %s.%s" % (NAMESPACE, role), ""]
    out += markdown(main.get("short_description", "")) + [""]
    for paragraph in markdown(main.get("description", [])):
        out += [paragraph, ""]
    for name, spec in entry_points.items():
        out += ["## Entry point `%s`" % name, ""]
        if name != "main":
            out += markdown(spec.get("short_description", "")) + [""]
            for paragraph in markdown(spec.get("description", [])):
                out += [paragraph, ""]
        out += _usage(role, name)
        out += ["### Variables", ""] + table(spec.get("options") or {})
    out += ["## About", "",
            "Part of the `%s` collection: its README says which playbook imports this role and when;" % NAMESPACE,
            "`docs/variables.md` lists every role's variables. License: Apache-2.0.", "", GENERATED, ""]
    return "\n".join(out)


def min_ansible_version():
    """The lowest ansible-core of meta/runtime.yml's requires_ansible (">=2.19.0")."""
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        requires = yaml.safe_load(handle)["requires_ansible"]
    lowest = [part.strip()[2:].strip() for part in requires.split(",") if part.strip().startswith(">=")]
    if len(lowest) != 1:
        raise ValueError("meta/runtime.yml: requires_ansible %r has no single '>=VERSION' bound" % requires)
    return lowest[0]


def collection_authors():
    """galaxy.yml's authors, without their mail addresses."""
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        authors = yaml.safe_load(handle)["authors"]
    return ", ".join(author.split("<")[0].strip() for author in authors)


def render_role_meta(entry_points, lowest, authors):
    info = {"author": authors, "description": " ".join(markdown(entry_points["main"].get("short_description", ""))),
            "license": "Apache-2.0", "min_ansible_version": lowest}
    return "---\n# %s\n%s" % (GENERATED.replace("`", ""), yaml.safe_dump(
        {"galaxy_info": info, "dependencies": []}, sort_keys=False, width=150, default_flow_style=False))


# A header line shown as it is written (a command, an aligned list): indented,
# or holding a run of spaces that lines things up.
_PREFORMATTED = re.compile(r"^ {2,}\S|\S {3,}\S")


def _prose(text):
    """A header comment's prose as Markdown text: nothing in it read as markup."""
    return re.sub(r"([\\<>*`\[\]])", r"\\\1", text)


def playbook_header(path):
    """(play, header): the first play of a playbook and its leading comment
    (the lines before the play, without their '#'), the one place a playbook
    says what it does and how it is run."""
    with open(path) as handle:
        text = handle.read()
    header = []
    for line in text.splitlines():
        if line.startswith("#"):
            header.append(line[2:] if line.startswith("# ") else line[1:])
        elif line.strip() not in ("", "---"):
            break
    plays = yaml.safe_load(text)
    return plays[0], header


def render_playbook(name, play, header):
    """One playbook's section: what its header says, prose as paragraphs and
    commands as code blocks, then what the play runs."""
    lines = ["## `%s.%s`" % (NAMESPACE, name), "", "**%s**: `playbooks/%s.yml`, hosts `%s`%s." % (
        _prose(play.get("name", name)), name, play.get("hosts"), ", as root (become)" if play.get("become") else ""), ""]
    block, paragraph = [], []

    def flush():
        if paragraph:
            lines.extend([" ".join(paragraph), ""])
            del paragraph[:]
        if block:
            lines.extend(["```text"] + block + ["```", ""])
            del block[:]
    for line in header:
        if not line.strip():
            flush()
        elif _PREFORMATTED.search(line):
            if paragraph:
                flush()
            block.append(line.rstrip())
        else:
            if block:
                flush()
            paragraph.append(_prose(line.strip()))
    flush()
    roles = sorted(set(re.findall(r"name: (%s\.[a-z0-9_]+)" % re.escape(NAMESPACE), yaml.safe_dump(play))))
    if roles:
        lines.extend(["Roles: %s (their variables: [the role reference](variables.md))." % ", ".join(
            "`%s`" % role for role in roles), ""])
    return lines


def render_playbooks():
    """docs/playbooks.md from the playbooks' own headers; None without playbooks."""
    paths = sorted(glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))
    if not paths:
        return None
    lines = ["# Playbooks", "", GENERATED.replace("`meta/argument_specs.yml`", "each playbook's header comment"), "",
             "Run from a checkout as `ansible-playbook playbooks/NAME.yml -i INV`, or from an installed collection "
             "by name, `ansible-playbook nexus_cos.launch.NAME -i INV`; `nexusctl` runs them too.", ""]
    for path in paths:
        play, header = playbook_header(path)
        lines.extend(render_playbook(os.path.basename(path)[:-len(".yml")], play, header))
    return "\n".join(lines).rstrip("\n") + "\n"


def outputs():
    """{path: text} of every generated file."""
    specs = load_specs()
    lowest, authors = min_ansible_version(), collection_authors()
    files = {TARGET: render_variables(specs)}
    playbooks = render_playbooks()
    if playbooks is not None:
        files[os.path.join(ROOT, "docs", "playbooks.md")] = playbooks
    for role, entry_points in specs.items():
        files[os.path.join(ROOT, "roles", role, "README.md")] = render_readme(role, entry_points)
        files[os.path.join(ROOT, "roles", role, "meta", "main.yml")] = render_role_meta(entry_points, lowest, authors)
    return files


def main(argv):
    files = outputs()
    if "--check" in argv:
        stale = []
        for path, text in files.items():
            current = None
            if os.path.exists(path):
                with open(path) as handle:
                    current = handle.read()
            if current != text:
                stale.append(os.path.relpath(path, ROOT))
        for path in stale:
            print("%s is stale: run make docs (python3 docs/render_variables.py)" % path, file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        tmp = "%s.tmp.%d" % (path, os.getpid())
        with open(tmp, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
