"""Precheck 12 (backup): writable, room, marker; check mode writes nothing."""

from __future__ import annotations

import errno
import os
import pathlib
import stat

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.host_probe import LocalHost

from ansible_collections.nexus_cos.launch.tests.unit.utils.fake_host import FakeHost, stat_result
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths
from ansible_collections.nexus_cos.launch.tests.unit.utils.precheck_runs import assert_defaults_match, backup, BACKUPS, RUN_ID

GIB = 1024 ** 3
MARKER = BACKUPS + "/pre-deployment-20260115T103045Z-ab12cd.marker"
NOW = 1768473045.0  # 2026-01-15 10:30:45 UTC
ROLE = repo_paths.role("precheck_backup")
DIR = stat_result(mode=0o040750)


def fake(stats=None, free=20):
    host = FakeHost(stats={BACKUPS: DIR} if stats is None else stats,
                    disks={BACKUPS: {"free": free * GIB, "total": 50 * GIB, "device": 1}})
    host.now = lambda: NOW
    return host


def test_writable_directory_passes_and_the_marker_is_written():
    host = fake()
    r = backup(host)
    assert r["status"] == "PASS", r
    assert r["msg"] == "%s writable, 20.0 GiB free, marker %s written" % (BACKUPS, os.path.basename(MARKER))
    text, mode = host.written[MARKER]
    assert mode == 0o640
    assert text.splitlines()[:3] == ["# Nexus COS Phase 4 pre-deployment marker", "run_id: " + RUN_ID,
                                     "written_utc: 2026-01-15T10:30:45Z"]
    assert "free: 20.0 GiB" in text and "backup_dir: %s" % BACKUPS in text
    assert r["details"]["marker"] == MARKER


def test_missing_levels_are_created_0750():
    host = fake(stats={"/opt/nexus-cos": DIR})
    r = backup(host)
    assert r["status"] == "PASS", r
    assert host.made_dirs == [("/opt/nexus-cos/backups", 0o750), (BACKUPS, 0o750)]
    assert r["details"]["created"] == ["/opt/nexus-cos/backups", BACKUPS]


def test_directory_that_cannot_be_created_fails():
    host = fake(stats={"/opt/nexus-cos": DIR})
    host.write_errors = {"/opt/nexus-cos/backups": OSError(errno.EACCES, "Permission denied")}
    r = backup(host)
    assert r["msg"] == ("backup directory %s does not exist and could not be created (Permission denied); "
                        "expected a writable directory" % BACKUPS)


@pytest.mark.parametrize("error,text", [(errno.EACCES, "Permission denied"), (errno.EROFS, "Read-only file system")])
def test_not_writable_fails_with_the_reason(error, text):
    host = fake()
    host.write_errors = {BACKUPS: OSError(error, text)}
    r = backup(host)
    assert r["status"] == "FAIL"
    assert r["msg"] == "backup directory %s is not writable (%s); expected a writable directory" % (BACKUPS, text)
    assert "nexus_backup_dir" in r["hint"]
    assert not getattr(host, "written", {})


def test_too_little_free_space_fails_and_writes_no_marker():
    host = fake(free=0.5)
    r = backup(host)
    assert r["msg"] == "only 0.5 GiB free for backups in %s, need 1.0 GiB" % BACKUPS
    assert "precheck_backup_min_free_gb" in r["hint"]
    assert not getattr(host, "written", {})


def test_marker_write_failure_fails():
    host = fake()
    host.write_errors = {MARKER: OSError(errno.ENOSPC, "No space left on device")}
    r = backup(host)
    assert r["msg"] == ("could not write the pre-deployment marker %s (No space left on device); "
                        "expected a writable directory" % MARKER)


def test_a_file_in_the_way_fails():
    r = backup(fake(stats={BACKUPS: stat_result(mode=0o100644)}))
    assert r["msg"] == "backup path %s is not a directory; expected a directory for backups" % BACKUPS


def test_a_run_id_that_cannot_name_a_file_fails():
    r = backup(fake(), run_id="../../etc/x")
    assert r["msg"] == ("run id '../../etc/x' cannot name the pre-deployment marker; "
                        "expected letters, digits, '.', '_' or '-'")


def test_check_mode_only_tests_access_and_writes_nothing():
    host = fake()
    r = backup(host, check_mode=True)
    assert r["status"] == "PASS", r
    assert r["msg"] == "%s writable, 20.0 GiB free (check mode: no marker written)" % BACKUPS
    assert not getattr(host, "written", {}) and not getattr(host, "made_dirs", [])


def test_check_mode_reports_an_unwritable_directory():
    host = fake()
    host.read_only = {BACKUPS}
    r = backup(host, check_mode=True)
    assert r["msg"] == "backup directory %s is not writable (no write access); expected a writable directory" % BACKUPS


