"""One lock rule for every place that takes or breaks the deployment lock:
the deploy_lock module (phase4 and activation plays), the on-host rollback
command (rollback-<stamp>.sh) and the break of `nexusctl unlock`
(playbooks/unlock.yml). For each lock file a host can hold, they must take
the same decision, say the same thing and audit the same record."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time

import jinja2
import pytest
import yaml

from ansible_collections.nexus_cos.launch.nexusctl import cmd_status
from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, deploy_lock
from ansible_collections.nexus_cos.launch.plugins.modules import activation_info
from ansible_collections.nexus_cos.launch.plugins.modules import deploy_lock as lock_module
from ansible_collections.nexus_cos.launch.tests.unit.utils import platform_leftovers
from ansible_collections.nexus_cos.launch.tests.unit.utils.activation_facts import status_facts
from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import run_module
from ansible_collections.nexus_cos.launch.tests.unit.utils.processes import dead_pid, started
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import CONFIG_FIXTURES, ROOT
from ansible_collections.nexus_cos.launch.tests.unit.utils.snapshot_host import Host, cli

FIXTURE = os.path.join(CONFIG_FIXTURES, "valid")

pytestmark = pytest.mark.usefixtures("module_exits")

RUN = "20260116T000000Z-abcdef"     # the run id snapshot_host.cli gives the rollback command
LEASE = 1800


@pytest.fixture(scope="module")
def live_pid():
    proc = started(["sleep", "300"])
    yield proc.pid
    proc.kill()
    proc.wait()


def lock_files(live):
    """name -> (content, decision) for every kind of lock file."""
    now = time.time()
    elsewhere = {"run_id": "20260115T090000Z-0a0b0c", "user": "alice", "controller": "laptop.example",
                 "pid": 4242, "since": now - 60, "expires": now + 1740}
    return {
        "platform script, process gone": ("%d\n" % dead_pid(), "take over"),
        "platform script, running": ("%d\n" % live, "refuse"),
        "run elsewhere, lease ended": (json.dumps(dict(elsewhere, since=now - 3600, expires=now - 1800)), "take over"),
        "run on this host, process gone": (json.dumps(dict(elsewhere, controller=socket.gethostname(),
                                                           pid=dead_pid())), "take over"),
        "run elsewhere, within its lease": (json.dumps(elsewhere), "refuse"),
        "empty file": ("", "refuse"),
        "garbage": ("\x00\x01not a lock\n", "refuse"),
    }


CASES = ["platform script, process gone", "platform script, running", "run elsewhere, lease ended",
         "run on this host, process gone", "run elsewhere, within its lease", "empty file", "garbage"]


def plant(path, content, mtime=None):
    """Write a lock file; ``mtime`` gives a replanted file the first one's
    time, which the refusal names to the second."""
    with open(path, "w") as handle:
        handle.write(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return os.stat(path).st_mtime


def without_age(text):
    """The refusal names how long ago the lock was written; two callers a
    second apart differ only there."""
    return re.sub(r"\(\d+s ago\)", "(Ns ago)", text)


def lock_records(audit_dir):
    """(event, fields without the caller's own pid/timestamp) of the lock records."""
    out = []
    for entry in audit_log.read_trail(audit_dir)[0]:
        if entry.record.event.startswith("LOCK_") and entry.record.event not in ("LOCK_ACQUIRED", "LOCK_RELEASED"):
            out.append((entry.record.event, entry.record.fields))
    return out


def module_acquire(path, audit_dir):
    return run_module(lock_module.main, {
        "path": path, "run_id": RUN, "lease_seconds": LEASE, "audit_dir": audit_dir,
        "audit_file": "deployment-20260116T000000Z.log",
        "holder": {"user": "bob", "controller": "controller.example", "pid": os.getpid()}})


@pytest.mark.parametrize("case", CASES)
def test_module_and_rollback_script_decide_and_say_the_same(case, tmp_path, live_pid, capsys):
    content, decision = lock_files(live_pid)[case]
    lock = str(tmp_path / "deploy.lock")

    written = plant(lock, content)
    outcome = module_acquire(lock, str(tmp_path / "module-audit"))

    host = Host(tmp_path / "host")
    host.take()
    host.activate()
    plant(lock, content, written)
    capsys.readouterr()
    rc = cli(host, "--lock", lock)
    captured = capsys.readouterr()

    if decision == "refuse":
        assert outcome.failed and outcome.result["lock"] == "refused"
        assert rc == 1
        assert without_age(captured.err) == "rollback: %s\n" % without_age(outcome.result["msg"])
        assert "nexusctl unlock --reason TEXT" in outcome.result["msg"]
        with open(lock) as handle:
            assert handle.read() == content      # a live holder's lock is left exactly as it was
    else:
        assert not outcome.failed and outcome.result["lock"] == "recovered"
        assert rc == 0, captured.err
        assert "deployment lock: took over from %s: %s" % (
            outcome.result["holder_text"], outcome.result["previous_holder"]["reason"]) in captured.out
        assert not os.path.exists(lock)           # the rollback released what it took over
    module_records = lock_records(str(tmp_path / "module-audit"))
    script_records = lock_records(host.audit_dir)
    assert module_records == script_records
    assert [event for event, dummy in module_records] == ["LOCK_REFUSED" if decision == "refuse"
                                                          else "LOCK_STALE_RECOVERED"]


def test_the_takeover_of_the_platform_lock_names_the_platform_script(tmp_path):
    lock = str(tmp_path / "deploy.lock")
    pid = dead_pid()
    plant(lock, "%d\n" % pid)
    result = module_acquire(lock, str(tmp_path / "audit")).result
    assert result["holder_text"] == ("the platform's deploy script (deploy-phase-4-full-launch.sh; bare pid %d in "
                                     "the lock, process %d not running)" % (pid, pid))
    record = [e.record for e in audit_log.read_trail(str(tmp_path / "audit"))[0]][0]
    assert record.event == "LOCK_STALE_RECOVERED"
    assert record.fields == {"holder": "platform-deploy-script", "previous_pid": str(pid),
                             "reason": "process %d of the platform's deploy script is not running" % pid}


@pytest.mark.parametrize("case", CASES)
def test_unlock_breaks_any_lock_naming_its_holder(case, tmp_path, live_pid):
    content, decision = lock_files(live_pid)[case]
    lock = str(tmp_path / "deploy.lock")
    plant(lock, content)
    holder = deploy_lock.read_holder(lock)
    result = run_module(lock_module.main, {
        "path": lock, "state": "broken", "reason": "operator checked", "run_id": RUN,
        "audit_dir": str(tmp_path / "audit"), "audit_file": "deployment-20260116T000000Z.log"}).result
    assert result["lock"] == "broken" and not os.path.exists(lock)
    assert result["holder_text"] == deploy_lock.describe_holder(holder)
    (event, fields), = lock_records(str(tmp_path / "audit"))
    assert event == "LOCK_BROKEN" and fields["holder"] == holder["kind"] and fields["reason"] == "operator checked"
    # The break says whether the holder was dead by the same rule that takes a lock over.
    assert fields["holder_state"] == ("dead" if decision == "take over" else "may-be-running")


@pytest.mark.parametrize("case", ["platform script, process gone", "empty file", "run elsewhere, within its lease"])
def test_unlock_playbook_says_whose_lock_it_broke(case, tmp_path, live_pid):
    """The message playbooks/unlock.yml prints, rendered from the module's
    result: a platform or unrecognised holder has no run id to print."""
    content, dummy = lock_files(live_pid)[case]
    lock = str(tmp_path / "deploy.lock")
    plant(lock, content)
    result = run_module(lock_module.main, {"path": lock, "state": "broken", "reason": "checked"}).result
    with open(os.path.join(ROOT, "playbooks", "unlock.yml")) as handle:
        play, = yaml.safe_load(handle)
    task, = [t for t in play["tasks"] if t["name"] == "Say whose lock it was"]
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    said = env.from_string(task["ansible.builtin.debug"]["msg"]).render(nexus_unlock=result)
    assert said == "broke the lock of " + deploy_lock.describe_holder(result["previous_holder"])


def test_status_names_the_platform_scripts_lock(tmp_path):
    """nexusctl status shows the holder in the same words as the refusal."""
    lock = str(tmp_path / "deploy.lock")
    pid = dead_pid()
    plant(lock, "%d\n" % pid)
    holder = deploy_lock.read_holder(lock)
    state = dict(status_facts(), lock={"holder": holder, "text": deploy_lock.describe_holder(holder),
                                       "gone_reason": deploy_lock.gone_reason(holder, time.time())})
    row, = [line for line in cmd_status.render("vps1", state).splitlines() if "deployment lock" in line]
    assert row == ("  deployment lock    held by the platform's deploy script (deploy-phase-4-full-launch.sh; bare pid "
                   "%d in the lock, process %d not running), holder gone: process %d of the platform's deploy script "
                   "is not running" % (pid, pid, pid))


def test_state_query_reports_the_platform_lock_and_no_platform_run(tmp_path):
    """What nexusctl status reads (activation_info): the holder in
    words, and only this collection's runs, with the platform's logs beside them."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, str(repo))
    audit = str(tmp_path / "audit")
    platform_leftovers.lay_down(audit)
    audit_log.AuditLog(audit, "20261128T090000Z-prep01", "deployment-20261128T090000Z.log").records(
        [("DEPLOYMENT_START", {"playbook": "phase4"}), ("DEPLOYMENT_COMPLETE", {"status": "success"})])
    lock = str(tmp_path / "deploy.lock")
    pid = dead_pid()
    plant(lock, "%d\n" % pid)
    facts = run_module(activation_info.main, {
        "audit_dir": audit, "flag_store": str(repo / "config" / "feature-flags.json"), "pf_dir": str(repo / "pfs"),
        "lock_path": lock}).result
    assert facts["lock"]["text"] == deploy_lock.describe_holder(deploy_lock.read_holder(lock))
    assert facts["lock"]["gone_reason"] == "process %d of the platform's deploy script is not running" % pid
    assert [run["file"] for run in facts["runs"]] == ["deployment-20261128T090000Z.log"]


@pytest.mark.parametrize("replaced_by, found", [(None, "absent"), ("4711\n", "platform-deploy-script")])
def test_the_release_of_a_lock_another_tool_took_says_so_and_audits_it(tmp_path, replaced_by, found):
    """deploy_finish releases only a lock its run took: finding none, or
    another holder's, means another tool removed or replaced it meanwhile."""
    lock = str(tmp_path / "deploy.lock")
    audit = str(tmp_path / "audit")
    assert not module_acquire(lock, audit).failed
    os.unlink(lock)
    if replaced_by:
        plant(lock, replaced_by)
    outcome = run_module(lock_module.main, {"path": lock, "state": "released", "run_id": RUN, "audit_dir": audit,
                                            "audit_file": "deployment-20260116T000000Z.log"})
    assert not outcome.failed and outcome.result["lock"] == "lost"
    verb = "replaced" if replaced_by else "removed"
    assert outcome.result["lock_lost"].startswith("run %s does not hold the deployment lock %s: another tool %s the "
                                                  "deployment lock during this run" % (RUN, lock, verb))
    (event, fields), = lock_records(audit)
    assert event == "LOCK_LOST" and fields["found"] == found
    assert os.path.exists(lock) == bool(replaced_by)      # another holder's lock is left in place
