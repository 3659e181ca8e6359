"""The snapshot and restore_snapshot modules, and the snapshot action
plugin, run in-process with patched module arguments."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, deploy_lock, snapshot, trusted_path
from ansible_collections.nexus_cos.launch.plugins.modules import restore_snapshot as restore_module
from ansible_collections.nexus_cos.launch.plugins.modules import snapshot as snapshot_module
from ansible_collections.nexus_cos.launch.plugins.modules import snapshot_after as after_module

from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import run_module

STAMP = "20260115T103045Z"
RUN_ID = STAMP + "-1a2b3c"
FLAGS = {"version": "1", "updated": "2026-01-01T00:00:00Z", "feature_flags": {
    "FOUNDER_BETA_MODE": {"enabled": True, "requires": []},
    "PUBLIC_FULL_LAUNCH_MODE": {"enabled": False, "requires": []}}}


pytestmark = pytest.mark.usefixtures("module_exits")


def run(module, args, check=False, diff=False):
    return run_module(module.main, dict(args, _ansible_check_mode=check, _ansible_diff=diff))


@pytest.fixture
def host(tmp_path):
    repo = tmp_path / "repo"
    (repo / "config").mkdir(parents=True)
    (repo / "pfs").mkdir()
    flag_store = str(repo / "config" / "feature-flags.json")
    pf = str(repo / "pfs" / "global-launch.yaml")
    with open(flag_store, "w") as handle:
        handle.write(json.dumps(FLAGS, indent=2) + "\n")
    with open(pf, "w") as handle:
        handle.write("launch:\n  mode: founder_beta\n")
    return {"tmp": tmp_path, "flag_store": flag_store, "pf": pf, "files": [flag_store, pf],
            "backup_dir": str(tmp_path / "backups"), "audit_dir": str(tmp_path / "audit"),
            "snapshot_dir": str(tmp_path / "backups" / STAMP)}


def snapshot_args(host, **extra):
    args = {"files": host["files"], "backup_dir": host["backup_dir"], "stamp": STAMP, "run_id": RUN_ID,
            "gateway_url": "http://localhost:4000", "scripts": True, "pf_dir": str(host["tmp"]),
            "lock_path": str(host["tmp"] / "deploy.lock"), "host_name": "vps-1",
            "rollback_playbook": "---\n- import_playbook: nexus_cos.launch.rollback\n",
            "runtime_files": {"lib.py": "pass\n"}, "audit_dir": host["audit_dir"],
            "audit_file": "deployment-%s.log" % STAMP}
    args.update(extra)
    return args


def activate(host):
    with open(host["flag_store"], "w") as handle:
        handle.write(json.dumps(dict(FLAGS, feature_flags=dict(
            FLAGS["feature_flags"], PUBLIC_FULL_LAUNCH_MODE={"enabled": True, "requires": []})), indent=2) + "\n")


# ---------------------------------------------------------------- snapshot

def test_snapshot_module_writes_snapshot_script_playbook_and_records(host):
    out = run(snapshot_module, snapshot_args(host))
    result = out.result
    assert not out.failed and result["changed"] is True   # a write is a change; the plays say changed_when: false
    assert result["snapshot_dir"] == host["snapshot_dir"]
    assert result["gateway"] == {"access_mode": "founder_beta", "marketplace_phase": 0, "jurisdiction": False,
                                 "flags": 2}
    script = os.path.join(host["audit_dir"], "nexus-rollback-%s.sh" % STAMP)
    playbook = os.path.join(host["audit_dir"], "rollback-%s.yml" % STAMP)
    emergency_script = os.path.join(host["audit_dir"], "nexus-emergency-%s.sh" % STAMP)
    assert result["rollback_script"] == script and result["rollback_playbook"] == playbook
    assert result["emergency_script"] == emergency_script
    assert os.stat(script).st_mode & 0o777 == 0o750 and os.stat(playbook).st_mode & 0o777 == 0o640
    assert os.stat(emergency_script).st_mode & 0o777 == 0o750
    assert "python3 -m" not in open(script).read() and "emergency pull" in open(emergency_script).read()
    assert open(os.path.join(host["snapshot_dir"], "lib", "lib.py")).read() == "pass\n"
    entries, dummy = audit_log.read_trail(host["audit_dir"])
    assert [e.record.event for e in entries] == ["SNAPSHOT_CREATED", "ROLLBACK_SCRIPT_GENERATED"]
    created = entries[0].record.fields
    assert created["manifest_sha256"] == result["manifest_sha256"] == snapshot.manifest_sha256(host["snapshot_dir"])
    assert created["files"] == "2" and created["dir"] == host["snapshot_dir"]
    manifest = snapshot.load(host["snapshot_dir"])
    assert entries[1].record.fields == {"script": script, "emergency_script": emergency_script, "playbook": playbook,
                                        "lib_sha256": trusted_path.lib_digest(manifest["lib"])}
    assert set(manifest["lib"]) >= {"lib.py"}   # what the scripts may run, each file hashed
    assert result["audit_head"]["seq"] == 2


def test_snapshot_module_again_keeps_the_snapshot_and_files(host):
    run(snapshot_module, snapshot_args(host))
    script = os.path.join(host["audit_dir"], "nexus-rollback-%s.sh" % STAMP)
    inode = os.stat(script).st_ino
    activate(host)
    second = run(snapshot_module, snapshot_args(host)).result
    assert second["changed"] is False and second["gateway"]["access_mode"] == "founder_beta"
    assert os.stat(script).st_ino == inode


def test_snapshot_module_check_mode_writes_nothing(host):
    out = run(snapshot_module, snapshot_args(host), check=True)
    assert not out.failed and out.result["gateway"]["access_mode"] == "founder_beta"
    assert not os.path.exists(host["backup_dir"]) and not os.path.exists(host["audit_dir"])


def test_snapshot_module_stamp_from_run_id(host):
    args = snapshot_args(host)
    del args["stamp"]
    assert run(snapshot_module, args).result["snapshot_dir"] == host["snapshot_dir"]


def test_snapshot_module_failure_names_the_problem(host):
    out = run(snapshot_module, snapshot_args(host, files=["relative/path"]))
    assert out.failed and "not an absolute path" in out.result["msg"]
    out = run(snapshot_module, snapshot_args(host, stamp="yesterday"))
    assert out.failed and "expected a UTC stamp" in out.result["msg"]


def test_snapshot_module_takes_no_record_after_and_asks_no_gateway(host):
    """One job: leaving a rollback. after.json is snapshot_after's, the
    gateway's answer gateway_verify's."""
    for option in ("record", "confirm_gateway"):
        out = run(snapshot_module, snapshot_args(host, **{option: True}))
        assert out.failed and "Unsupported parameters" in out.result["msg"] and option in out.result["msg"]


def after_args(host, **extra):
    args = {"snapshot": host["snapshot_dir"], "run_id": RUN_ID, "audit_dir": host["audit_dir"],
            "audit_file": "activation-%s.log" % STAMP}
    args.update(extra)
    return args


def test_snapshot_after_records_the_files_as_they_are(host):
    run(snapshot_module, snapshot_args(host))
    activate(host)
    out = run(after_module, after_args(host))
    assert not out.failed and out.result["changed"] is True
    assert out.result["changed_files"] == [host["flag_store"]]
    assert os.path.exists(os.path.join(host["snapshot_dir"], snapshot.AFTER_FILE))
    last = audit_log.read_trail(host["audit_dir"])[0][-1].record
    assert last.event == "SNAPSHOT_AFTER_RECORDED" and last.fields["changed_files"] == host["flag_store"]
    assert last.fields["predicted"] == "False"


def test_snapshot_after_records_a_prediction_before_the_write(host):
    run(snapshot_module, snapshot_args(host))
    predicted = {host["flag_store"]: "ab" * 32}
    out = run(after_module, after_args(host, predicted=predicted))
    assert not out.failed and out.result["changed_files"] == [host["flag_store"]]
    document = json.load(open(os.path.join(host["snapshot_dir"], snapshot.AFTER_FILE)))
    assert document["predicted"] is True and document["run_id"] == RUN_ID
    assert dict((f["path"], f["sha256"]) for f in document["files"]) == {
        host["flag_store"]: "ab" * 32, host["pf"]: snapshot.current_state(host["pf"])["sha256"]}


def test_snapshot_after_refuses_a_file_outside_the_snapshot_and_without_the_lock(host):
    run(snapshot_module, snapshot_args(host))
    out = run(after_module, after_args(host, predicted={"/etc/passwd": "00" * 32}))
    assert out.failed and "/etc/passwd: not in snapshot" in out.result["msg"]
    assert "a change may only touch files its snapshot holds" in out.result["msg"]
    out = run(after_module, after_args(host, lock_path=str(host["tmp"] / "deploy.lock")))
    assert out.failed and "does not hold the deployment lock" in out.result["msg"]
    assert not os.path.exists(os.path.join(host["snapshot_dir"], snapshot.AFTER_FILE))


def test_snapshot_after_in_check_mode_writes_nothing(host):
    run(snapshot_module, snapshot_args(host))
    out = run(after_module, after_args(host, predicted={host["pf"]: "cd" * 32}), check=True)
    assert not out.failed and out.result["changed"] is False and out.result["changed_files"] == [host["pf"]]
    assert not os.path.exists(os.path.join(host["snapshot_dir"], snapshot.AFTER_FILE))


# ---------------------------------------------------------------- restore_snapshot

def restore_args(host, **extra):
    args = {"snapshot": host["snapshot_dir"], "audit_dir": host["audit_dir"],
            "audit_file": "rollback-20260116T000000Z.log", "run_id": "20260116T000000Z-abcdef"}
    args.update(extra)
    return args


def test_restore_module_restores_then_reports_no_change(host):
    snapshot.take(host["files"], host["backup_dir"], RUN_ID, STAMP)
    original = open(host["flag_store"]).read()
    activate(host)
    snapshot.record_after(host["snapshot_dir"])
    first = run(restore_module, restore_args(host)).result
    assert first["changed"] is True and first["restored"] == [host["flag_store"]] and first["state"] == "restored"
    assert open(host["flag_store"]).read() == original
    assert first["audit_head"]["file"] == "rollback-20260116T000000Z.log"
    second = run(restore_module, restore_args(host)).result
    assert second["changed"] is False and second["state"] == "already-restored"


def test_restore_module_check_mode_and_diff(host):
    snapshot.take(host["files"], host["backup_dir"], RUN_ID, STAMP)
    activate(host)
    snapshot.record_after(host["snapshot_dir"])
    changed = open(host["flag_store"]).read()
    result = run(restore_module, restore_args(host), check=True, diff=True).result
    assert result["changed"] is True and open(host["flag_store"]).read() == changed
    assert len(result["diff"]) == 1
    text = result["diff"][0]["prepared"]
    assert text.startswith("--- %s (now)\n+++ %s (snapshot)\n" % (host["flag_store"], host["flag_store"]))
    assert '-      "enabled": true,\n' in text and '+      "enabled": false,\n' in text
    assert not os.path.exists(host["audit_dir"])


def test_restore_module_refusal_lists_conflicts(host):
    snapshot.take(host["files"], host["backup_dir"], RUN_ID, STAMP)
    activate(host)
    out = run(restore_module, restore_args(host))
    assert out.failed and "rollback refused" in out.result["msg"]
    assert out.result["conflicts"][0]["path"] == host["flag_store"]
    forced = run(restore_module, restore_args(host, force=True)).result
    assert forced["changed"] is True and forced["forced"] == [host["flag_store"]]


def test_restore_module_finds_the_latest_snapshot(host):
    snapshot.take(host["files"], host["backup_dir"], RUN_ID, STAMP)
    args = restore_args(host, backup_dir=host["backup_dir"])
    del args["snapshot"]
    assert run(restore_module, args).result["snapshot"] == host["snapshot_dir"]


def test_restore_module_needs_the_lock_when_told(host):
    snapshot.take(host["files"], host["backup_dir"], RUN_ID, STAMP)
    lock = str(host["tmp"] / "deploy.lock")
    out = run(restore_module, restore_args(host, lock_path=lock))
    assert out.failed and "does not hold the deployment lock" in out.result["msg"]
    deploy_lock.acquire(lock, {"run_id": "20260116T000000Z-abcdef"}, 600)
    assert not run(restore_module, restore_args(host, lock_path=lock)).failed


def test_restore_module_verify_failure_says_files_were_restored(host):
    snapshot.take(host["files"], host["backup_dir"], RUN_ID, STAMP)
    activate(host)
    snapshot.record_after(host["snapshot_dir"])
    out = run(restore_module, restore_args(host, gateway_url="http://127.0.0.1:9", verify_timeout=0))
    assert out.failed and out.result["msg"].startswith("restored %s, but gateway http://127.0.0.1:9 did not"
                                                       % host["flag_store"])
    assert out.result["changed"] is True and out.result["restored"] == [host["flag_store"]]


def test_restore_module_verify_failure_with_nothing_restored_does_not_claim_a_restore(host):
    snapshot.take(host["files"], host["backup_dir"], RUN_ID, STAMP)
    out = run(restore_module, restore_args(host, gateway_url="http://127.0.0.1:9", verify_timeout=0))
    assert out.failed and out.result["msg"].startswith(
        "no file needed restoring (each already equalled the snapshot), but gateway http://127.0.0.1:9 did not")
    assert out.result["restored"] == [] and out.result["changed"] is False


# ---------------------------------------------------------------- the on-host runtime

def test_the_module_carries_the_runtime_itself(host):
    """No runtime_files given: the sources come from where the code was
    loaded (on a host, the module's own zip), so nothing large is sent."""
    args = snapshot_args(host)
    del args["runtime_files"]
    out = run(snapshot_module, args)
    assert not out.failed, out.result
    lib = os.path.join(host["snapshot_dir"], "lib")
    here = os.path.dirname(snapshot.__file__)
    for relpath, source in snapshot.runtime_files(here).items():
        with open(os.path.join(lib, relpath)) as handle:
            assert handle.read() == source, relpath


def test_runtime_from_a_zip_like_a_module_on_a_host(tmp_path):
    """What AnsiballZ does: the package imported from a zip file."""
    import subprocess
    import sys
    import zipfile
    here = os.path.dirname(snapshot.__file__)
    archive = tmp_path / "payload.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for relpath, source in snapshot.runtime_files(here).items():
            handle.writestr(relpath, source)
    code = ("import json; from ansible_collections.nexus_cos.launch.plugins.module_utils import snapshot; "
            "print(json.dumps(snapshot.runtime_files()))")
    proc = subprocess.run([sys.executable, "-s", "-c", code], env={"PYTHONPATH": str(archive), "PATH": "/usr/bin"},
                          capture_output=True, text=True, cwd=str(tmp_path), check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == snapshot.runtime_files(here)


def test_restore_module_stopped_half_way_names_what_it_restored_and_that_a_rerun_finishes(host, monkeypatch):
    snapshot.take(host["files"], host["backup_dir"], RUN_ID, STAMP)
    before = dict((p, open(p).read()) for p in host["files"])
    activate(host)
    with open(host["pf"], "w") as handle:
        handle.write("launch:\n  mode: public_full\n")
    snapshot.record_after(host["snapshot_dir"])
    real_replace = os.replace

    def full_on_the_pf(src, dst, *args, **kwargs):
        if os.path.abspath(dst) == host["pf"]:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full_on_the_pf)
    outcome = run(restore_module, restore_args(host))
    monkeypatch.setattr(os, "replace", real_replace)
    assert outcome.failed
    result = outcome.result
    assert result["restored"] == [host["flag_store"]] and result["not_restored"] == [host["pf"]]
    assert result["changed"] is True
    assert ("Restored: %s; not restored: %s" % (host["flag_store"], host["pf"])) in result["msg"]
    assert "run the rollback again to finish it" in result["msg"] and "--force" not in result["msg"]
    # The re-run finishes it, without --force.
    again = run(restore_module, restore_args(host)).result
    assert again["restored"] == [host["pf"]]
    assert dict((p, open(p).read()) for p in host["files"]) == before


@pytest.mark.parametrize("module", ["snapshot", "kill_switch"])
def test_the_modules_that_fill_lib_are_shipped_with_every_runtime_module(module):
    """Ansible ships a module the module_utils its imports reach (anywhere
    in a file); snapshot.runtime_files reads the on-host runtime from that
    payload, so each module that fills a snapshot's lib/ must reach every
    RUNTIME_MODULES entry, the rollback command included."""
    import ast
    plugins = os.path.dirname(os.path.dirname(snapshot.__file__))
    utils = os.path.join(plugins, "module_utils")
    prefix = snapshot.PACKAGE + "."

    def imports(path):
        with open(path) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and (node.module + ".").startswith(prefix):
                inner = node.module[len(prefix):]
                for alias in node.names:
                    yield (inner + "." + alias.name) if inner else alias.name

    def path_of(name):
        base = os.path.join(utils, *name.split("."))
        if os.path.isdir(base):
            return os.path.join(base, "__init__.py")
        return base + ".py" if os.path.exists(base + ".py") else None

    todo, seen = list(imports(os.path.join(plugins, "modules", module + ".py"))), set()
    while todo:
        name = todo.pop()
        path = path_of(name) or path_of(name.rsplit(".", 1)[0])
        if path is None or name in seen:
            continue
        seen.add(name if path_of(name) else name.rsplit(".", 1)[0])
        todo.extend(imports(path))
    assert not set(snapshot.RUNTIME_MODULES) - seen, sorted(set(snapshot.RUNTIME_MODULES) - seen)
