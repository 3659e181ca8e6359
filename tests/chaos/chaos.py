# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""make chaos: the collection tried as a hostile operator would, against its
own sandbox VPS (started with sandbox/bin/sandbox-up, removed at the end
unless --keep). Five families, each bounded in count and time; one line
each: trials, held, lost (and the first few losses, explained).

concurrent  N phase4.yml runs started at one instant: the runs that got the
            lock never overlap (their DEPLOYMENT_START..COMPLETE spans are
            disjoint), every other run is refused naming the holder's run,
            no lock is left, the chain verifies. A trial is one run.
kills       K SIGKILLs at a random point of marketplace step 1, the
            emergency switch or a rollback, to the remote module or to the
            controller (ansible-playbook's process group). After each: the
            flag store parses and every file equals its bytes before or its
            predicted after-state, the chain verifies, the next command (a
            rollback of the killed run, from this controller, no hand edit)
            succeeds, and the files are then the pre-activation bytes.
            The kill time is drawn within the run's length (learned from
            the runs that ended before it); how many kills landed in a run
            in flight is said.
auditfull   the audit directory on a small tmpfs filled to several levels,
            for phase4 and step 1: no lock left, no activation on record
            that is not in effect, nothing changed unless on record, and a
            run that fails says so (no space left).
gateway     gateway stopped, 500 on reload, 500 on health, 40 s slow, for
            step 1: the files restored byte for byte, one clear failure
            message, no advice to --force.
linkdrop    the controller's link cut mid-run, over SSH as production runs
            (deploy user, become, ControlPersist): marketplace step 1, the
            global launch (two test approvers) and the kill switch in turn,
            at a time drawn within the run's length (as kills). The cut
            kills the sandbox's sshd of the session or drops port 22's
            packets a few seconds. After each: the files are their before or
            after bytes, the chain verifies, the gateway serves what the
            recorded activations say (mode, marketplace phase), and status
            then a rollback of the cut run, over SSH, recover the bytes before.

Standard library only; it drives ansible-playbook and podman.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log  # noqa: E402
from ansible_collections.nexus_cos.launch.plugins.plugin_utils import approvals  # noqa: E402

SANDBOX_BIN = os.path.join(ROOT, "sandbox", "bin")
ENGINE_ENV = dict(os.environ, CONTAINERS_CONF=os.environ.get("CONTAINERS_CONF")
                  or os.path.join(ROOT, "sandbox", "containers.conf"))
AUDIT_DIR = "/var/log/nexus-cos/phase4-audit"
LOCK_PATH = "/var/lock/nexus-cos-phase4-deploy.lock"
FLAG_STORE = "/opt/nexus-cos/config/feature-flags.json"
PF_DIR = "/opt/nexus-cos/pfs"
PF_FILES = ("marketplace-phase3.yaml", "global-launch.yaml", "founder-public-transition.yaml", "jurisdiction-engine.yaml")
FILES = (FLAG_STORE,) + tuple(PF_DIR + "/" + name for name in PF_FILES)
FAULTS = "/etc/nexus-cos/gateway-faults.json"
STATE_FILE = AUDIT_DIR + "/activation-state.json"
FORCE = "chaos suite: gate forced on a test bed"

