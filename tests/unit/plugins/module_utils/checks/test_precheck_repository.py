"""Precheck 6 (repository): fake git answers, and one real checkout."""

from __future__ import annotations

import os
import shutil

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.host_probe import LocalHost
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import run_checks
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.repository import parse_status, status_argv

from ansible_collections.nexus_cos.launch.tests.unit.utils.fake_host import FakeHost, stat_result
from ansible_collections.nexus_cos.launch.tests.unit.utils import repo_paths
from ansible_collections.nexus_cos.launch.tests.unit.utils.precheck_runs import assert_defaults_match, BACKUPS, git, REPO, repository

OID = "15b3e6992fa5ddf48d195e0326e4d58ed9bd61f7"
ROLE = repo_paths.role("precheck_repository")
HEADER = "# branch.oid %s\0# branch.head main\0# branch.upstream origin/main\0# branch.ab +0 -2\0" % OID
MODIFIED = "1 .M N... 100644 100644 100644 0967ef424bce 0967ef424bce config/feature-flags.json\0"


def test_clean_checkout_passes_and_records_branch_and_commit():
    r = repository((0, HEADER, ""))
    assert r["status"] == "PASS", r
    assert r["msg"] == "/opt/nexus-cos at 15b3e6992fa5 (main), clean"
    assert r["details"]["commit"] == OID and r["details"]["branch"] == "main"
    assert r["details"]["upstream"] == "origin/main" and r["details"]["ahead_behind"] == "+0 -2"


def test_backup_dir_inside_the_checkout_is_excluded():
    argv = status_argv(REPO, [BACKUPS, "/var/log/nexus-cos/phase4-audit"])
    assert argv[-2:] == [".", ":(exclude)backups/phase4"]
    assert "safe.directory=*" in argv and "--no-optional-locks" in argv


def test_uncommitted_changes_warn_naming_them():
    r = repository((0, HEADER + MODIFIED + "? notes.txt\0", ""))
    assert r["status"] == "WARN"
    assert r["msg"] == "uncommitted changes nobody recorded in /opt/nexus-cos: 2 path(s): M config/feature-flags.json, ?? notes.txt"
    assert r["details"]["uncommitted"] == 2 and r["details"]["commit"] == OID
    assert "precheck_repository_ignore_paths" in r["hint"]


def test_long_change_lists_are_cut_at_ten():
    out = HEADER + "".join("? file%02d.txt\0" % i for i in range(14))
    r = repository((0, out, ""))
    assert r["msg"].endswith("?? file09.txt, and 4 more")
    assert r["msg"].startswith("uncommitted changes nobody recorded in /opt/nexus-cos: 14 path(s): ?? file00.txt, ")


def test_detached_head_is_reported():
    r = repository((0, HEADER.replace("# branch.head main", "# branch.head (detached)"), ""))
    assert r["status"] == "PASS" and r["details"]["branch"] == "detached HEAD"
    assert r["msg"] == "/opt/nexus-cos at 15b3e6992fa5 (detached HEAD), clean"


def test_missing_directory_fails():
    r = repository(exists=False)
    assert r["status"] == "FAIL"
    assert r["msg"] == "repository directory /opt/nexus-cos does not exist; expected a git checkout of the platform"
    assert "nexus_repo_dir" in r["hint"]


def test_not_a_repository_fails():
    r = repository((128, "", "fatal: not a git repository (or any of the parent directories): .git\n"))
    assert r["msg"] == "/opt/nexus-cos is not a git work tree; expected a git checkout of the platform"


def test_head_that_does_not_resolve_fails():
    r = repository((0, "# branch.oid (initial)\0# branch.head main\0", ""))
    assert r["msg"] == ("/opt/nexus-cos has no commit checked out (HEAD does not resolve); "
                        "expected a checkout of a commit")


def test_broken_checkout_fails_with_gits_reason():
    r = repository((128, "", "error: object file .git/objects/ab/cd is empty\nfatal: loose object is corrupt\n"))
    assert r["msg"] == ("git status failed in /opt/nexus-cos (error: object file .git/objects/ab/cd is empty); "
                        "expected an intact checkout")


def test_missing_git_fails():
    host = FakeHost(stats={REPO: stat_result(mode=0o040755)}, which={"git": None})
    assert repository(host=host)["msg"] == "git not found on the host; expected git to inspect /opt/nexus-cos"


