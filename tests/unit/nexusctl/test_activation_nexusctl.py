"""nexusctl marketplace / launch / rollback / status: arguments to extra vars,
approver secrets (never on a command line, a 0600 file for the length of
the run), and the status table. No playbook runs here."""

from __future__ import annotations

import json
import os
import re
import stat
import time

import pytest

from ansible_collections.nexus_cos.launch.nexusctl import __main__ as nexusctl_main
from ansible_collections.nexus_cos.launch.nexusctl import cmd_launch, cmd_marketplace, cmd_rollback, cmd_status
from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import runner_environment
from ansible_collections.nexus_cos.launch.plugins.module_utils import utc_time
from ansible_collections.nexus_cos.launch.tests.unit.utils.activation_facts import status_facts


def parse(*argv):
    return nexusctl_main.parse(list(argv))[1]


def test_marketplace_enable_vars():
    args = parse("marketplace", "enable", "--phase", "3", "--step", "2", "--force-reason", " early ")
    assert cmd_marketplace.step_vars(args) == {"marketplace_step_phase": 3, "marketplace_step_number": 2,
                                               "activation_force_reason": "early"}
    assert parse("marketplace", "enable", "--phase", "3", "--step", "1").check is False


@pytest.mark.parametrize("argv", [["--phase", "2", "--step", "1"], ["--phase", "3", "--step", "5"], ["--step", "1"]])
def test_marketplace_enable_usage_errors(argv):
    with pytest.raises(SystemExit) as exc:
        parse("marketplace", "enable", *argv)
    assert exc.value.code == 2


def test_blank_force_reason_is_a_usage_error(capsys):
    args = parse("marketplace", "enable", "--phase", "3", "--step", "2", "--force-reason", "  ")
    assert args.func(args) == 2
    assert "--force-reason is empty" in capsys.readouterr().err


def test_launch_without_confirm_is_refused_before_asking_anything(monkeypatch, capsys):
    monkeypatch.setattr(cmd_launch, "read_secrets", lambda *a: pytest.fail("asked for secrets"))
    args = parse("launch", "--mode", "global", "--approver", "alice")
    assert args.func(args) == 1
    assert capsys.readouterr().err == "nexusctl launch: %s\n" % cmd_launch.CONFIRM_REFUSAL


def test_launch_vars_carry_names_only():
    args = parse("launch", "--mode", "soft", "--confirm", "--approver", "alice", "--approver", "bob",
                 "--waive", "security_audit=external audit booked", "--waive", "support_readiness = rota ")
    extra, names = cmd_launch.launch_vars(args)
    assert names == ["alice", "bob"]
    assert extra == {"nexus_launch_confirm": True, "launch_global_mode": "soft",
                     "nexus_launch_approvals": [{"name": "alice"}, {"name": "bob"}],
                     "launch_waivers": {"security_audit": "external audit booked", "support_readiness": "rota"}}


@pytest.mark.parametrize("argv, message", [
    (["--approver", "alice", "--approver", "alice"], "given twice"),
    (["--waive", "security_audit"], "expected GATE=REASON"),
    (["--waive", "security_audit= "], "expected GATE=REASON"),
])
def test_launch_usage_errors(argv, message):
    args = parse("launch", "--mode", "global", "--confirm", *argv)
    with pytest.raises(ValueError, match=message):
        cmd_launch.launch_vars(args)


def test_secrets_from_environment_or_prompt():
    env = {"NEXUS_APPROVER_ALICE_SECRET": "a-secret"}
    asked = []
    secrets = cmd_launch.read_secrets(["alice", "bob"], env, ask=lambda p: asked.append(p) or "b-secret",
                                      interactive=True)
    assert secrets == {"alice": "a-secret", "bob": "b-secret"}
    assert asked == ["secret of approver bob: "]
    with pytest.raises(ValueError, match="set NEXUS_APPROVER_BOB_SECRET, or run on a terminal"):
        cmd_launch.read_secrets(["bob"], {}, interactive=False)


