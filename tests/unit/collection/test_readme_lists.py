# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The README's lists match the tree: its scenario table names every
molecule scenario (and no other), its list of nexusctl commands names every
command of nexusctl's parser (and no other); make demo ends with the command
that runs nexusctl."""

from __future__ import annotations

import argparse
import os
import re

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.tests.unit.utils.collection_build import ROOT


def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        return handle.read()


def table_scenarios(text):
    lines = text.splitlines()
    start = lines.index("| scenario | what it shows |")
    names = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        names.append(re.match(r"^\| `([^`]+)` \|", line).group(1))
    return names


def tree_scenarios():
    top = os.path.join(ROOT, "molecule")
    return sorted(name for name in os.listdir(top) if os.path.isfile(os.path.join(top, name, "molecule.yml")))


def listed_commands(text):
    block = text.split("<!-- nexusctl-commands:", 1)[1].split("<!-- end nexusctl-commands -->", 1)[0]
    names = []
    for line in block.splitlines():
        if line.startswith("- "):
            names.extend(re.findall(r"`([^`]+)`", line[2:].split(":", 1)[0]))
    return names


def parser_commands(parser, prefix=""):
    names = []
    for action in parser._actions:    # pylint: disable=protected-access
        if isinstance(action, argparse._SubParsersAction):    # pylint: disable=protected-access
            for name, sub in action.choices.items():
                nested = parser_commands(sub, prefix + name + " ")
                names.extend(nested or [prefix + name])
    return names


def test_the_scenario_table_lists_every_scenario_once():
    listed = table_scenarios(readme())
    assert len(listed) == len(set(listed)), "README lists a scenario twice: %s" % listed
    assert sorted(listed) == tree_scenarios(), "README's scenario table and molecule/ differ in: %s" % (
        sorted(set(listed) ^ set(tree_scenarios())))


def test_the_command_list_matches_the_parser():
    listed, parsed = listed_commands(readme()), parser_commands(nexusctl_main.build_parser())
    assert "audit tail" in parsed and "marketplace enable" in parsed and "deploy" in parsed
    assert sorted(listed) == sorted(parsed), "README lists %s; nexusctl's parser has %s" % (sorted(listed), sorted(parsed))


def test_the_readers_of_the_lists_see_a_difference():
    text = readme().replace("| `guard` |", "| `guard2` |", 1).replace("- `validate`:", "- `valid`:", 1)
    assert sorted(table_scenarios(text)) != tree_scenarios()
    assert "valid" in listed_commands(text) and "validate" not in listed_commands(text)


def test_make_demo_ends_with_the_command_that_runs_nexusctl():
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as handle:
        makefile = handle.read()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0].splitlines()
    assert demo[-2].strip() == '@echo "Next, nexusctl (in .venv/bin, not on your PATH): $(BIN)/nexusctl status"'
    assert demo[-1].strip() == '@echo "  or put it on PATH for this shell: source $(BIN)/activate; nexusctl --help"'