INVENTORY = """all:
  children:
    nexus_vps:
      vars:
        nexus_environment: sandbox
      hosts:
        {name}:
          ansible_connection: community.docker.docker_api
          ansible_docker_docker_host: {docker_host}
          ansible_python_interpreter: /usr/bin/python3
          ansible_docker_timeout: 120
          ansible_docker_api_version: "1.41"
"""


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class Box(object):
    """The sandbox VPS: commands in it, its files, and playbook runs on it."""

    def __init__(self, name, workdir, inventory=None, inventory_name="hosts.yml"):
        """``inventory``: the text of the inventory its runs use (default:
        the docker_api connection); commands and files always go through
        podman exec, which no cut of the runs' link reaches."""
        self.name = name
        self.workdir = workdir
        self.inventory = os.path.join(workdir, inventory_name)
        if inventory is None:
            inventory = INVENTORY.format(name=name, docker_host=os.environ.get(
                "NEXUS_SANDBOX_DOCKER_HOST", "unix:///run/nexus-cos-sandbox/podman.sock"))
        with open(self.inventory, "w") as handle:
            handle.write(inventory)
        self.seq = 0

    def sh(self, script, check=True, timeout=120):
        proc = subprocess.run(["podman", "exec", self.name, "bash", "-c", script], capture_output=True, text=True,
                              env=ENGINE_ENV, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError("in %s: %s: %s" % (self.name, script[:200], (proc.stderr or proc.stdout)[-800:]))
        return proc.stdout

    def hashes(self):
        out = self.sh("sha256sum %s" % " ".join(FILES))
        return dict((line.split()[1], line.split()[0]) for line in out.splitlines() if line.strip())

    def store_parses(self):
        try:
            json.loads(self.sh("cat %s" % FLAG_STORE))
            return True
        except ValueError:
            return False

    def read(self, path):
        return self.sh("cat %s 2>/dev/null || true" % path)

    def lock_left(self):
        return self.sh("test -e %s && echo yes || true" % LOCK_PATH).strip() == "yes"

    def chain_ok(self):
        """(ok, problem) of the host's audit chain, verified on a copy."""
        copy = tempfile.mkdtemp(dir=self.workdir)
        try:
            tar = subprocess.run(["podman", "exec", self.name, "tar", "-C", AUDIT_DIR, "-cf", "-", "."],
                                 capture_output=True, env=ENGINE_ENV, timeout=120, check=False)
            subprocess.run(["tar", "-C", copy, "-xf", "-"], input=tar.stdout, check=True, capture_output=True)
            result = audit_log.verify_dir(copy)
            return result.ok, "" if result.ok else str(getattr(result, "problems", result))[:300]
        finally:
            shutil.rmtree(copy, ignore_errors=True)

    def run_id(self):
        self.seq += 1
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        return "%s-ch%04d" % (stamp, self.seq % 10000)

    def start(self, playbook, *args, run_id=None, env=None):
        """A playbook run in its own process group: (Popen, run_id). ``env``:
        more environment (an approvals file)."""
        run_id = run_id or self.run_id()
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   CONTAINERS_CONF=ENGINE_ENV["CONTAINERS_CONF"], **(env or {}))
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", self.inventory,
               os.path.join(ROOT, "playbooks", playbook), "-e", "nexus_run_id=%s" % run_id] + list(args)
        out = tempfile.NamedTemporaryFile(mode="w+", dir=self.workdir, delete=False)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        proc.out_path = out.name
        out.close()
        return proc, run_id

    @staticmethod
    def finish(proc, timeout=600):
        """(rc, [failure messages]) of a run started with start()."""
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with open(proc.out_path) as handle:
            text = handle.read()
        os.unlink(proc.out_path)
        return proc.returncode, failures(text)

    def play(self, playbook, *args, run_id=None, timeout=600):
        proc, run_id = self.start(playbook, *args, run_id=run_id)
        rc, msgs = self.finish(proc, timeout)
        return rc, msgs, run_id

    def module_pids(self):
        # A pipelined module is a bare "/usr/bin/python3" reading its code
        # from stdin; [A] keeps the pattern from matching this very bash -c.
        out = self.sh("pgrep -f '[A]nsiballZ_|^/usr/bin/python3$' || true")
        return [int(p) for p in out.split()]

    def wait_modules_gone(self, limit=90):
        end = time.monotonic() + limit
        while self.module_pids() and time.monotonic() < end:
            time.sleep(1)

    def faults(self, knobs):
        if knobs:
            self.sh("cat > %s <<'EOF'\n%s\nEOF" % (FAULTS, json.dumps(knobs)))
        else:
            self.sh("rm -f %s" % FAULTS)


def failures(text):
    """The failure messages of an ansible.posix.json run (or its raw tail)."""
    start = text.find("{")
    try:
        out = json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        out = None
    if not isinstance(out, dict):
        # No report (killed, or a crash before the callback wrote it).
        return [FAILED_TASK + text[-1500:]] if text.strip() else []
    msgs = []
    for play in out.get("plays", []):
        for task in play.get("tasks", []):
            for result in task.get("hosts", {}).values():
                # What the run tells the operator: its fail tasks (the
                # stage that failed, then deploy_finish closing the run).
                if result.get("failed"):
                    msg = result.get("msg", "")
                    msg = "\n".join(msg) if isinstance(msg, list) else str(msg)
                    msgs.append(msg if result.get("action") in ("fail", "ansible.builtin.fail") else FAILED_TASK + msg)
    return msgs


FAILED_TASK = "[task] "


def one_message(msgs):
    """The run's final message, when it says everything the run's fail
    tasks said (deploy_finish repeats the stage's message), else None."""
    msgs = [m for m in msgs if not m.startswith(FAILED_TASK)]
    if not msgs:
        return None
    final = msgs[-1]
    return final if all(m.strip() in final for m in msgs) else None


