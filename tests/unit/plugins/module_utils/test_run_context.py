"""One run on a host in one object (plugins/module_utils/run_context.py):
what it defaults, what it refuses, and the kill switch's scripts rendered
from it."""

from __future__ import annotations

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import host_scripts
from ansible_collections.nexus_cos.launch.plugins.module_utils.run_context import HostPaths, RunContext

RUN_ID = "20261201T100000Z-abc123"


def paths():
    return HostPaths("/opt/nexus-cos/config/feature-flags.json", "/opt/nexus-cos/pfs", "/var/backups/nexus-cos",
                     "/var/log/nexus-cos/phase4-audit", "/run/nexus-cos/deploy.lock", "http://127.0.0.1:8080")


def test_the_stamp_is_the_run_ids_and_the_holder_names_the_run():
    run = RunContext(paths(), RUN_ID, holder={"user": "ops"})
    assert run.stamp == "20261201T100000Z"
    assert run.holder == {"user": "ops", "run_id": RUN_ID}
    assert (run.verify_timeout, run.lease_seconds, run.via, run.host) == (20.0, 1800, "ansible", None)
    assert RunContext(paths(), RUN_ID, stamp="20261201T100005Z").stamp == "20261201T100005Z"


def test_the_callers_holder_is_not_changed():
    holder = {"user": "ops"}
    RunContext(paths(), RUN_ID, holder=holder)
    assert holder == {"user": "ops"}


def test_paths_must_be_host_paths():
    with pytest.raises(TypeError, match="paths: expected a HostPaths, found dict"):
        RunContext({"audit_dir": "/a"}, RUN_ID)


@pytest.mark.parametrize("run_id", [None, "", 42])
def test_a_run_needs_its_id(run_id):
    with pytest.raises(ValueError, match="run_id: expected the run's id"):
        RunContext(paths(), run_id)


def test_the_emergency_script_names_every_path_of_the_run():
    run = RunContext(paths(), RUN_ID, host="vps-1", verify_timeout=7.9)
    text = host_scripts.emergency_script(run, "/var/backups/nexus-cos/20261201T100000Z")
    for line in ("snapshot_dir=/var/backups/nexus-cos/20261201T100000Z",
                 "flag_store=/opt/nexus-cos/config/feature-flags.json", "pf_dir=/opt/nexus-cos/pfs",
                 "backup_dir=/var/backups/nexus-cos", "gateway_url=http://127.0.0.1:8080",
                 "audit_dir=/var/log/nexus-cos/phase4-audit", "lock_path=/run/nexus-cos/deploy.lock",
                 "verify_timeout=7"):
        assert "\n%s\n" % line in text, line
    assert "Rendered by run %s on vps-1;" % RUN_ID in text
