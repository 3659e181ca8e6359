# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""A run that reached no host (an empty inventory, an empty group, a -l
that matches nothing) is a usage error (exit 2) naming the target and the
inventory, for every subcommand that runs a playbook: ansible-playbook
itself ends it with rc 0."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.nexusctl import cmd_status, playbook_run

# What ansible-runner reports when every play skipped: no hosts matched.
EMPTY_STATS = {"skipped": {}, "ok": {}, "dark": {}, "failures": {}, "ignored": {}, "rescued": {}, "processed": {},
               "changed": {}}


class NoHosts(object):
    rc, status, stats = 0, "successful", EMPTY_STATS
    events = [{"event": "playbook_on_play_start"}, {"event": "playbook_on_no_hosts_matched"},
              {"event": "playbook_on_stats"}]


class NoTaskTagged(NoHosts):
    """--tags that select no task: the recap is empty, but the hosts matched."""
    events = [{"event": "playbook_on_play_start"}, {"event": "playbook_on_stats"}]


class OneHost(object):
    rc, status = 0, "successful"
    stats = dict(EMPTY_STATS, ok={"vps1": 3}, processed={"vps1": 1})


@pytest.fixture
def inventory(tmp_path):
    path = tmp_path / "hosts.ini"
    path.write_text("[nexus_vps]\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("argv, playbook", [
    (["deploy"], "phase4.yml"),
    (["rollback", "--emergency"], "emergency.yml"),
    (["rollback", "20260115T103045Z"], "rollback.yml"),
    (["marketplace", "enable", "--phase", "3", "--step", "1"], "marketplace.yml"),
    (["guard", "--minutes", "1"], "guard.yml"),
    (["audit", "verify"], "audit_verify.yml"),
])
def test_no_hosts_matched_exits_2_naming_the_target_and_inventory(monkeypatch, capsys, inventory, argv, playbook):
    monkeypatch.setattr(playbook_run, "run_ansible_runner", lambda prefix, **kw: (NoHosts, "p"))
    assert nexusctl_main.main(["-i", inventory] + argv) == 2
    target = "the hosts of rollback_hosts (default group nexus_vps)" if playbook == "rollback.yml" \
        else "group nexus_vps"
    assert capsys.readouterr().err.splitlines()[-1] == (
        "nexusctl: no hosts matched: playbooks/%s runs on %s, and inventory %s has none; nothing ran. Expected at "
        "least one host: check the inventory" % (playbook, target, inventory))


def test_a_limit_that_matches_nothing_is_named(monkeypatch, capsys, inventory):
    monkeypatch.setattr(playbook_run, "run_ansible_runner", lambda prefix, **kw: (NoHosts, "p"))
    assert nexusctl_main.main(["-i", inventory, "-l", "web9", "deploy"]) == 2
    assert "playbooks/phase4.yml runs on group nexus_vps limited to 'web9' (-l), and inventory" \
        in capsys.readouterr().err


def test_status_with_no_hosts_is_a_usage_error(monkeypatch, capsys, inventory):
    monkeypatch.setattr(cmd_status, "run_ansible_runner", lambda prefix, **kw: (NoHosts, "p"))
    assert nexusctl_main.main(["-i", inventory, "status"]) == 2
    assert "no hosts matched: playbooks/status.yml" in capsys.readouterr().err


@pytest.mark.parametrize("result", [OneHost, NoTaskTagged])
def test_a_run_that_matched_its_hosts_is_judged_as_before(monkeypatch, inventory, result):
    monkeypatch.setattr(playbook_run, "run_ansible_runner", lambda prefix, **kw: (result, "p"))
    assert nexusctl_main.main(["-i", inventory, "deploy"]) == 0
