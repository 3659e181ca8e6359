"""The platform deploy script's backups under the backup directory
(/opt/nexus-cos/backups/phase4/, ours too) confuse neither precheck 6
(repository), precheck 12 (backup) nor the rollback's choice of snapshot: a
directory without snapshot.json is not ours, and nothing of it is changed."""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import snapshot
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.host_probe import LocalHost
from ansible_collections.nexus_cos.launch.tests.unit.utils import platform_leftovers
from ansible_collections.nexus_cos.launch.tests.unit.utils.precheck_runs import backup, git, repository, RUN_ID
from ansible_collections.nexus_cos.launch.tests.unit.utils.snapshot_host import Host


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_repository_check_does_not_count_the_platform_backups_as_changes(tmp_path):
    repo = tmp_path / "nexus-cos"
    repo.mkdir()
    (repo / "README").write_text("platform\n")
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-qm", "initial", cwd=repo)
    backups = str(repo / "backups" / "phase4")
    written = platform_leftovers.lay_down(backup_dir=backups)
    host = LocalHost()
    host.repo_dir = str(repo)
    r = repository(host=host, ignore=(backups,))
    assert r["status"] == "PASS", r
    # Without the exclusion they would be reported: the test can tell.
    assert repository(host=host, ignore=())["msg"] == (
        "uncommitted changes nobody recorded in %s: 1 path(s): ?? backups/" % repo)
    assert platform_leftovers.changed(written) == []


def test_backup_check_passes_beside_the_platform_backups_and_leaves_them_alone(trusted_tmp):
    backups = pathlib.Path(trusted_tmp) / "backups" / "phase4"   # root's alone, as precheck 12 wants
    written = platform_leftovers.lay_down(backup_dir=str(backups))
    r = backup(LocalHost(), dir=str(backups))
    assert r["status"] == "PASS", r
    assert sorted(os.listdir(str(backups))) == [platform_leftovers.BACKUP, "pre-deployment-%s.marker" % RUN_ID]
    assert platform_leftovers.changed(written) == []


def test_latest_snapshot_is_ours_not_the_platform_backup(tmp_path):
    host = Host(tmp_path)
    host.take()
    platform_leftovers.lay_down(backup_dir=host.backup_dir)
    # "backup-..." sorts after our "2026...": only snapshot.json makes a snapshot.
    assert sorted(os.listdir(host.backup_dir))[-1] == platform_leftovers.BACKUP
    assert snapshot.find_snapshot(host.backup_dir) == host.snapshot_dir
    with pytest.raises(snapshot.SnapshotError, match="no snapshot of run %s in " % platform_leftovers.BACKUP):
        snapshot.find_snapshot(host.backup_dir, platform_leftovers.BACKUP)


def test_only_the_platform_backup_is_no_snapshot(tmp_path):
    backups = str(tmp_path / "backups")
    written = platform_leftovers.lay_down(backup_dir=backups)
    with pytest.raises(snapshot.SnapshotError, match="holds no complete snapshot"):
        snapshot.find_snapshot(backups)
    assert platform_leftovers.changed(written) == []
