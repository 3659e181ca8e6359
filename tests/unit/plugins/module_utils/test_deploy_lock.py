"""The deployment lock: whole-or-nothing creation, refusal naming the
holder, stale recovery, release only by the holder, and the lock files of
other writers (the platform deploy script's bare pid, an empty or garbage
file)."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import time

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import deploy_lock

HOLDER = {"run_id": "r1", "user": "alice", "controller": "laptop", "pid": 4242}


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "nexus-cos-phase4-deploy.lock")


def dead_pid():
    """A pid that ran a moment ago and is not running now."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def started(argv):
    """A running process, once it has exec'd ``argv`` (until then its
    command line is still the parent's)."""
    proc = subprocess.Popen(argv)
    deadline = time.monotonic() + 10
    while deploy_lock.process_command(proc.pid) != " ".join(argv) and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc


@pytest.fixture
def live_process():
    proc = started(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def write(path, data, mtime=None):
    with open(path, "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def test_acquire_writes_the_holder(path):
    taken = deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    assert (taken.state, taken.previous) == ("acquired", None)
    assert taken.events == [("LOCK_ACQUIRED", {"pid": 4242, "timestamp": 1000})]
    holder = json.load(open(path))
    assert holder["run_id"] == "r1" and holder["since"] == 1000.0 and holder["expires"] == 1600.0
    assert "kind" not in holder    # what a holder is comes from reading it, never from the file


def test_second_run_is_refused_naming_the_holder(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    with pytest.raises(deploy_lock.LockHeld) as info:
        deploy_lock.acquire(path, dict(HOLDER, run_id="r2", user="bob"), 600, now=1030.0)
    msg = str(info.value)
    assert "is held by run r1 (user alice on laptop, pid 4242)" in msg
    assert "since 1970-01-01 00:16:40 UTC (30s ago)" in msg
    assert "nexusctl unlock --reason TEXT" in msg
    assert info.value.event == ("LOCK_REFUSED", {"holder": "nexus_cos.launch", "holder_run": "r1",
                                                 "holder_user": "alice", "holder_pid": 4242})
    assert json.load(open(path))["run_id"] == "r1"


def test_same_run_id_is_already_held(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    assert deploy_lock.acquire(path, HOLDER, 600, now=1001.0) == ("held", None, [])


def test_expired_lease_is_recovered(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    taken = deploy_lock.acquire(path, dict(HOLDER, run_id="r2"), 600, now=1700.0)
    assert taken.state == "recovered"
    assert taken.previous["run_id"] == "r1" and taken.previous["reason"].startswith("lease ended")
    assert taken.events[0] == ("LOCK_STALE_RECOVERED", {
        "holder": "nexus_cos.launch", "previous_run": "r1", "previous_user": "alice", "previous_pid": 4242,
        "reason": "lease ended 1970-01-01 00:26:40 UTC"})
    assert taken.events[1][0] == "LOCK_ACQUIRED"
    assert json.load(open(path))["run_id"] == "r2"


def test_dead_process_on_this_host_is_recovered(path):
    proc = multiprocessing.Process(target=int)
    proc.start()
    proc.join()
    dead = dict(HOLDER, controller=socket.gethostname(), pid=proc.pid)
    deploy_lock.acquire(path, dead, 600, now=1000.0)
    taken = deploy_lock.acquire(path, dict(HOLDER, run_id="r2"), 600, now=1001.0)
    assert taken.state == "recovered" and "has exited" in taken.previous["reason"]


def test_live_process_on_this_host_keeps_the_lock(path):
    alive = dict(HOLDER, controller=socket.gethostname(), pid=os.getpid())
    deploy_lock.acquire(path, alive, 600, now=1000.0)
    with pytest.raises(deploy_lock.LockHeld):
        deploy_lock.acquire(path, dict(HOLDER, run_id="r2"), 600, now=1001.0)


# ---------------------------------------------------------------- what the lock file holds

@pytest.mark.parametrize("content, kind", [
    ('{"run_id": "r9", "user": "bob"}\n', "nexus_cos.launch"),
    ("12345\n", "platform-deploy-script"),          # what the platform's deploy script writes
    ("12345", "platform-deploy-script"),
    ("  12345 \n\n", "platform-deploy-script"),
    ("", "unrecognised"),
    ("\n", "unrecognised"),
    (b"\xff\xfe garbage\x00\n", "unrecognised"),   # not even UTF-8
    ("0\n", "unrecognised"),                         # kill(0) would signal our own process group
    ("-5\n", "unrecognised"),
    ("12345 67890\n", "unrecognised"),
    ("12345678901\n", "unrecognised"),               # more digits than any pid
    ("[1, 2]\n", "unrecognised"),
    ('{"user": "bob"}\n', "unrecognised"),           # JSON, but no run names itself
    ('{"run_id": ""}\n', "unrecognised"),
    ("pid=12345\n", "unrecognised"),
])
def test_every_lock_file_has_a_kind(path, content, kind):
    write(path, content, mtime=1000.0)
    holder = deploy_lock.read_holder(path, 600)
    assert holder["kind"] == kind
    if kind == "platform-deploy-script":
        assert holder["pid"] == 12345 and holder["since"] == 1000.0
    if kind == "unrecognised":
        assert holder["since"] == 1000.0 and holder["expires"] == 1600.0 and holder["found"]
    # Whatever the content, the message names the holder and the way out, with no traceback.
    msg = deploy_lock.describe_refusal(path, holder, 1010.0)
    assert msg.startswith("deployment lock %s " % path) and "nexusctl unlock --reason TEXT" in msg


def test_platform_lock_of_a_process_that_is_gone_is_taken_over(path):
    pid = dead_pid()
    write(path, "%d\n" % pid)
    taken = deploy_lock.acquire(path, HOLDER, 600)
    assert taken.state == "recovered"
    assert taken.previous["kind"] == "platform-deploy-script" and taken.previous["pid"] == pid
    assert taken.events[0] == ("LOCK_STALE_RECOVERED", {
        "holder": "platform-deploy-script", "previous_pid": pid,
        "reason": "process %d of the platform's deploy script is not running" % pid})
    assert json.load(open(path))["run_id"] == "r1"


def test_platform_lock_of_a_running_process_is_refused_naming_pid_and_command(path, live_process):
    write(path, "%d\n" % live_process.pid, mtime=1000.0)
    with pytest.raises(deploy_lock.LockHeld) as info:
        deploy_lock.acquire(path, HOLDER, 600, now=1030.0)
    assert str(info.value) == (
        "deployment lock %s is held by the platform's deploy script (deploy-phase-4-full-launch.sh; bare pid %d "
        "in the lock, process %d running: sleep 60), written 1970-01-01 00:16:40 UTC (30s ago). Wait for that "
        "script to finish. If process %d is not that script (its pid was reused), break it now with: nexusctl "
        "unlock --reason TEXT (audited as LOCK_BROKEN), or on the host without the controller: rm %s"
        % (path, live_process.pid, live_process.pid, live_process.pid, path))
    assert info.value.event == ("LOCK_REFUSED", {"holder": "platform-deploy-script", "holder_pid": live_process.pid})
    with open(path) as handle:
        assert handle.read() == "%d\n" % live_process.pid     # left exactly as it was


def test_platform_lock_is_not_subject_to_a_lease(path, live_process):
    """The platform script has no lease: a running one keeps its lock however old."""
    write(path, "%d\n" % live_process.pid, mtime=1000.0)
    with pytest.raises(deploy_lock.LockHeld):
        deploy_lock.acquire(path, HOLDER, 600, now=1000.0 + 86400 * 30)


@pytest.mark.parametrize("content, found", [
    ("", "an empty file"),
    ("\n \n", "only whitespace (3 byte(s))"),
    # Kind and size, never the content: even a root-owned file may hold a secret.
    (b"\xff\xfegarbage\n", "10 byte(s) of other content"),
])
def test_unrecognised_lock_is_refused_with_what_was_found_then_recovered_after_a_lease(path, content, found):
    write(path, content, mtime=1000.0)
    with pytest.raises(deploy_lock.LockHeld) as info:
        deploy_lock.acquire(path, HOLDER, 600, now=1010.0)
    assert str(info.value) == (
        "deployment lock %s is an unrecognised lock file (neither this collection's JSON nor the platform deploy "
        "script's bare pid; found %s), written 1970-01-01 00:16:40 UTC (10s ago), so nothing names its holder. "
        "It is taken over when its lease ends 1970-01-01 00:26:40 UTC. If no deployment is running, break it now "
        "with: nexusctl unlock --reason TEXT (audited as LOCK_BROKEN), or on the host without the controller: rm %s"
        % (path, found, path))
    assert info.value.event == ("LOCK_REFUSED", {"holder": "unrecognised"})
    taken = deploy_lock.acquire(path, HOLDER, 600, now=1601.0)
    assert taken.state == "recovered"
    assert taken.events[0] == ("LOCK_STALE_RECOVERED", {"holder": "unrecognised",
                                                        "reason": "lease ended 1970-01-01 00:26:40 UTC"})
    assert json.load(open(path))["run_id"] == "r1"


def test_process_command_hides_secret_values(tmp_path):
    proc = tmp_path / "proc"
    (proc / "77").mkdir(parents=True)
    (proc / "77" / "cmdline").write_bytes(
        b"psql\0--password\0hunter2\0PGPASSWORD=s3cret\0--api-key=abc\0-c\0select 1\0")
    assert deploy_lock.process_command(77, proc=str(proc)) == (
        "psql --password *** PGPASSWORD=*** --api-key=*** -c select 1")
    (proc / "78").mkdir()
    (proc / "78" / "cmdline").write_bytes(b"bash\0" + b"x" * 500 + b"\0")
    shown = deploy_lock.process_command(78, proc=str(proc))
    assert len(shown) == deploy_lock.COMMAND_LIMIT and shown.endswith("...")
    (proc / "79").mkdir()
    (proc / "79" / "cmdline").write_bytes(b"")     # a kernel thread or a zombie
    assert deploy_lock.process_command(79, proc=str(proc)) is None
    assert deploy_lock.process_command(80, proc=str(proc)) is None


def test_pid_alive():
    assert deploy_lock.pid_alive(os.getpid())
    assert not deploy_lock.pid_alive(dead_pid())
    assert not deploy_lock.pid_alive(2 ** 40)


# ---------------------------------------------------------------- release and break

def test_release_only_by_the_holder(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    assert deploy_lock.release(path, "r2")[0] == "not-ours"
    assert os.path.exists(path)
    assert deploy_lock.release(path, "r1")[0] == "released"
    assert not os.path.exists(path)
    assert deploy_lock.release(path, "r1")[0] == "absent"


def test_release_never_removes_the_platform_scripts_lock(path):
    write(path, "%d\n" % dead_pid())
    state, current = deploy_lock.release(path, "r1")
    assert state == "not-ours" and current["kind"] == "platform-deploy-script" and os.path.exists(path)


def test_check_mode_changes_nothing(path):
    assert deploy_lock.acquire(path, HOLDER, 600, now=1000.0, check_mode=True).state == "acquired"
    assert not os.path.exists(path)
    write(path, "%d\n" % dead_pid())
    assert deploy_lock.acquire(path, HOLDER, 600, check_mode=True).state == "recovered"
    assert deploy_lock.read_holder(path)["kind"] == "platform-deploy-script"


def test_force_break(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    broken = deploy_lock.force_break(path, "laptop died")
    assert broken.state == "broken" and broken.previous["run_id"] == "r1" and not os.path.exists(path)
    assert broken.events == [("LOCK_BROKEN", {"holder": "nexus_cos.launch", "previous_run": "r1",
                                              "previous_user": "alice", "previous_pid": 4242,
                                              "holder_state": "dead", "reason": "laptop died"})]
    assert deploy_lock.force_break(path, "again") == ("absent", None, [])


def test_force_break_of_a_running_platform_script_says_it_may_be_running(path, live_process):
    write(path, "%d\n" % live_process.pid)
    broken = deploy_lock.force_break(path, "pid reused by sleep")
    assert broken.events[0][1] == {"holder": "platform-deploy-script", "previous_pid": live_process.pid,
                                   "holder_state": "may-be-running", "reason": "pid reused by sleep"}
    assert not os.path.exists(path)


def test_assert_held(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    deploy_lock.assert_held(path, "r1")
    with pytest.raises(deploy_lock.LockError, match="another tool replaced the deployment lock during this run"):
        deploy_lock.assert_held(path, "r2")
    write(path, "12345\n")
    with pytest.raises(deploy_lock.LockError, match=r"it now holds the platform's deploy script \("):
        deploy_lock.assert_held(path, "r1")


def _race(path, run_id, queue):
    try:
        queue.put((run_id, deploy_lock.acquire(path, dict(HOLDER, run_id=run_id), 600).state))
    except deploy_lock.LockHeld:
        queue.put((run_id, "refused"))


@pytest.mark.parametrize("before, winner", [
    (None, "acquired"),
    ("dead platform lock", "recovered"),     # all judge it dead; one takes it over
])
def test_concurrent_acquire_has_exactly_one_winner(path, before, winner):
    if before:
        write(path, "%d\n" % dead_pid())
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_race, args=(path, "r%d" % i, queue)) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    outcomes = [queue.get(timeout=30)[1] for dummy in procs]
    assert outcomes.count(winner) == 1
    assert outcomes.count("refused") == 7


def test_recover_takes_over_only_the_named_run(path):
    deploy_lock.acquire(path, HOLDER, 600, now=1000.0)
    with pytest.raises(deploy_lock.LockHeld):
        deploy_lock.acquire(path, dict(HOLDER, run_id="r3"), 600, now=1001.0, recover=("r2", "gone"))
    taken = deploy_lock.acquire(path, dict(HOLDER, run_id="r3"), 600, now=1001.0,
                                recover=("r1", "controller process 4242 on laptop has exited"))
    assert taken.state == "recovered" and taken.previous["reason"] == "controller process 4242 on laptop has exited"


def test_odd_values_in_our_json_still_make_an_audit_record(path):
    write(path, json.dumps({"run_id": "r9", "user": {"name": "x"}, "pid": [1], "expires": 10 ** 12}))
    with pytest.raises(deploy_lock.LockHeld) as info:
        deploy_lock.acquire(path, HOLDER, 600)
    assert info.value.event == ("LOCK_REFUSED", {"holder": "nexus_cos.launch", "holder_run": "r9",
                                                 "holder_user": '{"name": "x"}', "holder_pid": "[1]"})
