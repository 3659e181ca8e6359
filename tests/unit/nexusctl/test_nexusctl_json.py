# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""nexusctl --json: for every command, exactly one JSON document on stdout
({command, exit_code, ok, result}), every message for a person on stderr,
and the exit code the command has without --json."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import yaml

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.nexusctl import cmd_status, playbook_run, version
from ansible_collections.nexus_cos.launch.plugins.module_utils.audit_log import AuditLog
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths
from ansible_collections.nexus_cos.launch.tests.unit.utils.activation_facts import status_facts

KEYS = ["command", "exit_code", "ok", "result"]


@pytest.fixture
def trail(tmp_path):
    audit_dir = tmp_path / "audit"
    log = AuditLog(str(audit_dir), "20260115T103045Z-aaaaaa", "deployment-20260115T103045Z.log", clock=lambda: 1768473045)
    log.record("DEPLOYMENT_START", user="ops")
    log.record("PRECHECK_DISK", status="FAIL", msg="only 2 GB free\n[AUDIT] fake \x1b[31m")
    log.record("DEPLOYMENT_COMPLETE", duration=12, status="failed")
    return audit_dir


class Refused(object):
    """A run whose precheck failed on vps1."""
    rc, status = 2, "failed"
    stats = {"ok": {"vps1": 4}, "failures": {"vps1": 1}, "dark": {}, "changed": {}, "skipped": {}, "processed": {"vps1": 1}}
    events = []


def fake_run(prefix, **kwargs):
    kwargs["event_handler"]({"event": "runner_on_failed", "event_data": {
        "host": "vps1", "task": "Run the prechecks", "res": {"msg": "precheck 03 services failed"}}})
    return Refused, "/state/artifacts/runner/nexusctl-x"


def one_document(out):
    """The one JSON document of ``out``; fails on anything else there."""
    document, end = json.JSONDecoder().raw_decode(out)
    assert out[end:].strip() == "", "stdout holds more than one document: %r" % out[end:]
    assert sorted(document) == KEYS
    return document


@pytest.fixture
def inventory(tmp_path):
    path = tmp_path / "hosts.ini"
    path.write_text("[nexus_vps]\nvps1\n")
    return str(path)


RUNS = [
    (["deploy"], "deploy", "phase4.yml"),
    (["precheck", "--skip", "disk"], "precheck", "phase4.yml"),
    (["unlock", "--reason", "dead run"], "unlock", "unlock.yml"),
    (["marketplace", "enable", "--phase", "3", "--step", "1"], "marketplace enable", "marketplace.yml"),
    (["launch", "--mode", "soft", "--confirm"], "launch", "launch.yml"),
    (["guard", "--minutes", "1"], "guard", "guard.yml"),
    (["rollback", "--emergency"], "rollback", "emergency.yml"),
    (["audit", "verify"], "audit verify", "audit_verify.yml"),
    (["audit", "tail", "-n", "3"], "audit tail", "audit_tail.yml"),
]


@pytest.mark.parametrize("argv, command, playbook", RUNS)
@pytest.mark.parametrize("where", ["before", "after"])
def test_a_run_prints_its_summary_as_one_document(monkeypatch, capsys, inventory, argv, command, playbook, where):
    monkeypatch.setattr(playbook_run, "run_ansible_runner", fake_run)
    assert nexusctl_main.main(["-i", inventory] + argv) == 1
    plain = capsys.readouterr()
    assert "precheck 03 services failed" in plain.out
    argv = ["--json"] + argv if where == "before" else argv + ["--json"]
    assert nexusctl_main.main(["-i", inventory] + argv) == 1
    captured = capsys.readouterr()
    document = one_document(captured.out)
    assert (document["command"], document["exit_code"], document["ok"]) == (command, 1, False)
    result = document["result"]
    assert (result["playbook"], result["status"], result["rc"], result["stats"]["failures"]) == (
        playbook, "failed", 2, {"vps1": 1})
    assert result["failures"] == [{"host": "vps1", "task": "Run the prechecks", "msg": "precheck 03 services failed"}]
    # The progress lines went to stderr.
    assert "FAILED      vps1" in captured.err and "precheck 03 services failed" in captured.err


@pytest.mark.parametrize("argv, command", [(["status"], "status"), (["marketplace", "status"], "marketplace status")])
def test_status_prints_the_hosts_summaries(monkeypatch, capsys, inventory, argv, command):
    monkeypatch.setattr(cmd_status, "query", lambda args: ({"vps1": status_facts()}, 0))
    assert nexusctl_main.main(["--json", "-i", inventory] + argv) == 0
    captured = capsys.readouterr()
    document = one_document(captured.out)
    assert (document["command"], document["exit_code"], document["ok"]) == (command, 0, True)
    assert document["result"]["vps1"]["access_mode"] == "founder_beta"
    assert captured.err == ""


def test_validate_prints_its_report(tmp_path, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(os.path.join(repo_paths.CONFIG_FIXTURES, "valid"), repo)
    assert nexusctl_main.main(["validate", "--repo-dir", str(repo), "--json"]) == 0
    captured = capsys.readouterr()
    document = one_document(captured.out)
    assert document["result"]["repo_dir"] == str(repo) and document["result"]["errors"] == []
    assert "configuration valid" in captured.err


def test_audit_verify_dir_prints_its_check(trail, capsys):
    assert nexusctl_main.main(["--json", "audit", "verify", "--dir", str(trail)]) == 0
    document = one_document(capsys.readouterr().out)
    assert (document["command"], document["result"]["ok"], document["result"]["records"]) == ("audit verify", True, 3)


def test_audit_tail_dir_prints_the_records(trail, capsys):
    assert nexusctl_main.main(["--json", "audit", "tail", "--dir", str(trail), "-n", "2"]) == 0
    captured = capsys.readouterr()
    records = one_document(captured.out)["result"]["records"]
    assert [(r["seq"], r["event"]) for r in records] == [(2, "PRECHECK_DISK"), (3, "DEPLOYMENT_COMPLETE")]
    assert records[0]["fields"]["msg"] == "only 2 GB free\n[AUDIT] fake \x1b[31m"
    assert "PRECHECK_DISK" in captured.err


def test_a_usage_error_is_one_document_with_no_result(capsys):
    assert nexusctl_main.main(["--json", "-i", "inv1", "audit", "verify", "--dir", "D"]) == 2
    captured = capsys.readouterr()
    assert one_document(captured.out) == {"command": "audit verify", "exit_code": 2, "ok": False, "result": None}
    assert "not both" in captured.err


def test_version_reads_galaxy_yml_of_a_checkout(capsys):
    with pytest.raises(SystemExit) as exc:
        nexusctl_main.main(["--version"])
    assert exc.value.code == 0
    from ansible.release import __version__
    with open(os.path.join(playbook_run.ROOT, "galaxy.yml")) as handle:
        release = yaml.safe_load(handle)["version"]
    assert capsys.readouterr().out == "nexusctl (nexus_cos.launch) %s\nansible-core %s\n" % (release, __version__)


def test_version_of_an_installed_collection_reads_its_manifest(tmp_path):
    (tmp_path / "MANIFEST.json").write_text('{"collection_info": {"version": "9.8.7"}}')
    assert version.collection_version(str(tmp_path)) == "9.8.7"
    (tmp_path / "MANIFEST.json").write_text('{"collection_info": {}}')
    assert version.collection_version(str(tmp_path)) == "unknown (%s has no version)" % (tmp_path / "MANIFEST.json")