class Family(object):
    def __init__(self, name, budget):
        self.name = name
        self.trials = self.held = self.lost = 0
        self.notes = []
        self.deadline = time.monotonic() + budget
        self.cut = False

    def time_left(self):
        if time.monotonic() >= self.deadline:
            self.cut = True
            return False
        return True

    def count(self, problems, what):
        self.trials += 1
        if problems:
            self.lost += 1
            self.notes.append("%s: %s" % (what, "; ".join(problems))[:600])
        else:
            self.held += 1
        # Progress of a long family, on stderr: stdout keeps one line a family.
        sys.stderr.write("chaos %s %d: %s (%s)\n" % (self.name, self.trials, "LOST" if problems else "held", what))
        sys.stderr.flush()

    def line(self):
        return "chaos %-10s trials %3d  held %3d  lost %3d%s" % (
            self.name, self.trials, self.held, self.lost, "  (stopped at its time limit)" if self.cut else "")


# ---------------------------------------------------------------- the state to come back to

def reset(box):
    """Back to the pre-activation state: no faults, gateway up, files as the
    sandbox image has them (the newest rollbacks of any runs put them back)."""
    box.faults({})
    box.sh("systemctl start nexus-cos-gateway; umount %s 2>/dev/null || true" % AUDIT_DIR, check=False)


def snapshot_after(box, run_id):
    """{path: sha256} the run predicted (its after.json), or {}."""
    text = box.read("/opt/nexus-cos/backups/phase4/%s/after.json" % run_id[:16])
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    files = doc.get("files") or doc.get("hashes") or {}
    if isinstance(files, list):
        return dict((f.get("path"), f.get("sha256")) for f in files if isinstance(f, dict))
    return dict((k, v.get("sha256") if isinstance(v, dict) else v) for k, v in files.items())


# ---------------------------------------------------------------- family 1: concurrent prepare runs

