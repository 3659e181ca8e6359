"""The deployment lock: whole-or-nothing creation, refusal naming the
holder, stale recovery, release only by the holder."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import deploy_lock

HOLDER = {"run_id": "r1", "user": "alice", "controller": "laptop", "pid": 4242}


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "nexus-cos-phase4-deploy.lock")


def test_acquire_writes_the_holder(path):
    state, previous = deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    assert (state, previous) == ("acquired", None)
    holder = json.load(open(path))
    assert holder["run_id"] == "r1" and holder["since"] == 1000.0 and holder["expires"] == 1600.0


def test_second_run_is_refused_naming_the_holder(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    with pytest.raises(deploy_lock.LockHeld) as info:
        deploy_lock.acquire(path, dict(HOLDER, run_id="r2", user="bob"), 600, now=1030.0)
    msg = str(info.value)
    assert "is held by run r1 (user alice on laptop, pid 4242)" in msg
    assert "since 1970-01-01 00:16:40 UTC (30s ago)" in msg
    assert "nexusctl unlock" in msg
    assert json.load(open(path))["run_id"] == "r1"


def test_same_run_id_is_already_held(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    assert deploy_lock.acquire(path, HOLDER, 600, now=1001.0) == ("held", None)


def test_expired_lease_is_recovered(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    state, previous = deploy_lock.acquire(path, dict(HOLDER, run_id="r2"), 600, now=1700.0)
    assert state == "recovered"
    assert previous["run_id"] == "r1" and previous["reason"].startswith("lease ended")
    assert json.load(open(path))["run_id"] == "r2"


def test_dead_process_on_this_host_is_recovered(path):
    proc = multiprocessing.Process(target=int)
    proc.start()
    proc.join()
    dead = dict(HOLDER, controller=socket.gethostname(), pid=proc.pid)
    deploy_lock.acquire(path, dead, 600, now=1000.0)
    state, previous = deploy_lock.acquire(path, dict(HOLDER, run_id="r2"), 600, now=1001.0)
    assert state == "recovered" and "has exited" in previous["reason"]


def test_live_process_on_this_host_keeps_the_lock(path):
    alive = dict(HOLDER, controller=socket.gethostname(), pid=os.getpid())
    deploy_lock.acquire(path, alive, 600, now=1000.0)
    with pytest.raises(deploy_lock.LockHeld):
        deploy_lock.acquire(path, dict(HOLDER, run_id="r2"), 600, now=1001.0)


def test_foreign_lock_file_is_respected_for_one_lease(path):
    with open(path, "w") as handle:
        handle.write("12345\n")  # a bare pid, as an older script wrote it
    os.utime(path, (1000.0, 1000.0))
    with pytest.raises(deploy_lock.LockHeld, match="held by run unknown"):
        deploy_lock.acquire(path, HOLDER, 600, now=1010.0)
    state, previous = deploy_lock.acquire(path, HOLDER, 600, now=1601.0)
    assert state == "recovered" and "not the JSON this tool writes" in previous["unreadable"]
    assert json.load(open(path))["run_id"] == "r1"


def test_release_only_by_the_holder(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    assert deploy_lock.release(path, "r2")[0] == "not-ours"
    assert os.path.exists(path)
    assert deploy_lock.release(path, "r1")[0] == "released"
    assert not os.path.exists(path)
    assert deploy_lock.release(path, "r1")[0] == "absent"


def test_check_mode_changes_nothing(path):
    assert deploy_lock.acquire(path, HOLDER, 600, now=1000.0, check_mode=True)[0] == "acquired"
    assert not os.path.exists(path)


def test_force_break(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    state, current = deploy_lock.force_break(path)
    assert state == "broken" and current["run_id"] == "r1" and not os.path.exists(path)


def test_assert_held(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    deploy_lock.assert_held(path, "r1")
    with pytest.raises(deploy_lock.LockError, match="does not hold the deployment lock"):
        deploy_lock.assert_held(path, "r2")


def _race(path, run_id, queue):
    try:
        queue.put((run_id, deploy_lock.acquire(path, dict(HOLDER, run_id=run_id), 600)[0]))
    except deploy_lock.LockHeld:
        queue.put((run_id, "refused"))


def test_concurrent_acquire_has_exactly_one_winner(path):
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_race, args=(path, "r%d" % i, queue)) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    outcomes = [queue.get()[1] for _ in procs]
    assert outcomes.count("acquired") == 1
    assert outcomes.count("refused") == 7


def test_recover_takes_over_only_the_named_run(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    with pytest.raises(deploy_lock.LockHeld):
        deploy_lock.acquire(path, dict(HOLDER, run_id="r3"), 600, now=1001.0, recover=("r2", "gone"))
    state, previous = deploy_lock.acquire(path, dict(HOLDER, run_id="r3"), 600, now=1001.0,
                                          recover=("r1", "controller process 4242 on laptop has exited"))
    assert state == "recovered" and previous["reason"] == "controller process 4242 on laptop has exited"
