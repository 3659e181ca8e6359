"""The deployment lock when the audit trail cannot be written (a full
disk): never a leaked lock, never a hidden holder, and the message names the
file that failed, its filesystem and the reason in words."""

from __future__ import annotations

import errno
import os

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, deploy_lock
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import mount_point, os_error_text
from ansible_collections.nexus_cos.launch.plugins.modules import deploy_lock as lock_module

from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import run_module


pytestmark = pytest.mark.usefixtures("module_exits")

RUN = "20261201T100000Z-abcdef"
AUDIT_FILE = "deployment-20261201T100000Z.log"


@pytest.fixture
def full_disk(monkeypatch, tmp_path):
    """Every audit record write fails as on a full filesystem."""
    def records(self, events):
        raise OSError(errno.ENOSPC, "No space left on device", os.path.join(self.audit_dir, self.filename))
    monkeypatch.setattr(audit_log.AuditLog, "records", records)
    return tmp_path


def acquire(tmp_path, **extra):
    args = {"path": str(tmp_path / "deploy.lock"), "run_id": RUN, "audit_dir": str(tmp_path / "audit"),
            "audit_file": AUDIT_FILE, "holder": {"user": "ops", "controller": "laptop", "pid": 1}}
    args.update(extra)
    return run_module(lock_module.main, args)


def test_a_run_whose_start_cannot_be_audited_does_not_keep_the_lock(full_disk):
    out = acquire(full_disk)
    assert out.failed
    msg = out.result["msg"]
    assert msg.startswith("the audit trail cannot be written, so the run does not start: no space left on device "
                          "writing %s" % os.path.join(str(full_disk / "audit"), AUDIT_FILE))
    assert "(filesystem %s: " % mount_point(str(full_disk)) in msg
    assert "was released again; nothing was changed" in msg
    assert not os.path.exists(full_disk / "deploy.lock")


def test_a_refusal_still_names_the_holder_when_its_record_cannot_be_written(full_disk):
    held = {"run_id": "20261201T090000Z-0a0b0c", "user": "alice", "controller": "elsewhere", "pid": 4242}
    deploy_lock.acquire(str(full_disk / "deploy.lock"), held, 1800)
    out = acquire(full_disk)
    assert out.failed and out.result["lock"] == "refused"
    assert out.result["holder"]["run_id"] == "20261201T090000Z-0a0b0c"
    assert "is held by run 20261201T090000Z-0a0b0c (user alice on elsewhere, pid 4242)" in out.result["msg"]
    assert "(the LOCK_REFUSED record could not be written: no space left on device writing" in out.result["msg"]


def test_releasing_works_and_says_which_records_were_lost(full_disk):
    deploy_lock.acquire(str(full_disk / "deploy.lock"), {"run_id": RUN}, 1800)
    out = acquire(full_disk, state="released",
                  audit_events=[{"event": "DEPLOYMENT_COMPLETE", "fields": {"status": "success"}}])
    assert out.failed and not os.path.exists(full_disk / "deploy.lock")
    assert out.result["msg"].startswith("the deployment lock %s was released, but the run's closing records "
                                        "(DEPLOYMENT_COMPLETE, LOCK_RELEASED) could not be written: no space left"
                                        % (full_disk / "deploy.lock"))


def test_os_error_text_names_file_and_filesystem(tmp_path):
    text = os_error_text(OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.log")))
    assert text.startswith("no space left on device writing %s (filesystem " % (tmp_path / "x.log"))
    assert os_error_text(OSError(errno.EACCES, "Permission denied"), "/a/b") == "permission denied writing /a/b"