def concurrent(box, n, budget):
    fam = Family("concurrent", budget)
    procs = []
    barrier = threading.Barrier(n)
    started = []

    def go():
        barrier.wait()
        started.append(box.start("phase4.yml"))
    threads = [threading.Thread(target=go) for dummy in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    procs = list(started)
    results = [(run_id,) + box.finish(proc, timeout=max(60, budget)) for proc, run_id in procs]
    spans = run_spans(box, [run_id for run_id, dummy, dummy_msgs in results])
    proceeded = [r for r in results if r[0] in spans]
    overlap = [a for a in proceeded for b in proceeded if a is not b and
               spans[a[0]][0] < spans[b[0]][1] and spans[b[0]][0] < spans[a[0]][1]]
    general = []
    if box.lock_left():
        general.append("a deployment lock is left at %s" % LOCK_PATH)
    ok, problem = box.chain_ok()
    if not ok:
        general.append("audit chain broken: %s" % problem)
    holders = set(r[0] for r in proceeded)
    for run_id, rc, msgs in results:
        problems = list(general)
        if run_id in spans:
            if any(run_id == o[0] for o in overlap):
                problems.append("held the lock while another run held it")
        else:
            text = " ".join(msgs)
            if "deployment lock %s is held by" % LOCK_PATH not in text:
                problems.append("neither ran nor was refused at the lock (rc %s): %s" % (rc, text[:300]))
            elif not any(h in text for h in holders):
                problems.append("refused without naming a holder that ran: %s" % text[:300])
        fam.count(problems, "run %s" % run_id)
    fam.notes.insert(0, "%d of %d runs got the lock (one after the other)" % (len(proceeded), n))
    return fam


def run_spans(box, run_ids):
    """{run_id: (first seq, last seq)} of runs that wrote DEPLOYMENT_START."""
    out = box.sh("cat %s/deployment-*.log 2>/dev/null || true" % AUDIT_DIR)
    spans = {}
    for line in out.splitlines():
        try:
            rec = audit_log.parse_record(line.encode())
        except Exception:    # a line of another format: not a record of these runs
            continue
        if rec.run not in run_ids:
            continue
        if rec.event == "DEPLOYMENT_START":
            spans[rec.run] = (rec.seq, None)
        elif rec.event == "DEPLOYMENT_COMPLETE" and rec.run in spans:
            spans[rec.run] = (spans[rec.run][0], rec.seq)
    return dict((k, (a, b if b is not None else float("inf"))) for k, (a, b) in spans.items())


# ---------------------------------------------------------------- family 2: SIGKILLs

STEP_1 = ("marketplace.yml", "-e", "marketplace_step_number=1", "-e", "activation_force_reason=%s" % FORCE)
EMERGENCY = ("emergency.yml", "-e", "emergency_switch_reason=chaos kill")


def kills(box, k, budget, rng):
    fam = Family("kills", budget)
    points = KillPoints(("step1", "emergency", "rollback"))
    for trial in range(k):
        if not fam.time_left():
            break
        target = rng.choice(("step1", "emergency", "rollback"))
        where = rng.choice(("module", "controller"))
        before = box.hashes()
        applied = None
        if target == "rollback":
            rc, msgs, applied = box.play(*STEP_1)
            if rc != 0:
                fam.count(["step 1 to roll back did not apply: %s" % " ".join(msgs)[:300]], "trial %d" % trial)
                recover(box, applied, before)
                continue
            proc, run_id = box.start("rollback.yml", "-e", "rollback_run=%s" % applied)
        else:
            proc, run_id = box.start(*(STEP_1 if target == "step1" else EMERGENCY))
        delay = points.draw(rng, target)
        t0 = time.monotonic()
        killed = kill_at(box, proc, where, delay)
        box.finish(proc)
        points.learn(target, killed, t0)
        box.wait_modules_gone()
        snap_run = applied or run_id
        problems = left_state(box, before, snap_run)
        problems += recover(box, snap_run, before)
        fam.count(problems, "trial %d (%s, %s killed %s)" % (trial, target, where, killed))
    fam.notes.insert(0, points.note("kills"))
    return fam


class KillPoints(object):
    """When to strike a run: the time is drawn within the run's length,
    learned from the runs of the same target that ended before it, so
    nearly every strike lands in a run in flight. Counted and said."""

    def __init__(self, targets, guess=30.0):
        self.lasts = dict((t, guess) for t in targets)
        self.landed = self.ended = 0

    def draw(self, rng, target):
        return rng.uniform(0.5, max(1.0, 0.9 * self.lasts[target]))

    def learn(self, target, struck, t0):
        """``struck``: what the strike hit ("nothing ..." when the run had
        already ended: its length is then known to be at most this)."""
        if struck.startswith("nothing"):
            self.ended += 1
            self.lasts[target] = min(self.lasts[target], max(1.0, time.monotonic() - t0))
        else:
            self.landed += 1

    def note(self, what):
        return "%d of %d %s landed in a run in flight, %d came after the run had ended" % (
            self.landed, self.landed + self.ended, what, self.ended)


def left_state(box, before, snap_run):
    """What a strike may leave: the flag store parses, every file is its
    bytes before or the run's predicted after-state, the chain verifies."""
    problems = []
    if not box.store_parses():
        problems.append("the flag store does not parse")
    after = snapshot_after(box, snap_run)
    for path, digest in box.hashes().items():
        if digest not in (before.get(path), after.get(path)):
            problems.append("%s is neither its before nor its after" % path)
    ok, problem = box.chain_ok()
    if not ok:
        problems.append("audit chain broken: %s" % problem)
    return problems


def kill_at(box, proc, where, delay):
    """SIGKILL the run's remote module (the newest AnsiballZ process on the
    host at that moment) or its controller (ansible-playbook's process
    group), ``delay`` seconds in. Returns what was killed."""
    end = time.monotonic() + delay
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(0.2)
    if proc.poll() is not None:
        return "nothing (the run had ended)"
    if where == "controller":
        os.killpg(proc.pid, signal.SIGKILL)
        return "the controller at %.1f s" % delay
    for dummy in range(100):
        pids = box.module_pids()
        if pids:
            box.sh("kill -9 %d" % max(pids), check=False)
            return "module pid %d at %.1f s" % (max(pids), delay)
        if proc.poll() is not None:
            return "nothing (the run had ended)"
        time.sleep(0.1)
    return "nothing (no module ran)"


def recover(box, run_id, before):
    """The next command: roll back the run's snapshot from this controller
    (a dead holder's lock is taken over), then the files must be the bytes
    before. A run killed before its snapshot changed nothing to roll back."""
    problems = []
    has_snapshot = box.read("/opt/nexus-cos/backups/phase4/%s/snapshot.json" % run_id[:16]).strip() != ""
    if has_snapshot:
        rc, msgs, dummy = box.play("rollback.yml", "-e", "rollback_run=%s" % run_id)
        if rc != 0:
            problems.append("the rollback after the kill failed: %s" % " ".join(msgs)[:400])
    if box.hashes() != before:
        problems.append("the files are not the pre-activation bytes after the rollback")
        reset_files(box, before)
    if box.lock_left():
        problems.append("a lock is left after the rollback")
        box.sh("rm -f %s" % LOCK_PATH)
    return problems


def reset_files(box, before):
    """Put the files back by the oldest snapshot that has them (the next
    trial must start from the same state); a loss was already counted."""
    for stamp in sorted(box.sh("ls /opt/nexus-cos/backups/phase4", check=False).split()):
        box.play("rollback.yml", "-e", "rollback_run=%s" % stamp, "-e", "rollback_force=true")
        if box.hashes() == before:
            return


# ---------------------------------------------------------------- family 3: audit filesystem full

def auditfull(box, levels, budget):
    fam = Family("auditfull", budget)
    for free in levels:
        for what in ("phase4", "step1"):
            if not fam.time_left():
                return fam
            before = box.hashes()
            box.sh("mkdir -p %s && mount -t tmpfs -o size=256k,mode=0750 tmpfs %s && umask 077 && "
                   "head -c $(( $(df -B1 --output=avail %s | tail -1) - %d )) /dev/zero > %s/.filler 2>/dev/null; true"
                   % (AUDIT_DIR, AUDIT_DIR, AUDIT_DIR, free, AUDIT_DIR))
            problems = []
            try:
                if what == "phase4":
                    # The disk precheck would stop the run at its start
                    # (it needs 5 GiB free there): let it run into the full disk.
                    rc, msgs, run_id = box.play("phase4.yml", "-e", "precheck_disk_min_free_gb=0")
                else:
                    rc, msgs, run_id = box.play(*STEP_1)
                text = " ".join(msgs)
                if box.lock_left():
                    problems.append("the deployment lock was left")
                    box.sh("rm -f %s" % LOCK_PATH)
                if rc != 0 and "no space left" not in text.lower() and \
                        "free on the filesystem of %s" % AUDIT_DIR not in text:
                    problems.append("failed without saying the disk is full: %s" % text[:300])
                if what == "step1":
                    recorded = step1_recorded(box)
                    changed = box.hashes() != before
                    if rc == 0 and not (recorded and changed):
                        problems.append("succeeded but step 1 is not both recorded and in effect")
                    if rc != 0 and changed:
                        problems.append("failed and left the files changed")
                    if recorded and not changed:
                        problems.append("step 1 is on record but not in effect")
                    if changed:
                        box.sh("rm -f %s/.filler" % AUDIT_DIR)
                        rc2, msgs2, dummy = box.play("rollback.yml", "-e", "rollback_run=%s" % run_id)
                        if rc2 != 0 or box.hashes() != before:
                            problems.append("could not be rolled back: %s" % " ".join(msgs2)[:300])
            finally:
                box.sh("umount %s" % AUDIT_DIR, check=False)
            fam.count(problems, "%s with %d bytes free" % (what, free))
            if not problems:
                fam.notes.append("%s with %d bytes free: rc %s%s" % (what, free, rc, (", " + text.strip()[:160])
                                                                     if rc != 0 else ""))
    return fam


def step1_recorded(box):
    try:
        state = json.loads(box.read(STATE_FILE) or "{}")
    except ValueError:
        return False
    return any(e.get("key") == "marketplace_step_1" and not e.get("undone") for e in state.get("activations", []))


# ---------------------------------------------------------------- family 4: the gateway

GATEWAY_CASES = (
    ("stopped", None),
    ("500 on reload", {"reload_status": 500}),
    ("500 on health", {"status_overrides": {"/api/pf/marketplace/health": 500}}),
    ("40 s slow", {"delay_ms": 40000}),
)


def gateway(box, rounds, budget):
    fam = Family("gateway", budget)
    for dummy in range(rounds):
        for name, knobs in GATEWAY_CASES:
            if not fam.time_left():
                return fam
            before = box.hashes()
            if knobs is None:
                box.sh("systemctl stop nexus-cos-gateway")
            else:
                box.faults(knobs)
            try:
                rc, msgs, run_id = box.play(*STEP_1, timeout=900)
            finally:
                box.faults({})
                box.sh("systemctl start nexus-cos-gateway", check=False)
            problems = []
            text = "\n".join(msgs)
            if rc == 0:
                problems.append("step 1 succeeded against a broken gateway")
            if box.hashes() != before:
                problems.append("the files were not restored byte for byte")
            final = one_message(msgs)
            if final is None:
                problems.append("no one message that says it all: %s" % text[:400])
            elif "rolled back" not in final:
                problems.append("the message does not say the change was rolled back: %s" % final[:400])
            if "--force" in text:
                problems.append("advises --force: %s" % text[:400])
            if box.lock_left():
                problems.append("the deployment lock was left")
            if problems and box.hashes() != before:
                box.play("rollback.yml", "-e", "rollback_run=%s" % run_id)
            fam.count(problems, name)
    return fam


# ---------------------------------------------------------------- family 5: the controller's link drops

SSH_INVENTORY = """all:
  children:
    nexus_vps:
      vars:
        nexus_environment: sandbox
        launch_guard_after_launch: false
        # Test approvers only (the hashes of molecule/activation's
        # alice-test-secret and bob-test-secret).
        nexus_launch_approvers:
          alice:
            role: founder
            password_hash: "$pbkdf2-sha256$29000$gtBaS0mpVQrBWKu19p5TSg$08VUHa5os6y1NF0xqTX.3m9N5xg2CiTLCEY06qGIn4c"
          bob:
            role: technical_lead
            password_hash: "$pbkdf2-sha256$29000$BGAMoZSSkrJWCkGo1Zrzng$g9AHXADFUmc524jS5P/Jqqd31g9IiGbzEExD8ihBf64"
      hosts:
        {name}:
          ansible_host: {address}
          ansible_connection: ssh
          ansible_user: deploy
          ansible_become: true
          ansible_python_interpreter: /usr/bin/python3
          ansible_ssh_private_key_file: {key}
          ansible_control_path_dir: {control}
          ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile={known_hosts}
"""
# Their secrets go in a run's approvals file (approvals_env), never in -e.
APPROVERS = {"alice": "alice-test-secret", "bob": "bob-test-secret"}
LINK_TARGETS = ("step1", "launch", "emergency")
# The switch sets founder mode; a launch public_full (launch_soft: public_soft).
MODE_OF = {"emergency": "founder_beta", "launch_global": "public_full", "launch_soft": "public_soft"}
# The sandbox's firewall rules that cut the SSH link both ways (iptables: the image has no nft).
DROP_RULES = ("INPUT -p tcp --dport 22 -j DROP", "OUTPUT -p tcp --sport 22 -j DROP")


def ssh_box(box):
    """The same sandbox reached as production reaches a VPS: SSH as deploy
    with become. A key pair made now in the run's temporary directory (never
    kept) is authorized for deploy; host keys are not checked for this test
    host only (its known_hosts is in that directory too)."""
    key = os.path.join(box.workdir, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "nexus-cos-chaos", "-f", key], check=True)
    with open(key + ".pub") as handle:
        public = handle.read().strip()
    box.sh("install -d -m 0700 -o deploy -g deploy ~deploy/.ssh && echo '%s' > ~deploy/.ssh/authorized_keys && "
           "chown deploy: ~deploy/.ssh/authorized_keys && chmod 0600 ~deploy/.ssh/authorized_keys" % public)
    address = subprocess.run(["podman", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", box.name], capture_output=True,
                             text=True, env=ENGINE_ENV, check=True).stdout.strip()
    if not address:
        raise SystemExit("chaos linkdrop: sandbox %s has no IP address (podman inspect)" % box.name)
    control = os.path.join(box.workdir, "cp")
    os.mkdir(control, 0o700)
    return Box(box.name, box.workdir, inventory=SSH_INVENTORY.format(
        name=box.name, address=address, key=key, control=control,
        known_hosts=os.path.join(box.workdir, "known_hosts")), inventory_name="ssh-hosts.yml")


def launch_args(box):
    """The global launch's arguments: confirmed, the two test approvers, and
    every launch gate of the PF that has not passed waived with a reason."""
    out = box.sh("python3 -c 'import json, yaml; d = yaml.safe_load(open(\"%s/global-launch.yaml\")); "
                 "print(json.dumps([g[\"name\"] for g in d[\"launch_gates\"][\"required_validations\"] "
                 "if g.get(\"status\") != \"passed\"]))'" % PF_DIR)
    waivers = dict((name, "chaos suite waiver for %s" % name) for name in json.loads(out))
    return ("launch.yml", "-e", json.dumps({"nexus_launch_confirm": True,
                                            "nexus_launch_approvals": [{"name": n} for n in sorted(APPROVERS)],
                                            "launch_waivers": waivers}))


def approvals_env(box, run_id):
    """The environment naming a fresh approvals file for the run ``run_id``
    (0600, in the run's temporary directory), as an operator of
    ansible-playbook writes it (docs/activation.md)."""
    path = os.path.join(box.workdir, "approvals-%s.json" % run_id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(approvals.new_approvals_file(APPROVERS, run_id), handle)
    return {approvals.SECRETS_FILE_ENV: path}


def served(box):
    """(currentMode, marketplace phase) the gateway serves now."""
    out = box.sh("curl -s --max-time 10 http://127.0.0.1:4000/api/feature-flags; echo; "
                 "curl -s --max-time 10 http://127.0.0.1:4000/api/pf/marketplace/health", check=False)
    lines = out.splitlines() + ["", ""]
    try:
        mode = json.loads(lines[0]).get("currentMode")
    except ValueError:
        mode = "no answer (%s)" % lines[0][:80]
    try:
        phase = json.loads(lines[1]).get("phase")
    except ValueError:
        phase = None
    return mode, phase


def trail_says(box, was):
    """(currentMode, marketplace phase) the recorded activations say the
    gateway serves: the last switch or launch on record that is not undone
    sets the mode, step 1 on record sets phase 3; else what it served
    before (``was``)."""
    try:
        entries = json.loads(box.read(STATE_FILE) or "{}").get("activations", [])
    except ValueError:
        entries = []
    live = [e for e in entries if not e.get("undone")]
    modes = [MODE_OF[e["key"]] for e in live if e.get("key") in MODE_OF]
    step1 = any(e.get("key") == "marketplace_step_1" for e in live)
    return (modes[-1] if modes else was[0]), (3 if step1 else was[1])


def cut_link(box, proc, how, delay):
    """Cut the run's SSH link ``delay`` seconds in: kill the sandbox's
    per-connection sshd of deploy (the ControlPersist master dies with it),
    or drop port 22's packets in the sandbox for a few seconds. Returns what
    was done."""
    end = time.monotonic() + delay
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(0.2)
    # Between tasks a cut only makes the next task reconnect: wait (briefly)
    # for a remote module, so that the cut lands in a task in flight.
    for dummy in range(50):
        if proc.poll() is not None or box.module_pids():
            break
        time.sleep(0.1)
    if proc.poll() is not None:
        return "nothing (the run had ended)"
    if how == "kill":
        # The listener is "sshd: /usr/sbin/sshd -D [listener] ..."; a
        # connection's processes are "sshd: deploy [priv]" and "sshd: deploy@notty".
        pids = box.sh("pgrep -f '^sshd: deploy' || true").split()
        if not pids:
            return "nothing (no SSH session)"
        box.sh("kill -KILL %s" % " ".join(pids), check=False)
        return "the SSH session (sshd %s) at %.1f s" % (",".join(pids), delay)
    seconds = 3 + int(delay) % 6
    box.sh("; ".join("iptables -I %s" % rule for rule in DROP_RULES))
    try:
        time.sleep(seconds)
    finally:
        box.sh("; ".join("iptables -D %s" % rule for rule in DROP_RULES), check=False)
    return "port 22's packets for %d s at %.1f s" % (seconds, delay)


def linkdrop(box, k, budget, rng):
    fam = Family("linkdrop", budget)
    link = ssh_box(box)
    # Over SSH these runs take 5 to 20 s (the kills family's 30 s guess
    # would let the first cut of each target come after its run).
    points = KillPoints(LINK_TARGETS, guess=15.0)
    launch = launch_args(box)
    for trial in range(k):
        if not fam.time_left():
            break
        # The targets in turn (the size is 4 a target by default); the cut's
        # kind and time drawn.
        target = LINK_TARGETS[trial % len(LINK_TARGETS)]
        how = rng.choice(("kill", "kill", "drop"))
        before = box.hashes()
        was = served(box)
        args = {"step1": STEP_1, "launch": launch, "emergency": EMERGENCY}[target]
        run_id = link.run_id()
        proc, run_id = link.start(*args, run_id=run_id,
                                  env=approvals_env(box, run_id) if target == "launch" else None)
        delay = points.draw(rng, target)
        t0 = time.monotonic()
        cut = cut_link(box, proc, how, delay)
        run_rc, run_msgs = link.finish(proc)
        points.learn(target, cut, t0)
        box.wait_modules_gone()
        problems = left_state(box, before, run_id)
        now, says = served(box), trail_says(box, was)
        if now != says:
            problems.append("the gateway serves mode %s, marketplace phase %s; the trail says %s, phase %s"
                            % (now + says))
        # The next commands, over SSH again, from this controller: status,
        # then the rollback of the cut run.
        rc, msgs, dummy = link.play("status.yml")
        if rc != 0:
            problems.append("status after the cut failed: %s" % " ".join(msgs)[:400])
        problems += recover(link, run_id, before)
        said = (one_message(run_msgs) or " | ".join(run_msgs)).strip().replace("\n", " ")
        said = (", " + said[:200]) if said else ""
        fam.count(problems, "trial %d (%s, cut %s; the run: rc %s%s)" % (trial, target, cut, run_rc, said))
    fam.notes.insert(0, points.note("cuts"))
    return fam


# ---------------------------------------------------------------- main

def sandbox_up(name):
    proc = subprocess.run([os.path.join(SANDBOX_BIN, "sandbox-up"), name], capture_output=True, text=True,
                          env=ENGINE_ENV, check=False)
    if proc.returncode != 0:
        raise SystemExit("chaos: sandbox %s not ready: %s" % (name, (proc.stderr or proc.stdout)[-1000:]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sandbox", default="nexus-cos-chaos", help="its own sandbox (default nexus-cos-chaos)")
    parser.add_argument("--concurrent", type=int, default=20, help="prepare runs started at one instant (20)")
    parser.add_argument("--kills", type=int, default=40, help="SIGKILL trials (40)")
    parser.add_argument("--levels", default="0,4096,16384,32768,65536",
                        help="bytes left free on the audit tmpfs, comma-separated (0,4096,16384,32768,65536; tmpfs counts whole 4 KiB pages)")
    parser.add_argument("--linkdrop", type=int, default=12,
                        help="trials cutting the SSH link of step 1, the launch and the kill switch in turn (12)")
    parser.add_argument("--gateway-rounds", type=int, default=1, help="rounds of the four gateway faults (1)")
    parser.add_argument("--family-seconds", type=int, default=7200,
                        help="time limit of each family; no new trial starts after it (7200)")
    parser.add_argument("--families", default="concurrent,gateway,kills,auditfull,linkdrop")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the kill points (printed)")
    parser.add_argument("--keep", action="store_true", help="leave the sandbox running")
    args = parser.parse_args(argv)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = set(families) - {"concurrent", "gateway", "kills", "auditfull", "linkdrop"}
    if unknown:
        parser.error("--families: unknown %s; expected concurrent, gateway, kills, auditfull, linkdrop" % ", ".join(unknown))
    try:
        levels = [int(x) for x in args.levels.split(",")]
    except ValueError:
        parser.error("--levels %r: expected byte counts separated by commas" % args.levels)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    say("chaos: sandbox %s, seed %d, families %s" % (args.sandbox, seed, ", ".join(families)))
    started = time.monotonic()
    sandbox_up(args.sandbox)
    workdir = tempfile.mkdtemp(prefix="nexus-chaos-")
    box = Box(args.sandbox, workdir)
    results = []
    try:
        reset(box)
        if "concurrent" not in families:
            rc, msgs, dummy = box.play("phase4.yml")
            if rc != 0:
                say("chaos: the prepare run the other families start from failed: %s" % " ".join(msgs)[:500])
        for name in families:
            t0 = time.monotonic()
            if name == "concurrent":
                fam = concurrent(box, args.concurrent, args.family_seconds)
            elif name == "gateway":
                fam = gateway(box, args.gateway_rounds, args.family_seconds)
            elif name == "kills":
                fam = kills(box, args.kills, args.family_seconds, rng)
            elif name == "linkdrop":
                fam = linkdrop(box, args.linkdrop, args.family_seconds, rng)
            else:
                fam = auditfull(box, levels, args.family_seconds)
            reset(box)
            results.append(fam)
            say("%s  (%.0f s)" % (fam.line(), time.monotonic() - t0))
            for note in fam.notes[:12]:
                say("    %s" % note)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep:
            subprocess.run([os.path.join(SANDBOX_BIN, "sandbox-down"), args.sandbox], capture_output=True,
                           env=ENGINE_ENV, check=False)
    say("chaos: %d trials, %d held, %d lost in %.0f s" % (sum(f.trials for f in results), sum(f.held for f in results),
                                                          sum(f.lost for f in results), time.monotonic() - started))
    return 1 if any(f.lost for f in results) else 0


if __name__ == "__main__":
    sys.exit(main())
