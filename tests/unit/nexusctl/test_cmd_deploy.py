"""nexusctl precheck's help counts and names the checks from the registry."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks import framework


def test_precheck_help_counts_and_names_the_registered_checks(monkeypatch, capsys):
    monkeypatch.setitem(framework.REGISTRY, "toy", type("Toy", (), {"number": len(framework.REGISTRY) + 1}))
    parser = nexusctl_main.build_parser()
    assert "only the %d prechecks" % len(framework.REGISTRY) in parser.format_help()
    precheck = parser._subparsers._group_actions[0].choices["precheck"]  # pylint: disable=protected-access
    skip = [a for a in precheck._actions if "--skip" in a.option_strings][0]  # pylint: disable=protected-access
    assert skip.help.endswith(": " + ", ".join(framework.registered_names()))
    assert skip.help.endswith(", toy")