def test_parse_status_renames_unmerged_and_odd_paths():
    out = (HEADER + "2 R. N... 100644 100644 100644 aa bb R100 new name.txt\0old name.txt\0"
           "u UU N... 100644 100644 100644 100644 aa bb cc both.txt\0? dir with space/\0")
    headers, changes = parse_status(out)
    assert headers["branch.oid"] == OID
    assert changes == [("R", "new name.txt"), ("UU", "both.txt"), ("??", "dir with space/")]


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_a_real_checkout(tmp_path):
    repo = tmp_path / "nexus-cos"
    (repo / "config").mkdir(parents=True)
    (repo / "config" / "feature-flags.json").write_text("{}\n")
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-qm", "initial", cwd=repo)
    host = LocalHost()
    host.repo_dir = str(repo)
    backups = str(repo / "backups" / "phase4")
    r = repository(host=host, ignore=(backups,))
    assert r["status"] == "PASS", r
    assert r["details"]["branch"] == "main" and len(r["details"]["commit"]) == 40

    os.makedirs(backups)
    (repo / "backups" / "phase4" / "pre-deployment-x.marker").write_text("x\n")
    assert repository(host=host, ignore=(backups,))["status"] == "PASS"

    (repo / "config" / "feature-flags.json").write_text('{"a": 1}\n')
    (repo / "notes.txt").write_text("n\n")
    r = repository(host=host, ignore=(backups,))
    assert r["status"] == "WARN"
    assert r["msg"] == "uncommitted changes nobody recorded in %s: 2 path(s): M config/feature-flags.json, ?? notes.txt" % repo

    git("checkout", "-q", "--detach", cwd=repo)
    assert repository(host=host, ignore=(backups,))["details"]["branch"] == "detached HEAD"

    plain = tmp_path / "plain"
    plain.mkdir()
    host.repo_dir = str(plain)
    r = repository(host=host, ignore=())
    assert r["status"] == "FAIL" and "is not a git work tree" in r["msg"]


def test_role_defaults_match_argument_specs():
    assert_defaults_match(ROLE)


# ---------------------------------------------------------------- the launch's own changes, and write leftovers

def test_changes_a_recorded_activation_left_are_named_not_warned(tmp_path):
    """After a launch, the flag store differs from the checkout; it equals
    the after-state the launch recorded, so it is the launch's change."""
    import hashlib
    import json
    flags = b'{"feature_flags": {}}\n'
    store = REPO + "/config/feature-flags.json"
    audit, backups = "/var/log/nexus-cos/phase4-audit", BACKUPS
    state = {"activations": [{"key": "launch_global", "run_id": "20261201T100000Z-abcdef"}]}
    after = {"files": [{"path": store, "exists": True, "sha256": hashlib.sha256(flags).hexdigest()}]}
    host = FakeHost(commands={tuple(status_argv(REPO, (BACKUPS,))): (0, HEADER + MODIFIED, "")},
                    stats={REPO: stat_result(mode=0o040755)},
                    files={store: flags, audit + "/activation-state.json": json.dumps(state),
                           backups + "/20261201T100000Z/after.json": json.dumps(after)})
    plan = {"repository": {"severity": "error", "params": {"path": REPO, "ignore_paths": [BACKUPS],
                                                           "backup_dir": backups, "audit_dir": audit}}}
    r = run_checks(plan, host)[0]
    assert r["status"] == "PASS", r
    assert r["msg"].endswith("changed only by recorded activations: config/feature-flags.json (launch_global by "
                             "run 20261201T100000Z-abcdef)")
    # The same change with no record is somebody's edit.
    host.files[audit + "/activation-state.json"] = json.dumps({"activations": []})
    r = run_checks(plan, host)[0]
    assert r["status"] == "WARN" and r["msg"].startswith("uncommitted changes nobody recorded")


def test_leftovers_of_an_interrupted_write_are_named_with_their_removal():
    git = (0, HEADER + "? config/.feature-flags.json.k3x9q2a.tmp\0? config/feature-flags.json.lock\0", "")
    r = repository(git)
    assert r["status"] == "WARN"
    assert r["msg"] == ("leftovers of an interrupted write by this collection: config/.feature-flags.json.k3x9q2a.tmp, "
                        "config/feature-flags.json.lock")
    assert "rm -f config/.feature-flags.json.k3x9q2a.tmp config/feature-flags.json.lock" in r["hint"]
