"""The deployment lock: whole-or-nothing creation, refusal naming the
holder, stale recovery, release only by the holder, and the lock files of
other writers (the platform deploy script's bare pid, an empty or garbage
file)."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import time

import pytest

from ansible_collections.nexus_cos.launch.plugins.module_utils import deploy_lock
from ansible_collections.nexus_cos.launch.tests.unit.utils.processes import dead_pid, started

HOLDER = {"run_id": "r1", "user": "alice", "controller": "laptop", "pid": 4242}


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "nexus-cos-phase4-deploy.lock")


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


# ---------------------------------------------------------------- only root's files are trusted

NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")


@pytest.fixture
def sticky(tmp_path):
    """A lock directory like Debian's /run/lock: mode 1777."""
    directory = tmp_path / "lock"
    directory.mkdir()
    os.chmod(str(directory), 0o1777)
    return str(directory / "nexus-cos-phase4-deploy.lock")


def planted(path, data=b"", uid=NOBODY, mode=0o644):
    """A file another local user created first."""
    write(path, data)
    os.chown(path, uid, uid)
    os.chmod(path, mode)


def never_shown(secret, *texts):
    for text in texts:
        assert secret not in json.dumps(text, default=str)


@as_root
def test_a_guard_planted_by_another_user_is_set_aside_and_blocks_nothing(sticky):
    planted(sticky + ".guard")
    taken = deploy_lock.acquire(sticky, HOLDER, 600, now=1000.0)
    assert taken.state == "acquired"
    assert taken.events[0] == ("LOCK_UNTRUSTED_REMOVED", {"file": sticky + ".guard", "what": "guard",
                                                          "kind": "regular-file", "owner": NOBODY, "mode": "0644"})
    st = os.lstat(sticky + ".guard")
    assert (st.st_uid, st.st_mode & 0o7777) == (0, 0o600)
    # The kill switch's route to the lock: a break works past a planted guard too.
    os.unlink(sticky + ".guard")
    planted(sticky + ".guard")
    broken = deploy_lock.force_break(sticky, "incident")
    assert broken.state == "broken" and broken.events[0][0] == "LOCK_UNTRUSTED_REMOVED"


@pytest.mark.parametrize("make, kind", [
    (lambda p, target: os.symlink(target, p), "symbolic-link"),
    (lambda p, target: os.mkfifo(p), "named-pipe"),      # opening it could block: never opened
    (lambda p, target: os.mkdir(p), "directory"),
])
def test_a_guard_that_is_no_regular_file_is_set_aside_never_followed(sticky, tmp_path, make, kind):
    target = tmp_path / "elsewhere"
    target.write_text("keep me")
    make(sticky + ".guard", str(target))
    taken = deploy_lock.acquire(sticky, HOLDER, 600)
    event, fields = taken.events[0]
    assert (event, fields["what"], fields["kind"]) == ("LOCK_UNTRUSTED_REMOVED", "guard", kind)
    assert target.read_text() == "keep me" and os.path.isfile(sticky + ".guard")
    if kind == "directory":
        assert os.path.isdir(fields["moved_to"])    # a directory cannot be unlinked: renamed aside


@as_root
def test_a_fake_holder_written_by_another_user_is_not_obeyed(sticky):
    fake = {"run_id": "20990101T000000Z-evil00", "user": "root", "controller": "ops", "pid": 1,
            "since": 1000.0, "expires": 4102444800}                 # a lease to 2100
    planted(sticky, json.dumps(fake).encode())
    holder = deploy_lock.read_holder(sticky)
    assert holder["kind"] == "untrusted" and "run_id" not in holder
    assert deploy_lock.describe_holder(holder) == (
        "an untrusted file (it is owned by uid 65534 (nobody), not root: not trusted)")
    taken = deploy_lock.acquire(sticky, HOLDER, 600, now=1000.0)
    assert taken.state == "recovered"
    assert taken.previous["reason"] == "removed: the lock file is owned by uid 65534 (nobody), not root: not trusted"
    assert taken.events[0] == ("LOCK_UNTRUSTED_REMOVED", {"file": sticky, "what": "lock", "kind": "regular-file",
                                                          "owner": NOBODY, "mode": "0644"})
    assert json.load(open(sticky))["run_id"] == "r1"


def test_a_root_file_others_may_write_is_not_trusted(path):
    write(path, json.dumps(dict(HOLDER, expires=10 ** 10)))
    os.chmod(path, 0o666)
    holder = deploy_lock.read_holder(path)
    assert holder["problem"] == "is writable by group or others (mode 0666): not trusted"
    assert deploy_lock.acquire(path, dict(HOLDER, run_id="r2"), 600).state == "recovered"


