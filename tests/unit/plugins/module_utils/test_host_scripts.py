"""The on-host scripts trust only what root alone controls: before they
import anything from a snapshot's lib/ they check, with python3 -I and the
code they carry, that root alone controls the script, the snapshot and
every file of lib/, and that each file is what the manifest recorded.
Each test tampers with a rendered snapshot, runs the script with bash and
asserts the refusal and that the planted code did not run."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, host_scripts, snapshot, trusted_path
from ansible_collections.nexus_cos.launch.plugins.module_utils.run_context import HostPaths, RunContext
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
RUN_ID = "20260115T103045Z-ab12cd"
STAMP = RUN_ID[:16]
PACKAGE_DIR = os.path.join(*snapshot.PACKAGE.split("."))
REFUSED = "refused: nothing of %s was run, because it is not root's alone or not what the snapshot recorded:"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the scripts run as root only")


class Rendered(object):
    """A snapshot with its runtime and its rollback script, under a
    directory only root can write."""

    def __init__(self, base):
        self.base = base
        self.flag_store = os.path.join(base, "feature-flags.json")
        with open(self.flag_store, "w") as handle:
            handle.write("{}\n")
        self.audit_dir = os.path.join(base, "audit")
        os.mkdir(self.audit_dir, 0o750)
        self.backup_dir = os.path.join(base, "backups")
        snapshot.take([self.flag_store], self.backup_dir, RUN_ID, STAMP, runtime_files=snapshot.runtime_files(MODULE_UTILS))
        self.snapshot_dir = os.path.join(self.backup_dir, STAMP)
        self.lib = os.path.join(self.snapshot_dir, "lib")
        self.marker = os.path.join(base, "planted-code-ran")
        self.script = host_scripts.script_path(self.audit_dir, "rollback", STAMP)
        with open(self.script, "w") as handle:
            handle.write(host_scripts.rollback_script(self.snapshot_dir, RUN_ID, "vps-1", "http://127.0.0.1:9",
                                                      self.audit_dir, os.path.join(base, "deploy.lock"), 1))
        os.chmod(self.script, 0o750)

    def module(self, name):
        return os.path.join(self.lib, PACKAGE_DIR, name)

    def planted(self):
        """Code that leaves the marker file when imported."""
        return ("open(%r, 'w').write('ran')\n" % self.marker).encode()

    def plant(self, path, record=True):
        """Replace ``path`` with the planted code; with ``record`` also
        give the manifest its hash (an attacker who could write lib/ would
        not need to, but the owner check must hold on its own)."""
        data = self.planted()
        with open(path, "wb") as handle:
            handle.write(data)
        pyc = os.path.join(os.path.dirname(path), "__pycache__")
        for name in os.listdir(pyc) if os.path.isdir(pyc) else []:
            if name.startswith(os.path.basename(path)[:-3] + "."):
                os.unlink(os.path.join(pyc, name))
        if record:
            manifest_path = os.path.join(self.snapshot_dir, "snapshot.json")
            with open(manifest_path) as handle:
                manifest = json.load(handle)
            rel = os.path.relpath(path, self.lib)
            manifest["lib"][rel] = hashlib.sha256(data).hexdigest()
            manifest["lib"] = dict((k, v) for k, v in manifest["lib"].items()
                                   if not (k.startswith(os.path.dirname(rel)) and "__pycache__" in k
                                           and os.path.basename(k).startswith(os.path.basename(rel)[:-3] + ".")))
            with open(manifest_path, "w") as handle:
                json.dump(manifest, handle)

    def run(self, *args, env=None, cwd=None):
        return subprocess.run(["bash", self.script, "--dry-run"] + list(args), capture_output=True, text=True,
                              timeout=60, check=False, env=env or {"PATH": "/usr/bin:/bin"}, cwd=cwd or self.base)


@pytest.fixture
def rendered(trusted_tmp):
    return Rendered(trusted_tmp)


def assert_refused(done, rendered, *lines):
    assert done.returncode == 1, done.stdout + done.stderr
    err = done.stderr.splitlines()
    assert err[0] == "%s: %s" % (os.path.basename(rendered.script), REFUSED % rendered.lib)
    for line in lines:
        assert "  " + line in err, done.stderr
    assert done.stdout == ""
    assert not os.path.exists(rendered.marker)


def test_an_untouched_snapshot_runs_and_says_what_it_verified(rendered):
    done = rendered.run()
    assert done.returncode == 0, done.stderr
    manifest = snapshot.load(rendered.snapshot_dir)
    assert done.stdout.splitlines()[0] == "%s: snapshot code verified (lib_sha256 %s)" % (
        os.path.basename(rendered.script), snapshot.lib_sha256(manifest))
    assert "rollback checked" in done.stdout


def test_a_lib_file_owned_by_another_user_is_refused(rendered):
    path = rendered.module("snapshot.py")
    rendered.plant(path)
    os.chown(path, 65534, 65534)
    assert_refused(rendered.run(), rendered,
                   "lib %s is owned by nobody (uid 65534), mode 0640; fix: chown root:root %s && chmod 0640 %s"
                   % (path, path, path))


def test_a_lib_file_writable_by_others_is_refused(rendered):
    path = rendered.module("snapshot.py")
    rendered.plant(path)
    os.chmod(path, 0o646)
    assert_refused(rendered.run(), rendered, "lib %s is writable by every user (mode 0646); fix: chown root:root %s "
                   "&& chmod 0640 %s" % (path, path, path))


def test_a_lib_dir_writable_by_others_is_refused(rendered):
    os.chmod(rendered.lib, 0o757)
    rendered.plant(rendered.module("snapshot.py"))
    done = rendered.run()
    assert_refused(done, rendered)
    assert ("  lib %s is writable by every user (mode 0757); expected it and every directory above it owned by root, "
            "writable by root alone and not a symlink; fix: chown root:root %s && chmod 0750 %s"
            % (rendered.lib, rendered.lib, rendered.lib)) in done.stderr.splitlines()


def test_a_lib_file_with_other_bytes_is_refused(rendered):
    path = rendered.module("snapshot.py")
    recorded = snapshot.load(rendered.snapshot_dir)["lib"][os.path.relpath(path, rendered.lib)]
    rendered.plant(path, record=False)
    assert_refused(rendered.run(), rendered, "lib %s has sha256 %s, the manifest records %s (changed after the "
                   "snapshot)" % (path, hashlib.sha256(rendered.planted()).hexdigest()[:16], recorded[:16]))


def test_a_symlink_in_lib_is_refused(rendered):
    elsewhere = os.path.join(rendered.base, "elsewhere")
    os.mkdir(elsewhere, 0o750)
    with open(os.path.join(elsewhere, "__init__.py"), "wb") as handle:
        handle.write(rendered.planted())
    link = rendered.module("planted")
    os.symlink(elsewhere, link)
    assert_refused(rendered.run(), rendered, "lib %s is a symlink to %s; fix: replace the symlink %s with the "
                   "directory or file it stands for (a symlink the collection did not make is never followed)"
                   % (link, elsewhere, link))


def test_a_file_added_to_lib_is_refused(rendered):
    extra = os.path.join(rendered.lib, "sitecustomize.py")
    with open(extra, "wb") as handle:
        handle.write(rendered.planted())
    os.chmod(extra, 0o640)
    assert_refused(rendered.run(), rendered,
                   "lib %s is not in the manifest's lib hashes (a file added after the snapshot)" % extra)


def test_a_snapshot_dir_owned_by_another_user_is_refused(rendered):
    rendered.plant(rendered.module("snapshot.py"))
    os.chown(rendered.snapshot_dir, 65534, 65534)
    done = rendered.run()
    assert_refused(done, rendered)
    assert done.stderr.splitlines()[1].startswith("  snapshot %s is owned by nobody (uid 65534), mode 0750; "
                                                  % rendered.snapshot_dir)


def test_a_script_dir_owned_by_another_user_is_refused(rendered):
    rendered.plant(rendered.module("snapshot.py"))
    os.chown(rendered.audit_dir, 65534, 65534)
    done = rendered.run()
    assert_refused(done, rendered)
    assert done.stderr.splitlines()[1].startswith(
        "  this script %s is not trusted: %s above it is owned by nobody (uid 65534)"
        % (rendered.script, rendered.audit_dir))


def test_pythonpath_and_the_current_directory_are_not_used(rendered):
    """The script's python runs isolated: a package planted in the current
    directory or on PYTHONPATH is not imported."""
    planted = os.path.join(rendered.base, "cwd")
    package = os.path.join(planted, PACKAGE_DIR)
    os.makedirs(package)
    for depth in range(len(PACKAGE_DIR.split(os.sep)) + 1):
        init = os.path.join(planted, *(PACKAGE_DIR.split(os.sep)[:depth] + ["__init__.py"]))
        with open(init, "wb") as handle:
            handle.write(rendered.planted())
    for name in ("snapshot.py", "trusted_path.py", "json.py", "os.py"):
        with open(os.path.join(package if name != "json.py" and name != "os.py" else planted, name), "wb") as handle:
            handle.write(rendered.planted())
    done = rendered.run(env={"PATH": "/usr/bin:/bin", "PYTHONPATH": planted, "PYTHONSTARTUP": os.path.join(
        planted, "os.py")}, cwd=planted)
    assert done.returncode == 0, done.stderr
    assert not os.path.exists(rendered.marker)


def test_the_script_names_itself_ours():
    assert audit_log.script_name("rollback", STAMP) == "nexus-rollback-20260115T103045Z.sh"
    assert audit_log.script_name("emergency", STAMP) == "nexus-emergency-20260115T103045Z.sh"
    with pytest.raises(ValueError):
        audit_log.script_name("restore", STAMP)


def test_both_scripts_carry_the_marker_on_their_second_line():
    for text in (host_scripts.rollback_script("/b/s", RUN_ID, "h", "http://g", "/a", "/l", 5),
                 host_scripts.emergency_script(RunContext(HostPaths("/f", "/p", "/b", "/a", "/l", "http://g"), RUN_ID,
                                                          host="h", verify_timeout=5), "/b/s")):
        assert text.splitlines()[1] == "# nexus_cos.launch rendered script run_id=%s" % RUN_ID
        assert audit_log.has_script_marker(text.encode())
        assert "PYTHONPATH" not in text and " -I " in text


def test_newest_scripts_are_ours_never_the_platforms(tmp_path):
    names = ["rollback-20260101T000000Z.sh",              # ours, before the nexus- prefix
             "nexus-rollback-20260110T000000Z.sh", "nexus-emergency-20260110T000000Z.sh",
             "rollback-20270101-000000.sh",                # the platform's, newer by name and mtime
             "emergency-20260201T000000Z.sh"]               # ours, old name, newest emergency
    for name in names:
        (tmp_path / name).write_text("#!/bin/bash\n")
    assert audit_log.newest_scripts(str(tmp_path)) == {
        "rollback": str(tmp_path / "nexus-rollback-20260110T000000Z.sh"),
        "emergency": str(tmp_path / "emergency-20260201T000000Z.sh")}
    assert audit_log.newest_scripts(str(tmp_path / "absent")) == {}


def test_lib_digest_is_independent_of_order():
    assert trusted_path.lib_digest({"a": "1", "b": "2"}) == trusted_path.lib_digest({"b": "2", "a": "1"})
    assert trusted_path.lib_digest({"a": "1"}) != trusted_path.lib_digest({"a": "2"})


def test_verifier_source_is_trusted_path_itself():
    source = host_scripts.verifier_source()
    with open(os.path.join(MODULE_UTILS, "trusted_path.py")) as handle:
        assert source.startswith(handle.read().rstrip("\n"))
    assert source.endswith("sys.exit(script_main(sys.argv[1:]))")


def test_a_snapshot_under_tmp_is_refused(tmp_path):
    """pytest's tmp_path is under /tmp, writable by every user."""
    problems, digest = trusted_path.verify_snapshot_lib(str(tmp_path))
    assert digest is None and "/tmp above it is writable by every user" in problems[0]


def test_path_problem_walks_from_the_root(trusted_tmp):
    inner = pathlib.Path(trusted_tmp) / "a" / "b"
    inner.mkdir(parents=True)
    assert trusted_path.path_problem(str(inner)) is None
    assert trusted_path.path_problem(str(inner / "missing" / "deeper")) is None
    os.chown(str(inner.parent), 65534, 0)
    found = trusted_path.path_problem(str(inner))
    assert found[0] == str(inner.parent) and found[1].startswith("owned by nobody (uid 65534)")
    assert found[2] == "chown root:root %s && chmod go-w %s" % (inner.parent, inner.parent)
