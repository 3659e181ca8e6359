"""What the platform's own deploy script (deploy-phase-4-full-launch.sh)
leaves on a host, from tests/fixtures/platform_leftovers/ (the same files
molecule/platform-leftovers lays down): two console logs in the audit
directory (one of a failed run, one of a run killed mid-way, without its
final newline), their precheck logs, a rollback script (0755), and a backup
directory of its own under the backup dir."""

from __future__ import annotations

import os
import shutil
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

FIXTURE = os.path.join(ROOT, "tests", "fixtures", "platform_leftovers")
AUDIT_FILES = {   # name -> mode, as the script leaves them under the default umask
    "deployment-20250101-101010.log": 0o644,
    "deployment-20250102-093000.log": 0o644,
    "precheck-20250101-101010.log": 0o644,
    "precheck-20250102-093000.log": 0o644,
    "rollback-20250101-101010.sh": 0o755,
}
CONSOLE_LOGS = ("deployment-20250101-101010.log", "deployment-20250102-093000.log")
SCRIPT = "rollback-20250101-101010.sh"
# What audit verify and precheck 11 say of the platform's rollback script.
SCRIPT_NOT_OURS = ("rollback script of the platform's deploy script (deploy-phase-4-full-launch.sh): not ours (no "
                   "'# nexus_cos.launch rendered script' line; this collection's are nexus-rollback-<UTC stamp>.sh), "
                   "never run by it")
BACKUP = "backup-20250101-101010"
# What audit verify says of the two console logs.
FIRST_LOG = ("console log of the platform's deploy script (deploy-phase-4-full-launch.sh): no line carries run=, "
             "seq=, prev= or chain= (41 lines, 15 unchained [AUDIT] records)")
KILLED_LOG = ("console log of the platform's deploy script (deploy-phase-4-full-launch.sh): no line carries run=, "
              "seq=, prev= or chain= (15 lines, 5 unchained [AUDIT] records)")


def read(name):
    with open(os.path.join(FIXTURE, "audit", name), "rb") as handle:
        return handle.read()


def lay_down(audit_dir=None, backup_dir=None):
    """Copy the leftovers into ``audit_dir`` and ``backup_dir`` with the
    script's modes; {path: (bytes, mode)} of what was written."""
    written = {}
    if audit_dir:
        os.makedirs(audit_dir, exist_ok=True)
        for name, mode in AUDIT_FILES.items():
            path = os.path.join(audit_dir, name)
            shutil.copyfile(os.path.join(FIXTURE, "audit", name), path)
            os.chmod(path, mode)
            written[path] = (read(name), mode)
    if backup_dir:
        source = os.path.join(FIXTURE, "backups", "phase4", BACKUP)
        shutil.copytree(source, os.path.join(backup_dir, BACKUP), dirs_exist_ok=True)
        for top, dummy, names in os.walk(os.path.join(backup_dir, BACKUP)):
            for name in names:
                path = os.path.join(top, name)
                with open(path, "rb") as handle:
                    written[path] = (handle.read(), 0o644)
                os.chmod(path, 0o644)
    return written


def changed(written):
    """Paths among ``written`` whose bytes or mode differ now."""
    changed = []
    for path, (data, mode) in written.items():
        with open(path, "rb") as handle:
            if handle.read() != data or (os.stat(path).st_mode & 0o7777) != mode:
                changed.append(path)
    return changed