def test_a_lock_that_is_a_link_never_shows_what_it_points_to(path, tmp_path):
    secret = tmp_path / "database.env"
    secret.write_text("POSTGRES_PASSWORD=hunter2-very-secret\n")
    os.symlink(str(secret), path)
    holder = deploy_lock.read_holder(path)
    assert holder["problem"] == "is a symbolic link, which is never followed: not trusted"
    taken = deploy_lock.acquire(path, HOLDER, 600)
    never_shown("hunter2", holder, deploy_lock.describe_holder(holder), taken)
    assert secret.read_text() == "POSTGRES_PASSWORD=hunter2-very-secret\n"
    assert not os.path.islink(path) and json.load(open(path))["run_id"] == "r1"


def test_an_unrecognised_root_file_is_named_by_size_never_by_content(path):
    write(path, "POSTGRES_PASSWORD=hunter2\n")
    holder = deploy_lock.read_holder(path)
    assert holder["found"] == "26 byte(s) of other content"
    never_shown("hunter2", holder, deploy_lock.describe_refusal(path, holder, time.time()))


def test_our_lock_file_is_readable_by_root_only(path):
    deploy_lock.acquire(path, HOLDER, 600)
    st = os.lstat(path)
    assert st.st_mode & 0o7777 == 0o600 and st.st_uid == os.geteuid()


@pytest.mark.parametrize("where", ["lock", "guard"])
def test_a_file_planted_again_after_each_removal_ends_in_a_refusal(path, tmp_path, monkeypatch, where):
    """The race: something re-creates the path between our removal and our
    creation. It ends in a clear refusal, fast, and no link is followed."""
    target = tmp_path / "elsewhere"
    target.write_text("keep me")
    name = path + (".guard" if where == "guard" else "")
    set_aside = deploy_lock._set_aside

    def set_aside_then_replant(p, st, what):
        record = set_aside(p, st, what)
        os.symlink(str(target), p)
        return record

    monkeypatch.setattr(deploy_lock, "_set_aside", set_aside_then_replant)
    os.symlink(str(target), name)
    started_at = time.monotonic()
    with pytest.raises(deploy_lock.LockRaced) as info:
        deploy_lock.acquire(path, HOLDER, 600)
    assert time.monotonic() - started_at < 5
    assert str(info.value) == (
        "deployment lock%s %s: an untrusted file was planted there again each time it was removed (3 times), so the "
        "lock is refused rather than waited on; find the process that creates it"
        % (" guard" if where == "guard" else "", name))
    assert target.read_text() == "keep me"


@as_root
def test_the_lock_directory_must_be_roots(tmp_path):
    directory = tmp_path / "lockdir"
    directory.mkdir()
    os.chown(str(directory), NOBODY, NOBODY)
    with pytest.raises(deploy_lock.LockError, match=r"lock directory .* is owned by uid 65534 \(nobody\), not root: "
                                                    r"not trusted"):
        deploy_lock.acquire(str(directory / "x.lock"), HOLDER, 600)
    os.chown(str(directory), 0, 0)
    os.chmod(str(directory), 0o777)
    with pytest.raises(deploy_lock.LockError, match=r"writable by others and not sticky \(mode 0777\)"):
        deploy_lock.acquire(str(directory / "x.lock"), HOLDER, 600)


# ---------------------------------------------------------------- a lock lost during the run

def test_a_lock_removed_by_another_tool_is_said_in_words(path):
    deploy_lock.acquire(path, HOLDER, 600)
    os.unlink(path)        # the platform script: "Stale lock file found, removing"
    with pytest.raises(deploy_lock.LockLost) as info:
        deploy_lock.assert_held(path, "r1")
    assert str(info.value) == ("run r1 does not hold the deployment lock %s: another tool removed the deployment lock "
                               "during this run (there is no lock file)" % path)
    assert info.value.event == ("LOCK_LOST", {"found": "absent"})


def test_a_lock_replaced_by_another_tool_names_what_holds_it_now(path):
    deploy_lock.acquire(path, HOLDER, 600)
    write(path, "4711\n")
    with pytest.raises(deploy_lock.LockLost) as info:
        deploy_lock.assert_held(path, "r1")
    assert str(info.value).startswith("run r1 does not hold the deployment lock %s: another tool replaced the "
                                      "deployment lock during this run: it now holds the platform's deploy script ("
                                      % path)
    assert info.value.event == ("LOCK_LOST", {"found": "platform-deploy-script", "holder_pid": 4711})
