"""Snapshot and rollback (plugins/module_utils/snapshot.py): exact bytes and
modes back, refusal of foreign changes and of tampered copies, absent files,
an interrupted rollback, the gateway check, the command the rollback script
runs, and its audit records."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jinja2
import pytest
import yaml

from ansible_collections.nexus_cos.launch.plugins.module_utils import (audit_log, deploy_lock, flag_store, restore,
                                                                       rollback_cli, snapshot)
from ansible_collections.nexus_cos.launch.plugins.module_utils import gateway as gateway_client
from ansible_collections.nexus_cos.launch.plugins.module_utils import host_scripts
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT
from ansible_collections.nexus_cos.launch.tests.unit.utils.snapshot_host import cli, flags_text, Host, read, RUN_ID, STAMP, write

MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")


def sha(data):
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


# ---------------------------------------------------------------- a fake gateway

class FakeGateway(object):
    """The gateway's reload and health contract on loopback, reading the
    flag store with flag_store.py. ``stale``: reload answers 200 but the old
    state stays (a gateway that did not reread)."""

    def __init__(self, path):
        self.path = path
        self.stale = False
        self.reloads = 0
        self.store = flag_store.load(path)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802
                if self.path == gateway_client.RELOAD_PATH:
                    gateway.reloads += 1
                    if not gateway.stale:
                        gateway.store = flag_store.load(gateway.path)
                    return self.answer(200, {"success": True})
                self.answer(404, {})

            def do_GET(self):  # noqa: N802
                store = gateway.store
                if self.path == gateway_client.FLAGS_PATH:
                    return self.answer(200, {"flags": [dict(flag, name=name) for name, flag in store.flags.items()],
                                             "currentMode": store.access_mode()})
                if self.path == gateway_client.PF_HEALTH_PATHS["marketplace"]:
                    phase = store.marketplace_phase()
                    return self.answer(200 if phase else 503, {"service": "marketplace", "phase": phase})
                if self.path == gateway_client.PF_HEALTH_PATHS["jurisdiction"]:
                    return self.answer(200 if store.effective_all().get("JURISDICTION_ENGINE_ENABLED") else 503, {})
                self.answer(404, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(host):
    fake = FakeGateway(host.flag_store)
    yield fake
    fake.close()


def no_sleep(_seconds):
    pass


# ---------------------------------------------------------------- taking

def test_take_copies_files_and_records_the_manifest(host):
    manifest = host.take(gateway_url="http://localhost:4000")
    assert [e["path"] for e in manifest["files"]] == host.files
    entry = manifest["files"][1]
    assert entry["exists"] is True and entry["sha256"] == sha(read(host.pf))
    assert entry["mode"] == "0600" and entry["uid"] == os.getuid() and entry["size"] == len(read(host.pf))
    assert read(os.path.join(host.snapshot_dir, entry["copy"])) == read(host.pf)
    assert entry["copy"] == "files" + host.pf
    assert manifest["run_id"] == RUN_ID and manifest["stamp"] == STAMP
    assert manifest["created"].endswith("Z") and manifest["gateway_url"] == "http://localhost:4000"
    assert manifest["gateway"] == {"access_mode": "founder_beta", "marketplace_phase": 0, "jurisdiction": False,
                                   "flags": 5}
    assert json.loads(read(os.path.join(host.snapshot_dir, "snapshot.json"))) == manifest


def test_snapshot_is_not_world_readable(host):
    host.take(runtime_files=snapshot.runtime_files(MODULE_UTILS))
    for directory, dirs, files in os.walk(host.backup_dir):
        assert os.stat(directory).st_mode & 0o777 == 0o750, directory
        for name in files:
            assert os.stat(os.path.join(directory, name)).st_mode & 0o777 == 0o640, name


def test_manifest_is_written_last(host, monkeypatch):
    order = []
    real = snapshot.write_atomic
    monkeypatch.setattr(snapshot, "write_atomic", lambda path, *a, **k: (order.append(path), real(path, *a, **k)))
    host.take(runtime_files={"x/y.py": "pass\n"})
    assert order[-1].endswith("/snapshot.json") and len(order) == 5


@pytest.mark.parametrize("enabled, mode, phase", [
    ({}, "founder_beta", 0),
    ({"MARKETPLACE_PHASE2_ENABLED": True}, "founder_beta", 2),
    ({"MARKETPLACE_PHASE2_ENABLED": True, "MARKETPLACE_PHASE3_ENABLED": True}, "founder_beta", 3),
    ({"MARKETPLACE_PHASE3_ENABLED": True}, "founder_beta", 0),   # requires phase 2: not effective
    ({"PUBLIC_SOFT_LAUNCH_MODE": True}, "public_soft", 0),
    ({"FOUNDER_BETA_MODE": False}, "none", 0),
])
def test_gateway_state_follows_the_flag_semantics(host, enabled, mode, phase):
    write(host.flag_store, flags_text(**enabled))
    assert host.take()["gateway"] == {"access_mode": mode, "marketplace_phase": phase, "jurisdiction": False,
                                      "flags": 5}


def test_unreadable_flag_store_records_unknown_state(host):
    write(host.flag_store, "{not json")
    gateway = host.take()["gateway"]
    assert gateway["access_mode"] is None and "invalid JSON" in gateway["error"]


def test_take_again_in_the_same_run_keeps_the_first_snapshot(host):
    first = host.take()
    write(host.flag_store, flags_text(PUBLIC_FULL_LAUNCH_MODE=True))
    assert host.take() == first
    with pytest.raises(snapshot.SnapshotError, match="already holds run %s's snapshot" % RUN_ID):
        snapshot.take(host.files, host.backup_dir, "other-run", STAMP)


def test_incomplete_snapshot_is_redone(host):
    os.makedirs(os.path.join(host.snapshot_dir, "files"))
    write(os.path.join(host.snapshot_dir, "files", "leftover"), "x")
    host.take()
    assert not os.path.exists(os.path.join(host.snapshot_dir, "files", "leftover"))


def test_bad_arguments_are_refused(host):
    with pytest.raises(snapshot.SnapshotError, match="not an absolute path"):
        snapshot.take(["relative.json"], host.backup_dir, RUN_ID, STAMP)
    with pytest.raises(snapshot.SnapshotError, match="expected a UTC stamp"):
        snapshot.take(host.files, host.backup_dir, RUN_ID, "../x")
    with pytest.raises(snapshot.SnapshotError, match="listed twice"):
        snapshot.take(host.files + [host.pf], host.backup_dir, RUN_ID, STAMP)
    with pytest.raises(snapshot.SnapshotError, match="relative path inside lib"):
        host.take(runtime_files={"../../evil.py": ""})


def test_symlink_is_refused(host, tmp_path):
    target = str(tmp_path / "elsewhere.yaml")
    write(target, "x: 1\n")
    os.unlink(host.pf)
    os.symlink(target, host.pf)
    with pytest.raises(snapshot.SnapshotError, match="is a symbolic link"):
        host.take()


def test_incomplete_snapshot_cannot_be_restored(host):
    os.makedirs(host.snapshot_dir)
    with pytest.raises(snapshot.SnapshotError, match="is incomplete: it has no snapshot.json"):
        restore.restore(host.snapshot_dir)


# ---------------------------------------------------------------- restoring

def test_round_trip_restores_exact_bytes_and_modes(host):
    before = host.state()
    host.take()
    host.activate()
    os.chmod(host.pf, 0o666)
    result = restore.restore(host.snapshot_dir)
    assert result["changed"] is True and result["state"] == "restored"
    assert result["restored"] == [host.flag_store, host.pf]
    assert host.state() == before
    assert os.stat(host.pf).st_mode & 0o777 == 0o600
    assert os.stat(host.flag_store).st_mode & 0o777 == 0o644


def test_second_rollback_changes_nothing(host):
    host.take()
    host.activate()
    restore.restore(host.snapshot_dir)
    inodes = {path: os.stat(path).st_ino for path in host.files}
    result = restore.restore(host.snapshot_dir)
    assert result["changed"] is False and result["state"] == "already-restored" and result["restored"] == []
    assert {path: os.stat(path).st_ino for path in host.files} == inodes


def test_on_restored_is_told_once_every_file_is_restored(host):
    """The restore reports to its caller's callback (the ledger's undo)
    instead of importing the activation code: once, after the files, with
    the manifest and the result it may add to."""
    host.take()
    host.activate()
    calls = []

    def on_restored(manifest, result):
        calls.append((manifest["run_id"], list(result["restored"]), host.state()))
        result["undone"] = [{"key": "k", "run_id": "r"}]

    before_change = restore.restore(host.snapshot_dir, restore.RestoreContext(on_restored=on_restored),
                                    check_mode=True)
    assert calls == [] and before_change["undone"] == []
    result = restore.restore(host.snapshot_dir, restore.RestoreContext(on_restored=on_restored))
    assert calls == [(RUN_ID, [host.flag_store, host.pf], host.state())]
    assert result["undone"] == [{"key": "k", "run_id": "r"}]


def test_on_restored_is_not_told_of_a_refused_restore(host):
    host.take()
    write(host.pf, "launch: {mode: public_full}\n")
    calls = []
    with pytest.raises(restore.RollbackRefused):
        restore.restore(host.snapshot_dir, restore.RestoreContext(on_restored=lambda *a: calls.append(a)))
    assert calls == []


def test_foreign_change_is_refused_naming_file_and_hashes(host):
    host.take()
    snap = sha(read(host.pf))
    write(host.pf, "launch: {mode: public_full}\n")
    found = sha(read(host.pf))
    untouched = host.state()
    with pytest.raises(restore.RollbackRefused) as info:
        restore.restore(host.snapshot_dir)
    msg = str(info.value)
    assert "1 file(s) changed since run %s took snapshot" % RUN_ID in msg
    assert "%s: expected sha256 %s, found %s" % (host.pf, snap[:16], found[:16]) in msg
    assert "--force" in msg
    assert info.value.conflicts == [{"path": host.pf, "expected": [snap], "found": found}]
    assert host.state() == untouched


def test_change_after_the_run_is_foreign(host):
    host.take()
    host.activate()
    write(host.pf2, "marketplace:\n  enabled: true\n")
    with pytest.raises(restore.RollbackRefused) as info:
        restore.restore(host.snapshot_dir)
    assert [c["path"] for c in info.value.conflicts] == [host.pf2]


def test_force_restores_and_keeps_what_was_there(host):
    before = host.state()
    host.take()
    write(host.pf, "someone else's edit\n")
    result = restore.restore(host.snapshot_dir, restore.RestoreContext(stamp="20260116T000000Z"), force=True)
    assert host.state() == before and result["forced"] == [host.pf]
    kept = os.path.join(host.snapshot_dir, "displaced", "20260116T000000Z", "files" + host.pf)
    assert read(kept) == b"someone else's edit\n"
    assert os.stat(kept).st_mode & 0o777 == 0o640


def test_tampered_backup_is_refused_even_with_force(host):
    host.take()
    host.activate()
    copy = os.path.join(host.snapshot_dir, "files" + host.flag_store)
    write(copy, flags_text(PUBLIC_FULL_LAUNCH_MODE=True))
    after = host.state()
    for force in (False, True):
        with pytest.raises(restore.RollbackRefused, match="no longer match the hashes recorded") as info:
            restore.restore(host.snapshot_dir, force=force)
        assert info.value.tampered[0]["path"] == host.flag_store
        assert host.state() == after


def test_missing_backup_copy_is_refused(host):
    host.take()
    os.unlink(os.path.join(host.snapshot_dir, "files" + host.pf))
    with pytest.raises(restore.RollbackRefused, match="backup copy .* is missing"):
        restore.restore(host.snapshot_dir)


class TestAbsentFiles(object):
    """A file absent in the snapshot is restored to absent."""

    @pytest.fixture
    def extra(self, host):
        path = os.path.join(os.path.dirname(host.pf), "new-phase.yaml")
        host.files.append(path)
        return path

    def test_absent_is_recorded(self, host, extra):
        entry = host.take()["files"][-1]
        assert entry == {"path": extra, "exists": False, "sha256": None, "size": None, "mode": None,
                         "uid": None, "gid": None, "copy": None}

    def test_absent_and_still_absent_is_unchanged(self, host, extra):
        host.take()
        assert restore.restore(host.snapshot_dir)["state"] == "already-restored"

    def test_created_by_the_run_is_removed(self, host, extra):
        host.take()
        write(extra, "created by the run\n")
        snapshot.record_after(host.snapshot_dir)
        result = restore.restore(host.snapshot_dir)
        assert result["restored"] == [extra] and not os.path.exists(extra)
        assert read(os.path.join(result["displaced"], "files" + extra)) == b"created by the run\n"

    def test_created_by_someone_else_is_refused_then_forced(self, host, extra):
        host.take()
        write(extra, "someone else's\n")
        with pytest.raises(restore.RollbackRefused, match="expected sha256 absent, found"):
            restore.restore(host.snapshot_dir)
        assert os.path.exists(extra)
        restore.restore(host.snapshot_dir, force=True)
        assert not os.path.exists(extra)

    def test_deleted_by_the_run_is_recreated(self, host):
        host.take()
        content = read(host.pf)
        os.unlink(host.pf)
        snapshot.record_after(host.snapshot_dir)
        assert restore.restore(host.snapshot_dir)["restored"] == [host.pf]
        assert read(host.pf) == content and os.stat(host.pf).st_mode & 0o777 == 0o600


def test_interrupted_rollback_is_never_partial_and_a_rerun_completes(host, monkeypatch):
    host.take()
    snap = host.state()
    host.activate()
    write(host.pf2, "marketplace:\n  enabled: true\n")
    snapshot.record_after(host.snapshot_dir)
    after = host.state()
    real_replace = os.replace
    targets = []

    def failing_replace(src, dst, *args, **kwargs):
        if os.path.abspath(dst) in host.files:
            targets.append(dst)
            if len(targets) == 2:
                raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(restore.RollbackIncomplete, match="no space left on device writing .*global-launch.yaml "
                       r"\(filesystem /") as info:
        restore.restore(host.snapshot_dir)
    monkeypatch.setattr(os, "replace", real_replace)
    # It says what it did and what it did not, and that a re-run finishes it.
    assert info.value.restored == [host.files[0]] and info.value.left == [host.pf, host.pf2]
    assert "Restored: %s; not restored: %s, %s" % (host.files[0], host.pf, host.pf2) in str(info.value)
    assert "run the rollback again to finish it" in str(info.value)
    now = host.state()
    for path in host.files:
        assert now[path] in (snap[path], after[path]), path
    assert now[host.files[0]] == snap[host.files[0]] and now[host.files[1]] == after[host.files[1]]
    leftovers = [n for n in os.listdir(os.path.dirname(host.pf)) if n.endswith(".tmp") or n.endswith(".lock")]
    assert leftovers == []
    result = restore.restore(host.snapshot_dir)
    assert result["restored"] == [host.pf, host.pf2]
    assert host.state() == snap


def test_a_restore_stopped_part_way_has_the_gateway_reread_the_flag_store_it_restored(host, gateway, monkeypatch):
    host.take()
    host.activate()
    gateway.store = flag_store.load(host.flag_store)
    real_replace = os.replace

    def full_on_the_pfs(src, dst, *args, **kwargs):
        if os.path.abspath(dst) in (host.pf, host.pf2):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full_on_the_pfs)
    with pytest.raises(restore.RollbackIncomplete) as info:
        restore.restore(host.snapshot_dir, gateway_url=gateway.url, verify_timeout=5)
    assert info.value.restored == [host.flag_store] and gateway.reloads == 1
    assert str(info.value).endswith(
        "run the rollback again to finish it once the cause is fixed. The gateway was told to reread the restored "
        "flag store (reload HTTP 200) and serves access mode founder_beta, 5 flags (HTTP 200), marketplace phase 0 "
        "(HTTP 503), jurisdiction engine off (HTTP 503)")


def test_a_restore_stopped_before_the_flag_store_does_not_reload_the_gateway(host, gateway, monkeypatch):
    host.take()
    host.activate()
    real_replace = os.replace

    def full_everywhere(src, dst, *args, **kwargs):
        if os.path.abspath(dst) in host.files:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full_everywhere)
    with pytest.raises(restore.RollbackIncomplete) as info:
        restore.restore(host.snapshot_dir, gateway_url=gateway.url, verify_timeout=5)
    assert info.value.restored == [] and gateway.reloads == 0 and "gateway" not in str(info.value)


def test_check_mode_writes_nothing(host):
    host.take()
    host.activate()
    after = host.state()
    listing = sorted(os.listdir(host.snapshot_dir))
    result = restore.restore(host.snapshot_dir, check_mode=True, gateway_url="http://127.0.0.1:9")
    assert result["changed"] is True and result["restored"] == [host.flag_store, host.pf]
    assert result["verify"] == {"skipped": "check mode"}
    assert host.state() == after and sorted(os.listdir(host.snapshot_dir)) == listing


# ---------------------------------------------------------------- the gateway

def test_gateway_is_reloaded_and_verified(host, gateway):
    host.take()
    host.activate()
    gateway.store = flag_store.load(host.flag_store)
    result = restore.restore(host.snapshot_dir, gateway_url=gateway.url, verify_timeout=5)
    verify = result["verify"]
    assert verify["access_mode"] == "founder_beta" and verify["marketplace_phase"] == 0
    assert verify["reload"] == "HTTP 200" and gateway.reloads == 1


def test_verified_marketplace_phase(host, gateway):
    write(host.flag_store, flags_text(MARKETPLACE_PHASE2_ENABLED=True, MARKETPLACE_PHASE3_ENABLED=True))
    host.take()
    write(host.flag_store, flags_text())
    snapshot.record_after(host.snapshot_dir)
    verify = restore.restore(host.snapshot_dir, gateway_url=gateway.url, verify_timeout=5)["verify"]
    assert verify["marketplace_phase"] == 3


def test_already_restored_still_reloads_and_verifies(host, gateway):
    host.take()
    result = restore.restore(host.snapshot_dir, gateway_url=gateway.url, verify_timeout=5)
    assert result["state"] == "already-restored" and gateway.reloads == 1


def test_stale_gateway_fails_verification_saying_what_it_saw(host, gateway):
    host.take()
    host.activate()
    gateway.store = flag_store.load(host.flag_store)
    gateway.stale = True
    with pytest.raises(restore.RollbackVerifyFailed) as info:
        restore.restore(host.snapshot_dir, gateway_url=gateway.url, verify_timeout=0.3)
    msg = str(info.value)
    assert "did not confirm access mode founder_beta, marketplace phase 0, jurisdiction engine off, 5 flags " \
           "within 0.3 s: reload HTTP 200; it serves access mode public_full, 5 flags (HTTP 200), marketplace " \
           "phase 3 (HTTP 200), jurisdiction engine off (HTTP 503)" in msg
    assert info.value.result["restored"] == [host.flag_store, host.pf]
    assert read(host.flag_store) == flags_text().encode()


def test_gateway_down_fails_verification(host):
    host.take()
    with pytest.raises(restore.RollbackVerifyFailed, match=r"within 0.2 s: the reload was not accepted \(no "
                       r"answer \(connection refused\)\)\. Nothing answers at"):
        restore.verify_gateway("http://127.0.0.1:9", {"access_mode": "founder_beta", "marketplace_phase": 0},
                               timeout=0.2, sleep=no_sleep)


# ---------------------------------------------------------------- audit

def test_audit_records_of_a_rollback(host, gateway):
    host.take()
    host.activate()
    log = audit_log.AuditLog(host.audit_dir, "rb-1", "rollback-20260116T000000Z.log")
    restore.restore(host.snapshot_dir, restore.RestoreContext(audit=log), gateway_url=gateway.url, verify_timeout=5)
    entries, problems = audit_log.read_trail(host.audit_dir)
    events = [e.record.event for e in entries]
    assert events == ["ROLLBACK_START", "ROLLBACK_FILE_RESTORED", "ROLLBACK_FILE_RESTORED",
                      "ROLLBACK_VERIFIED", "ROLLBACK_COMPLETE"]
    restored = entries[1].record.fields
    assert restored["path"] == host.flag_store and restored["sha256"] == sha(flags_text())
    assert restored["action"] == "written" and restored["forced"] == "False"
    assert entries[0].record.fields["snapshot_run"] == RUN_ID
    complete = entries[-1].record.fields
    assert complete["status"] == "success" and complete["duration"].endswith("s")
    assert audit_log.verify_dir(host.audit_dir).ok


def test_audit_records_of_a_refusal(host):
    host.take()
    write(host.pf, "x\n")
    log = audit_log.AuditLog(host.audit_dir, "rb-2", "rollback-20260116T000000Z.log")
    with pytest.raises(restore.RollbackRefused):
        restore.restore(host.snapshot_dir, restore.RestoreContext(audit=log))
    entries, dummy = audit_log.read_trail(host.audit_dir)
    assert [e.record.event for e in entries] == ["ROLLBACK_START", "ROLLBACK_REFUSED", "ROLLBACK_COMPLETE"]
    assert entries[1].record.fields["files"] == host.pf
    assert entries[2].record.fields["status"] == "refused"


# ---------------------------------------------------------------- finding snapshots

def test_find_snapshot(host):
    host.take()
    later = "20260120T000000Z"
    snapshot.take(host.files, host.backup_dir, later + "-ffffff", later)
    os.makedirs(os.path.join(host.backup_dir, "20260130T000000Z"))      # incomplete: ignored
    write(os.path.join(host.backup_dir, "pre-deployment-x.marker"), "")  # not a snapshot
    assert snapshot.find_snapshot(host.backup_dir) == os.path.join(host.backup_dir, later)
    assert snapshot.find_snapshot(host.backup_dir, STAMP) == host.snapshot_dir
    assert snapshot.find_snapshot(host.backup_dir, RUN_ID) == host.snapshot_dir
    with pytest.raises(snapshot.SnapshotError, match="no snapshot of run 2025 in"):
        snapshot.find_snapshot(host.backup_dir, "2025")


def test_find_snapshot_by_a_run_id_given_by_hand(host):
    """-e nexus_run_id=change-4711: the stamp the run used does not start
    the id; snapshot.json records it, so the id finds it."""
    snapshot.take(host.files, host.backup_dir, "change-4711", STAMP)
    assert snapshot.find_snapshot(host.backup_dir, "change-4711") == host.snapshot_dir


def test_find_snapshot_in_empty_dir(tmp_path):
    with pytest.raises(snapshot.SnapshotError, match="holds no complete snapshot"):
        snapshot.find_snapshot(str(tmp_path))


# ---------------------------------------------------------------- the command


def test_cli_restores_and_exits_0(host, gateway, capsys):
    host.take()
    host.activate()
    gateway.store = flag_store.load(host.flag_store)
    assert cli(host, "--gateway-url", gateway.url) == 0
    out = capsys.readouterr().out
    assert "changed by the run" in out and "restored                 %s" % host.pf in out
    assert "gateway check: reload HTTP 200; serves access mode founder_beta, marketplace phase 0, 5 flags" in out
    entries, dummy = audit_log.read_trail(host.audit_dir)
    assert entries[0].file == "rollback-20260116T000000Z.log"
    assert [e.record.event for e in entries] == ["ROLLBACK_START", "ROLLBACK_FILE_RESTORED", "ROLLBACK_FILE_RESTORED",
                                                 "ROLLBACK_VERIFIED", "ROLLBACK_COMPLETE"]
    assert cli(host, "--gateway-url", gateway.url) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_cli_refusal_exits_1(host, capsys):
    host.take()
    write(host.pf, "x\n")
    assert cli(host) == 1
    assert "rollback refused" in capsys.readouterr().err
    assert cli(host, "--force") == 0


def test_cli_dry_run_changes_and_records_nothing(host, capsys):
    host.take()
    host.activate()
    after = host.state()
    assert cli(host, "--dry-run") == 0
    assert "would restore" in capsys.readouterr().out
    assert host.state() == after and not os.path.exists(host.audit_dir)


def test_cli_usage_exits_2(host, capsys):
    with pytest.raises(SystemExit) as info:
        rollback_cli.main(["restore"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        rollback_cli.main(["restore", "--snapshot", "x", "--bogus"])
    assert info.value.code == 2


def test_cli_holds_the_deployment_lock(host, tmp_path, capsys):
    host.take()
    host.activate()
    lock = str(tmp_path / "deploy.lock")
    deploy_lock.acquire(lock, {"run_id": "other-run", "user": "alice", "controller": "laptop", "pid": 1}, 600)
    assert cli(host, "--lock", lock) == 1
    err = capsys.readouterr().err
    assert "held by run other-run" in err and "rm %s" % lock in err
    deploy_lock.release(lock, "other-run")
    assert cli(host, "--lock", lock) == 0
    assert not os.path.exists(lock)
    events = [e.record.event for e in audit_log.read_trail(host.audit_dir)[0]]
    assert events[:2] == ["LOCK_REFUSED", "LOCK_ACQUIRED"] and events[-1] == "LOCK_RELEASED"


def test_cli_runs_from_the_snapshot_lib_alone(host, gateway, tmp_path):
    """What rollback-<stamp>.sh does: python3 with PYTHONPATH=lib and nothing
    else importable from this checkout."""
    host.take(runtime_files=snapshot.runtime_files(MODULE_UTILS))
    host.activate()
    gateway.store = flag_store.load(host.flag_store)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": os.path.join(host.snapshot_dir, "lib")}
    proc = subprocess.run(
        [sys.executable, "-s", "-B", "-m", snapshot.PACKAGE + ".rollback_cli", "restore", "--snapshot",
         host.snapshot_dir, "--gateway-url", gateway.url, "--audit-dir", host.audit_dir],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert read(host.flag_store) == flags_text().encode()
    assert not [n for n in os.listdir(os.path.join(host.snapshot_dir, "lib")) if n == "__pycache__"]


def test_runtime_files_hold_the_package_and_its_imports():
    files = snapshot.runtime_files(MODULE_UTILS)
    base = snapshot.PACKAGE.replace(".", "/")
    assert files["ansible_collections/__init__.py"] == "" and files[base + "/__init__.py"] == ""
    for name in snapshot.RUNTIME_MODULES:
        path = base + "/" + name.replace(".", "/")
        assert path + ".py" in files or path + "/__init__.py" in files, name
    # A package's code is its __init__.py; intermediate packages exist.
    assert "class ActivationError" in files[base + "/activation/__init__.py"]
    assert "def evaluate_emergency" in files[base + "/activation/gate.py"]
    assert base + "/activation/emergency.py" in files


# ---------------------------------------------------------------- the rendered rollback files

def render(name, **variables):
    """Render a roles/snapshot template as the template lookup does
    (trim_blocks), with the two Ansible filters it uses."""
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                             loader=jinja2.FileSystemLoader(os.path.join(ROOT, "roles", "snapshot", "templates")))
    env.filters["to_json"] = json.dumps
    return env.get_template(name).render(**variables)


def template_vars(host, gateway_url="http://127.0.0.1:9"):
    return {"nexus_backup_dir": host.backup_dir, "nexus_audit_dir": host.audit_dir, "nexus_run_stamp": STAMP,
            "nexus_run_id": RUN_ID, "nexus_gateway_url": gateway_url, "inventory_hostname": "vps-1",
            "nexus_lock_path": os.path.join(str(host.root), "deploy.lock"), "snapshot_verify_timeout": 5}


def test_rendered_playbook_imports_the_rollback_playbook_for_this_snapshot(host):
    play = yaml.safe_load(render("rollback.yml.j2", **template_vars(host)))
    assert play[0]["ansible.builtin.import_playbook"] == "nexus_cos.launch.rollback"
    variables = play[0]["vars"]
    assert variables["rollback_hosts"] == "vps-1" and variables["rollback_snapshot"] == host.snapshot_dir
    assert variables["nexus_audit_dir"] == host.audit_dir and variables["rollback_verify_timeout"] == 5
    assert variables["nexus_artifacts_dir"].startswith("{{ lookup('ansible.builtin.env', 'PWD'")


@pytest.mark.skipif(os.geteuid() != 0, reason="the rollback script runs as root only")
def test_rendered_script_restores_with_python3_alone(gateway, trusted_tmp):
    host = Host(pathlib.Path(trusted_tmp))   # the script runs nothing from a snapshot under /tmp
    host.take(runtime_files=snapshot.runtime_files(MODULE_UTILS))
    host.activate()
    gateway.store = flag_store.load(host.flag_store)
    os.mkdir(host.audit_dir, 0o750)
    script = os.path.join(host.audit_dir, "nexus-rollback-%s.sh" % STAMP)
    values = template_vars(host, gateway.url)
    write(script, host_scripts.rollback_script(host.snapshot_dir, RUN_ID, "vps-1", gateway.url, host.audit_dir,
                                               values["nexus_lock_path"], 5), 0o750)
    env = {"PATH": "/usr/bin:/bin"}

    def run(*args):
        return subprocess.run([script] + list(args), env=env, capture_output=True, text=True, timeout=60, check=False)

    usage = run("-h")
    assert usage.returncode == 0 and "usage: sudo %s [--force] [--dry-run]" % script in usage.stdout
    assert run("--bogus").returncode == 2
    first = run()
    assert first.returncode == 0, first.stderr
    assert "restored                 %s" % host.pf in first.stdout
    assert "serves access mode founder_beta, marketplace phase 0" in first.stdout
    assert read(host.flag_store) == flags_text().encode()
    again = run()
    assert again.returncode == 0 and "nothing to do" in again.stdout
    write(host.pf, "edited by hand\n")
    refused = run()
    assert refused.returncode == 1 and "rollback refused" in refused.stderr
    assert run("--force").returncode == 0
    assert not os.path.exists(template_vars(host)["nexus_lock_path"])