def test_check_mode_does_not_create_a_missing_directory():
    host = fake(stats={"/opt/nexus-cos": DIR})
    r = backup(host, check_mode=True)
    assert r["status"] == "PASS" and r["details"]["would_create"] == ["/opt/nexus-cos/backups", BACKUPS]
    assert not getattr(host, "made_dirs", [])
    host.read_only = {"/opt/nexus-cos"}
    assert backup(host, check_mode=True)["msg"] == (
        "backup directory %s does not exist and /opt/nexus-cos is not writable; expected a writable directory"
        % BACKUPS)


def test_on_a_real_directory(trusted_tmp):
    backups = pathlib.Path(trusted_tmp) / "backups" / "phase4"
    host = LocalHost()
    r = backup(host, dir=str(backups), check_mode=True)
    assert r["status"] == "PASS", r
    assert not backups.exists()
    r = backup(host, dir=str(backups))
    assert r["status"] == "PASS", r
    assert stat.S_IMODE(os.stat(str(backups)).st_mode) == 0o750
    marker = backups / ("pre-deployment-%s.marker" % RUN_ID)
    assert stat.S_IMODE(os.stat(str(marker)).st_mode) == 0o640
    assert sorted(os.listdir(str(backups))) == [marker.name]  # no probe or temp file left
    assert "run_id: %s" % RUN_ID in marker.read_text()
    assert backup(host, dir=str(backups))["status"] == "PASS"  # a rerun overwrites


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permissions")
def test_on_a_real_read_only_directory(tmp_path, monkeypatch):
    # Only writability is tested here: a user's own directory under /tmp is
    # refused first by the ownership rule (tested below).
    monkeypatch.setattr(LocalHost, "untrusted", lambda self, path: None)
    backups = tmp_path / "phase4"
    backups.mkdir()
    os.chmod(str(backups), 0o500)
    try:
        r = backup(LocalHost(), dir=str(backups))
    finally:
        os.chmod(str(backups), 0o700)
    assert r["msg"] == "backup directory %s is not writable (Permission denied); expected a writable directory" % backups


def test_role_defaults_match_argument_specs():
    assert_defaults_match(ROLE)


# ---------------------------------------------------------------- only root may control the backup dir

EXPECTED = "expected it and every directory above it owned by root, writable by root alone and not a symlink"
SWAP = "(anyone who can write it can swap a snapshot's lib/, the code the rollback and emergency scripts run as root)"


def test_a_backup_dir_owned_by_another_user_fails_and_writes_no_marker():
    host = fake(stats={BACKUPS: stat_result(0o040750, uid=65534)})
    r = backup(host)
    assert r["status"] == "FAIL"
    assert r["msg"] == "backup directory %s is owned by nobody (uid 65534), mode 0750; %s %s" % (BACKUPS, EXPECTED, SWAP)
    assert r["hint"] == "chown root:root %s && chmod 0750 %s" % (BACKUPS, BACKUPS)
    assert r["override"]["warn_only"] == "-e '{\"precheck_warn_only\": [\"backup\"]}'"
    assert not getattr(host, "written", {})


def test_a_backup_dir_writable_by_its_group_fails():
    r = backup(fake(stats={BACKUPS: stat_result(0o040770, gid=54321)}))
    assert r["status"] == "FAIL" and "is writable by group gid 54321 (mode 0770)" in r["msg"]


def test_a_missing_backup_dir_under_another_users_parent_is_not_created():
    host = fake(stats={"/opt/nexus-cos": stat_result(0o040755, uid=65534)})
    r = backup(host)
    assert r["status"] == "FAIL"
    assert r["msg"].startswith("backup directory %s is not trusted: /opt/nexus-cos above it is owned by nobody "
                               "(uid 65534), mode 0755; %s" % (BACKUPS, EXPECTED))
    assert r["hint"] == "chown root:root /opt/nexus-cos && chmod go-w /opt/nexus-cos"
    assert not getattr(host, "made_dirs", [])


def test_a_symlinked_backup_dir_fails():
    host = fake()
    host.lstats = {BACKUPS: stat_result(0o120777)}
    host.links = {BACKUPS: "/home/web/backups"}
    r = backup(host)
    assert r["msg"].startswith("backup directory %s is a symlink to /home/web/backups; %s" % (BACKUPS, EXPECTED))


def test_on_a_real_directory_given_to_nobody(trusted_tmp):
    backups = pathlib.Path(trusted_tmp) / "phase4"
    backups.mkdir(mode=0o750)
    assert backup(LocalHost(), dir=str(backups))["status"] == "PASS"
    os.chown(str(backups), 65534, 65534)
    r = backup(LocalHost(), dir=str(backups))
    assert r["status"] == "FAIL" and r["msg"].startswith("backup directory %s is owned by nobody" % backups)
    os.chown(str(backups), 0, 0)
    os.chmod(str(backups), 0o757)
    assert "is writable by every user (mode 0757)" in backup(LocalHost(), dir=str(backups))["msg"]