def test_secrets_file_is_private_and_gone_after_the_run():
    env = {"NEXUS_APPROVER_ALICE_SECRET": "a-secret", "PATH": "/bin"}
    with cmd_launch.secrets_file({"alice": "a-secret"}, "20261201T100000Z-a1b2c3", env) as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert env["NEXUS_LAUNCH_APPROVALS_FILE"] == path
        # Bound to the run it approves: its id, when, and a nonce the gate accepts once.
        document = json.loads(open(path).read())
        assert document["secrets"] == {"alice": "a-secret"} and document["run_id"] == "20261201T100000Z-a1b2c3"
        assert re.match(r"^[0-9a-f]{32}$", document["nonce"])
        assert abs(utc_time.parse_iso(document["issued_at"]).timestamp() - time.time()) < 5
        # The run's environment names the file and holds no secret.
        run_env = runner_environment(env)
        assert run_env["NEXUS_LAUNCH_APPROVALS_FILE"] == path and "a-secret" not in run_env.values()
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))
    assert env == {"NEXUS_APPROVER_ALICE_SECRET": "a-secret", "PATH": "/bin"}


def test_rollback_plans():
    assert cmd_rollback.rollback_plan(parse("rollback")) == ("rollback.yml", {"rollback_force": False})
    assert cmd_rollback.rollback_plan(parse("rollback", "20261128T103000Z", "--force")) == (
        "rollback.yml", {"rollback_force": True, "rollback_run": "20261128T103000Z"})
    assert cmd_rollback.rollback_plan(parse("rollback", "--emergency", "--reason", "fraud")) == (
        "emergency.yml", {"emergency_switch_break_lock": True, "emergency_switch_reason": "fraud"})
    assert cmd_rollback.rollback_plan(parse("rollback", "--emergency", "--keep-lock"))[1] == {
        "emergency_switch_break_lock": False}
    for argv in (["RUN", "--emergency"], ["--force", "--emergency"], ["--reason", "x"]):
        with pytest.raises(ValueError):
            cmd_rollback.rollback_plan(parse("rollback", *argv))


def test_status_table():
    text = cmd_status.render("vps1", status_facts())
    assert text.splitlines()[:6] == [
        "vps1",
        "  access mode        founder_beta",
        "  marketplace        phase 3 (step 1 of 4, applied 2026-11-28 10:30 UTC)",
        "  next gate          step 2: opens 2026-12-05 10:30 UTC",
        "  launch             not launched",
        "  deployment lock    free"]
    assert "    MARKETPLACE_PHASE3_ENABLED         on" in text
    assert "    2026-11-28 10:30 UTC activation marketplace success    r1" in text


def test_marketplace_status_shows_the_marketplace_only():
    text = cmd_status.render("vps1", status_facts(), sections=("marketplace",))
    assert "access mode" not in text and "FOUNDER_BETA_MODE" not in text
    assert "MARKETPLACE_PHASE2_ENABLED" in text


def test_progress_prints_a_tasks_diff():
    import io
    from ansible_collections.nexus_cos.launch.nexusctl.playbook_run import Progress
    out = io.StringIO()
    Progress(stream=out)({"event": "runner_on_ok", "event_data": {
        "host": "vps1", "task": "Enable", "res": {"changed": True, "diff": [
            {"before": '"enabled": false\n', "after": '"enabled": true\n',
             "before_header": "feature-flags.json (before)", "after_header": "feature-flags.json (after)"}]}}})
    text = out.getvalue()
    assert "-\"enabled\": false" in text and "+\"enabled\": true" in text
    assert "feature-flags.json (before)" in text


def test_launch_gives_the_run_the_id_its_approvals_name(monkeypatch):
    seen = {}
    monkeypatch.setattr(cmd_launch, "read_secrets", lambda names: {"alice": "a-secret"})

    def run_playbook(playbook, args, extravars, **kw):
        with open(os.environ["NEXUS_LAUNCH_APPROVALS_FILE"]) as handle:
            seen.update(extravars=extravars, document=json.load(handle))
        return 0

    monkeypatch.setattr(cmd_launch, "run_playbook", run_playbook)
    assert nexusctl_main.main(["launch", "--mode", "soft", "--confirm", "--approver", "alice"]) == 0
    assert re.match(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$", seen["extravars"]["nexus_run_id"])
    assert seen["document"]["run_id"] == seen["extravars"]["nexus_run_id"]
    assert "a-secret" not in json.dumps(seen["extravars"])
