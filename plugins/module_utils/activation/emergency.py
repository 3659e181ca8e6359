# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The kill switch on the host (DESIGN section 7): public signups off, new
transactions frozen, founder mode, whatever state things are in.

One code path, whoever pulls it: the kill_switch module (``nexusctl
rollback --emergency``, ``playbooks/emergency.yml``) and, with no controller
at all, the on-host ``nexus-emergency-<stamp>.sh`` every run renders:

    python3 -m ansible_collections.nexus_cos.launch.plugins.module_utils.activation.emergency \\
        pull --flag-store F --pf-dir D --backup-dir B --audit-dir A --lock L [--reason TEXT]

In order: the deployment lock (a holder that is gone is taken over; a live
one is broken unless told to keep it: the switch does not wait; both are
audited), ``DEPLOYMENT_START``, the decision (``activation.gate.evaluate_emergency``:
no gate), a snapshot with its own rollback and emergency scripts (so the
switch can be rolled back in turn), the flags in one atomic write and the
PF values, the gateway reloaded and polled until it serves founder mode,
then the activation recorded (``EMERGENCY_SWITCH``).

The switch is the one change that is never undone automatically. When the
gateway does not confirm it, it stays applied: restoring the state before
it would reopen the platform in the middle of an incident. That is audited
(``EMERGENCY_SWITCH_UNCONFIRMED``: what was written, what the gateway
served) and the run fails saying what to check.

An audit record that cannot be written (a full disk) does not stop the
switch: every such failure is reported with the path and the reason.

It acts on whatever the platform's service accepts (DESIGN section 7): the
flag store is read as the service reads it (``flag_store.service_load``: a
duplicate key, ``enabled: null``, any size, through a symlink, whose target
is replaced and the link kept), never by the validator's strict reading. A
PF file it cannot read or edit is left as it is and named, and the flags are
still switched; the run then fails with outcome ``pf_skipped``. A flag store
the service cannot parse at all is not rewritten: the service serves no
flags from it (access mode ``none``, closed), so the gateway is reloaded and
asked to confirm that (outcome ``store_serves_nothing``). Every outcome is
one message that ends with the next command to run.

Standard library only, apart from PyYAML for the PF files: without it the
flags (what the gateway serves) are still switched and the PF files are
named as not edited.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time

from ansible_collections.nexus_cos.launch.plugins.module_utils import (audit_log, deploy_lock, documents, flag_semantics,
                                                                       flag_store, gateway, host_scripts, pf_document,
                                                                       snapshot)
from ansible_collections.nexus_cos.launch.plugins.module_utils import activation
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import change as activation_change
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import facts as activation_facts
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import gate, ledger, plan
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import record as activation_record
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import os_error_text, write_atomic
from ansible_collections.nexus_cos.launch.plugins.module_utils.run_context import DEFAULT_LEASE_SECONDS, HostPaths, RunContext

UNCONFIRMED_EVENT = "EMERGENCY_SWITCH_UNCONFIRMED"
SERVES_NOTHING_EVENT = "EMERGENCY_SWITCH_STORE_SERVES_NOTHING"
# What the run's first line says for each outcome (result["outcome"]).
OUTCOMES = {
    "pulled": "pulled and confirmed",
    "in_place": "already in place and confirmed",
    "pf_skipped": "pulled and confirmed, but PF files NOT edited (see below)",
    "unconfirmed": "APPLIED and KEPT, but NOT confirmed by the gateway (see below)",
    "store_serves_nothing": "flag store not rewritten: the platform's service cannot parse it (see below)",
    "not_pulled": "NOT pulled (see below)",
    "stopped": "stopped part way (see below)",
    "check": "checked, nothing changed (check mode)",
}
LEASE_SECONDS = DEFAULT_LEASE_SECONDS
VERIFY_INTERVAL = 0.1


class SwitchFailed(Exception):
    """The switch could not be pulled, or is pulled but not confirmed.
    ``result`` holds what was done."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result or {}


class SwitchNotConfirmed(SwitchFailed):
    """Applied and kept, but the gateway did not serve it in time."""


class SwitchIncomplete(SwitchFailed):
    """Pulled and confirmed, but a PF file could not be edited."""


class StoreServesNothing(SwitchFailed):
    """The flag store does not parse as the service reads it: not rewritten."""


def pf_editing_available():
    """(True, '') when this host can edit PF files, else (False, why)."""
    if not documents.HAS_YAML:
        return False, "%s is not installed on this host (%s)" % (documents.YAML_LIBRARY, documents.YAML_INSTALL)
    return True, ""


class _Trail(object):
    """The switch's audit records, kept in order and written together at
    the points that matter (before the first file changes, after the
    writes, at the end): each write is fsync'd, and the switch is timed in
    fractions of a second. A record that cannot be written is kept in
    ``errors`` and the switch goes on."""

    def __init__(self, audit_dir, run_id, filename):
        self.errors = []
        self.heads = []
        self.pending = []
        self.path = os.path.join(audit_dir, filename)
        try:
            self.log = audit_log.AuditLog(audit_dir, run_id, filename)
        except (OSError, ValueError) as exc:
            self.log = None
            self._failed(exc)

    def _failed(self, exc):
        self.errors.append(os_error_text(exc, self.path) if isinstance(exc, OSError) else "%s: %s" % (self.path, exc))

    def __call__(self, *events):
        self.pending.extend(events)

    def flush(self):
        events, self.pending = self.pending, []
        if self.log is None or not events:
            return
        try:
            self.heads.extend(self.log.records(events))
        except (OSError, audit_log.AuditFormatError) as exc:
            self._failed(exc)


def _take_lock(lock_path, holder, lease_seconds, break_lock, recover, trail, result):
    """The one lock rule (module_utils/deploy_lock.py): a dead holder is
    taken over; a live one is broken, since the switch does not wait,
    unless told to keep it. True when the switch holds the lock; False when
    an untrusted file keeps coming back at its path (the switch goes on)."""
    try:
        taken = deploy_lock.acquire(lock_path, holder, lease_seconds, recover=recover)
    except deploy_lock.LockRaced as exc:
        # Someone keeps planting a file at the lock path: they must not be
        # able to disable the switch (DESIGN 7a). It goes on unlocked.
        trail(("LOCK_SKIPPED", {"reason": str(exc)}))
        result["lock"] = "skipped"
        result["lock_problem"] = str(exc)
        return False
    except deploy_lock.LockHeld as exc:
        result["previous_holder"] = exc.holder
        if not break_lock:
            trail(("LOCK_REFUSED", deploy_lock.holder_fields(exc.holder, "holder_")))
            raise SwitchFailed("emergency switch NOT pulled: %s (the switch was told to keep the lock: without "
                               "that it breaks the lock and goes on)\n  next: pull it again without keeping the lock: "
                               "%s" % (exc, result["next_command"]), result)
        broken = deploy_lock.force_break(lock_path, "emergency switch run %s took over from %s"
                                         % (holder["run_id"], deploy_lock.describe_holder(exc.holder)))
        trail(*broken.events)
        taken = deploy_lock.acquire(lock_path, holder, lease_seconds)
        trail(*taken.events)
        result["lock"] = "broken"
        return True
    if taken.previous:
        result["previous_holder"] = taken.previous
    trail(*taken.events)
    result["lock"] = taken.state
    return True


# What a failed step of the switch raises.
ERRORS = (flag_store.FlagError, snapshot.SnapshotError, deploy_lock.LockError, pf_document.PFEditError, OSError,
          ValueError)


def _facts(flag_store_path, pf_dir, with_pf):
    facts = {"flag_store": activation_facts.read_flag_store(flag_store_path, service_reading=True),
             "now": time.time()}
    facts["pfs"] = activation_facts.read_pfs(pf_dir) if with_pf else {}
    return facts


def pull(run, reason="", check_mode=False, break_lock=True, recover=None, runtime_files=None, sleep=None):
    """Pull the kill switch for ``run`` (a run_context.RunContext: the
    host's paths, the run's ids, the lock holder and lease, how long to wait
    for the gateway); see the module docstring. Returns {changed, lock,
    decision, expected, applied, flag_changes, pf_changes, diffs,
    snapshot_dir, rollback_script, emergency_script, confirmed, seen,
    audit_head, audit_errors, elapsed_ms}. Raises SwitchFailed
    (SwitchNotConfirmed when applied but not confirmed), with the result so
    far."""
    started = time.monotonic()
    # The host the records and the scripts name.
    run.host = run.host or socket.gethostname()
    paths = run.paths
    flag_store_path, pf_dir, audit_dir, lock_path = paths.flag_store, paths.pf_dir, paths.audit_dir, paths.lock_path
    run_id, stamp, verify_timeout = run.run_id, run.stamp, run.verify_timeout
    audit_file = "activation-%s.log" % stamp
    with_pf, pf_problem = pf_editing_available()
    result = {"changed": False, "run_id": run_id, "lock": None, "flag_changes": [], "pf_changes": [], "diffs": [],
              "snapshot_dir": None, "applied": False, "confirmed": False, "seen": {}, "seen_text": "", "audit_file": audit_file,
              "pf_skipped": pf_problem or None, "pf_not_edited": {}, "audit_errors": [], "outcome": "not_pulled",
              "next_command": _next_command(audit_dir, stamp)}
    result["reason"], cut = plan.truncate_reason(reason)
    result.update(reason_truncated=bool(cut), reason_bytes=cut.get("reason_bytes", len(result["reason"].encode("utf-8"))),
                  reason_limit_bytes=activation.REASON_LIMIT_BYTES)
    if check_mode:
        trail = None
    else:
        audit_log.ensure_audit_dir(audit_dir)
        trail = _Trail(audit_dir, run_id, audit_file)
    record = trail if trail is not None else (lambda *events: None)
    flush = trail.flush if trail is not None else (lambda: None)
    locked = started_run = False
    status = "failed"
    try:
        if not check_mode:
            locked = _take_lock(lock_path, run.holder, run.lease_seconds, break_lock, recover, record, result)
            started_run = True
            record(("DEPLOYMENT_START", {"playbook": "emergency", "host": run.host, "check_mode": False,
                                         "via": run.via}))

        facts = _facts(flag_store_path, pf_dir, with_pf)
        if facts["flag_store"].get("serves_nothing"):
            _serves_nothing(facts["flag_store"]["error"], flag_store_path, paths.gateway_url, verify_timeout, sleep,
                            check_mode, record, result)
        decision = gate.evaluate_emergency(facts, reason=reason, with_pf=with_pf)
        record(*decision.events)
        result["decision"] = decision.as_dict()
        if not decision.open:
            raise SwitchFailed("emergency switch NOT pulled: %s\n  next: fix that, then pull the switch again: %s"
                               % (decision.message(), result["next_command"]), result)
        skipped = dict(decision.pf_skipped)
        # What every gateway reading this flag store must serve once it is
        # written; a fleet's other gateways are held to it (role emergency_switch).
        result["expected"] = decision.expect
        pf_settings = [{"file": name, "settings": values} for name, values in sorted(decision.settings.items())]
        request = activation_change.Request(enable=decision.plan.enable, disable=decision.plan.disable, cascade=True,
                                            pf_settings=pf_settings, service_reading=True, pf_skipped=skipped)
        # A symlinked store: its target is what the service reads, what is
        # written (the link stays) and what the snapshot holds.
        store_path = os.path.realpath(flag_store_path)
        change = activation_change.prepare(store_path, pf_dir, request)
        _note_skipped(skipped, result, pf_problem)
        result.update(flag_changes=change.flags.as_dicts(), pf_changes=change.pf_changes, diffs=change.diffs,
                      changed=change.changed, notes=list(decision.notes))
        if check_mode:
            result["outcome"] = "check"
            return result

        snapshot_dir = _snapshot(run, record, result, skipped)
        flush()     # what led to the change is on disk before the change
        if change.changed:
            activation_change.predict_after(snapshot_dir, change.texts, run_id)
            record(*activation_change.write(change, store_path, pf_dir, request))
        _note_skipped(skipped, result, pf_problem)
        result["pf_changes"] = [c for c in change.pf_changes if c["file"] not in skipped]
        if pf_problem or skipped:
            record(("PF_SETTINGS_SKIPPED", {"reason": pf_problem or "-", "files": ",".join(sorted(skipped)) or "-",
                                            "why": "; ".join("%s: %s" % item for item in sorted(skipped.items()))[:2000]
                                            or "-"}))
        result["applied"] = True    # the files hold the switch, confirmed or not
        flush()

        client = gateway.Gateway(paths.gateway_url)
        try:
            done = client.confirm(decision.expect, timeout=verify_timeout, interval=VERIFY_INTERVAL,
                                  store_path=flag_store_path, sleep=sleep)
        except gateway.NotConfirmed as exc:
            result.update(seen=exc.seen, seen_text=gateway.describe_seen(exc.seen) if exc.seen else exc.reload,
                          outcome="unconfirmed")
            record((UNCONFIRMED_EVENT, dict(_reason_fields(decision), written=change.flags_text(),
                                            pf_values=change.keys_text(), expected=gateway.describe_expect(exc.expect),
                                            seen=exc.summary(), cause=exc.cause[:300] or "-", kept=True)))
            raise SwitchNotConfirmed(_not_confirmed(change, exc, audit_dir, stamp, result), result)
        result.update(confirmed=True, seen=done["seen"], seen_text=gateway.describe_seen(done["seen"]),
                      verify_ms=done["elapsed_ms"],
                      confirmed_ms=int((time.monotonic() - started) * 1000),
                      outcome="pulled" if change.changed else "in_place")
        entry = ledger.new_entry("emergency", time.time(), run_id, audit_file,
                                 details=dict(decision.entry_details, via=run.via))
        if skipped:
            entry["pf_skipped"] = ",".join(sorted(skipped))
        flush()
        if trail is not None and trail.log is not None:
            try:
                activation_record.append(activation_record.state_path(audit_dir), entry, trail.log)
            except (OSError, ValueError, flag_store.FlagError) as exc:
                trail.errors.append("recording the switch in %s: %s"
                                    % (activation_record.state_path(audit_dir), exc))
        if skipped:
            result["outcome"] = "pf_skipped"
            raise SwitchIncomplete(_incomplete(change, skipped, result, audit_dir, stamp), result)
        status = "success"
        return result
    except ERRORS as exc:
        result["outcome"] = "stopped"
        raise SwitchFailed(_failed_part_way(exc, result), result)
    finally:
        if result["snapshot_dir"]:
            # Confirmed or not, the switch leaves the means to undo it and
            # to pull it again with no controller.
            try:
                _leave_scripts(run, result["snapshot_dir"], runtime_files, record, result)
            except ERRORS as exc:
                result["audit_errors"].append("writing the on-host scripts of %s: %s" % (result["snapshot_dir"], exc))
        result["elapsed_ms"] = int((time.monotonic() - started) * 1000)
        if started_run:
            record(("DEPLOYMENT_COMPLETE", {"duration": "%.2fs" % (time.monotonic() - started), "status": status}))
        if locked:
            try:
                deploy_lock.release(lock_path, run_id)
                record(("LOCK_RELEASED", {"timestamp": int(time.time())}))
            except (OSError, deploy_lock.LockError) as exc:
                result["audit_errors"].append("releasing the lock %s: %s" % (lock_path, exc))
        if trail is not None:
            trail.flush()
            result["audit_errors"] = trail.errors + result["audit_errors"]
            if trail.heads:
                result["audit_head"] = trail.heads[-1]
        result["outcome_text"] = OUTCOMES[result["outcome"]]


def _next_command(audit_dir, stamp):
    return ("nexusctl rollback --emergency, or on the host sudo %s"
            % host_scripts.script_path(audit_dir, "emergency", stamp))


def _reason_fields(decision):
    """The reason as the records keep it (cut to REASON_LIMIT_BYTES, saying so)."""
    details = decision.entry_details
    fields = {"reason": details.get("reason", "not given")}
    for name in ("reason_truncated", "reason_bytes"):
        if name in details:
            fields[name] = details[name]
    return fields


def _note_skipped(skipped, result, pf_problem):
    """result's pf_not_edited {file: why} and pf_skipped (the same in words, or None)."""
    result["pf_not_edited"] = dict(skipped)
    parts = ([pf_problem] if pf_problem else []) + ["%s: %s" % item for item in sorted(skipped.items())]
    result["pf_skipped"] = "; ".join(parts) or None


def _serves_nothing(problem, flag_store_path, gateway_url, verify_timeout, sleep, check_mode, record, result):
    """A flag store the platform's service cannot parse: it serves no flags
    from it after a reload, which is access mode ``none``, closed. Rewriting
    a file nobody can read would be a guess; the gateway is reloaded, so
    that it stops serving whatever it parsed before, and must confirm
    ``none``. Always raises StoreServesNothing."""
    result.update(outcome="store_serves_nothing", store_problem=problem)
    head = ("emergency switch: the flag store is not rewritten: the platform's service cannot parse it (%s), so "
            "it is not guessed at." % problem)
    fix = ("  next:    fix or restore the flag store (the last run's sudo nexus-rollback-<stamp>.sh in the audit dir, or "
           "nexusctl rollback), then pull the switch again: %s" % result["next_command"])
    if check_mode:
        raise StoreServesNothing("\n".join([head, "  gateway: not asked (check mode)", fix]), result)
    try:
        done = gateway.Gateway(gateway_url).confirm({"access_mode": flag_semantics.NO_ACCESS_MODE, "flags": 0},
                                                    timeout=verify_timeout, interval=VERIFY_INTERVAL, sleep=sleep)
    except gateway.NotConfirmed as exc:
        result.update(seen=exc.seen, seen_text=gateway.describe_seen(exc.seen) if exc.seen else exc.reload)
        record((SERVES_NOTHING_EVENT, {"store": flag_store_path, "problem": problem[:500], "gateway": exc.summary(),
                                       "closed": False}))
        raise StoreServesNothing("\n".join([
            head, "  gateway: asked to reload, it still serves %s (%s); the platform may still be open"
            % (result["seen_text"] or "nothing", str(exc).split(". ", 1)[0]),
            "  check:   %s" % (exc.cause or "that the gateway runs and reads %s" % flag_store_path).rstrip("."),
            fix]), result)
    result.update(seen=done["seen"], seen_text=gateway.describe_seen(done["seen"]))
    record((SERVES_NOTHING_EVENT, {"store": flag_store_path, "problem": problem[:500],
                                   "gateway": gateway.describe_seen(done["seen"]), "closed": True}))
    raise StoreServesNothing("\n".join([
        head, "  gateway: reloaded, it serves no flags at all: access mode none (closed, not public; the PF "
        "health endpoints answer 503)", fix]), result)


def _snapshot(run, record, result, skipped=()):
    """Snapshot the files the switch may change (the copies only: its
    runtime and scripts come after the switch is confirmed). The flag store
    by its real path (a symlink's target is what the switch replaces, and
    what a rollback restores); a PF file the switch skips is not touched."""
    paths = run.paths
    store = os.path.realpath(paths.flag_store)
    files = [store] + [os.path.join(paths.pf_dir, name) for name in activation.PF_FILES if name not in skipped]
    manifest = snapshot.take(files, paths.backup_dir, run.run_id, run.stamp, gateway_url=paths.gateway_url,
                             flag_store_path=store)
    snapshot_dir = os.path.join(paths.backup_dir, run.stamp)
    result["snapshot_dir"] = snapshot_dir
    record(("SNAPSHOT_CREATED", {"dir": snapshot_dir, "files": len(manifest["files"]),
                                 "manifest_sha256": snapshot.manifest_sha256(snapshot_dir),
                                 "access_mode": manifest["gateway"].get("access_mode") or "unknown",
                                 "marketplace_phase": _unknown(manifest["gateway"].get("marketplace_phase"))}))
    return snapshot_dir


def _leave_scripts(run, snapshot_dir, runtime_files, record, result):
    manifest = snapshot.add_runtime(snapshot_dir, runtime_files or snapshot.runtime_files())
    written = write_scripts(run, snapshot_dir)
    result.update(written)
    record(("ROLLBACK_SCRIPT_GENERATED", {"script": written["rollback_script"],
                                          "emergency_script": written["emergency_script"], "playbook": "-",
                                          "lib_sha256": snapshot.lib_sha256(manifest)}))


def write_scripts(run, snapshot_dir):
    """Write nexus-rollback-<stamp>.sh and nexus-emergency-<stamp>.sh (0750)
    of ``run`` (a RunContext) into its audit dir, unless they already hold
    that content. Returns their paths."""
    paths = run.paths
    texts = {
        "rollback_script": (host_scripts.script_path(paths.audit_dir, "rollback", run.stamp),
                            host_scripts.rollback_script(snapshot_dir, run.run_id, run.host, paths.gateway_url,
                                                         paths.audit_dir, paths.lock_path, run.verify_timeout)),
        "emergency_script": (host_scripts.script_path(paths.audit_dir, "emergency", run.stamp),
                             host_scripts.emergency_script(run, snapshot_dir)),
    }
    out = {}
    for key, (path, text) in texts.items():
        data = text.encode("utf-8")
        try:
            with open(path, "rb") as handle:
                same = handle.read() == data and (os.stat(path).st_mode & 0o7777) == 0o750
        except FileNotFoundError:
            same = False
        if not same:
            write_atomic(path, data, mode=0o750)
        out[key] = path
    return out


def _unknown(value):
    return "unknown" if value is None else value


def _written_text(change):
    parts = []
    if change.flags.changed:
        parts.append("flags %s" % ", ".join("%s %s" % (c.name, "on" if c.after else "off") for c in change.flags))
    if change.pf_changes:
        parts.append("PF values %s" % ", ".join("%s %s=%s" % (c["file"], c["key"], str(c["after"]).lower())
                                                for c in change.pf_changes))
    if not parts:
        return "nothing: the files already held the emergency state"
    return "; ".join(parts)


def _not_confirmed(change, exc, audit_dir, stamp, result):
    check = exc.cause or ("check that the gateway runs and reads this flag store (its log, GET %s)"
                          % gateway.FLAGS_PATH)
    if change.changed:
        head = ("emergency switch APPLIED and KEPT, but the gateway did not confirm it. It is not undone: restoring "
                "the state before it would reopen the platform in the middle of an incident.")
    else:
        head = ("emergency switch IN PLACE (the files already held it), but the gateway did not confirm it: it does "
                "not serve founder mode.")
    lines = [
        head,
        "  written: %s" % _written_text(change),
        "  gateway: %s" % str(exc).split(". ", 1)[0],
        "  check:   %s" % check.rstrip("."),
    ]
    lines += _pf_lines(result)
    lines.append("  to undo the switch once the incident is over: sudo %s"
                 % host_scripts.script_path(audit_dir, "rollback", stamp))
    lines.append("  next:    pull it again (it applies what is missing and checks again): %s" % result["next_command"])
    return "\n".join(lines)


def _pf_lines(result):
    return ["  PF files NOT edited: %s" % result["pf_skipped"]] if result.get("pf_skipped") else []


def _incomplete(change, skipped, result, audit_dir, stamp):
    """Flags pulled and confirmed, PF files skipped: one message, ending with the next command."""
    lines = ["emergency switch PULLED and CONFIRMED: the gateway serves %s. Not every PF file could be edited; the "
             "flags (what the gateway serves) are switched all the same." % result["seen_text"],
             "  written: %s" % _written_text(change)]
    lines += _pf_lines(result)
    lines.append("  to undo the switch once the incident is over: sudo %s"
                 % host_scripts.script_path(audit_dir, "rollback", stamp))
    lines.append("  next:    fix %s, then pull the switch again (it edits what is missing): %s"
                 % (", ".join(sorted(skipped)), result["next_command"]))
    return "\n".join(lines)


def _failed_part_way(exc, result):
    reason = os_error_text(exc) if isinstance(exc, OSError) else str(exc)
    done = []
    if result.get("snapshot_dir"):
        done.append("snapshot %s taken" % result["snapshot_dir"])
    text = "emergency switch stopped part way: %s" % reason
    if done:
        text += "; %s" % "; ".join(done)
    return text + (".\n  next: nothing is undone; fix the cause, then pull the switch again (it applies what is "
                   "missing): %s" % result["next_command"])


# ---------------------------------------------------------------- the command

def _print(text=""):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def build_parser():
    parser = argparse.ArgumentParser(
        prog=audit_log.script_name("emergency", "<stamp>"),
        description="Pull the Nexus COS kill switch on this host: public signups off, new transactions frozen, "
                    "founder mode.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    cmd = sub.add_parser("pull", help="pull the kill switch")
    cmd.add_argument("--flag-store", required=True)
    cmd.add_argument("--pf-dir", required=True)
    cmd.add_argument("--backup-dir", required=True)
    cmd.add_argument("--gateway-url", required=True)
    cmd.add_argument("--audit-dir", required=True)
    cmd.add_argument("--lock", required=True)
    cmd.add_argument("--verify-timeout", type=float, default=20.0)
    cmd.add_argument("--reason", default="")
    cmd.add_argument("--keep-lock", action="store_true")
    cmd.add_argument("--dry-run", action="store_true")
    return parser


def free_run_id(backup_dir, audit_dir, now=None):
    """A run id whose stamp names no snapshot and no chain file yet: a
    switch pulled twice in one second gets the next second's stamp (the
    stamp names its snapshot and its audit file)."""
    now = time.time() if now is None else now
    for ahead in range(0, 120):
        run_id = audit_log.new_run_id(now + ahead)
        stamp = run_id[:16]
        if not os.path.lexists(os.path.join(backup_dir, stamp)) \
                and not os.path.lexists(os.path.join(audit_dir, "activation-%s.log" % stamp)):
            return run_id
    raise SwitchFailed("no free run stamp in the next two minutes under %s and %s" % (backup_dir, audit_dir))


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.verify_timeout < 0:
        build_parser().error("--verify-timeout must be 0 or more seconds")
    run_id = free_run_id(args.backup_dir, args.audit_dir)
    holder = {"user": os.environ.get("SUDO_USER") or os.environ.get("USER") or "root",
              "controller": socket.gethostname(), "pid": os.getpid(), "via": "emergency script"}
    paths = HostPaths(args.flag_store, args.pf_dir, args.backup_dir, args.audit_dir, args.lock, args.gateway_url)
    run = RunContext(paths, run_id, holder=holder, verify_timeout=args.verify_timeout, via="script")
    _print("Nexus COS emergency switch, run %s%s" % (run_id, " (dry run: nothing is changed)" if args.dry_run else ""))
    try:
        result = pull(run, reason=args.reason, break_lock=not args.keep_lock, check_mode=args.dry_run)
    except SwitchFailed as exc:
        _report(exc.result, failed=True)
        sys.stderr.write("%s\n" % exc)
        return 1
    _report(result)
    if args.dry_run:
        _print("dry run: %s" % ("would change the files above" if result["changed"]
                                else "the files already hold the emergency state"))
        return 0
    seen = result["seen"]
    _print("gateway serves access mode %s, marketplace phase %s, %s flags (%d ms)"
           % (seen.get("access_mode"), seen.get("marketplace_phase"), seen.get("flags"), result.get("verify_ms", 0)))
    _print("emergency switch %s and confirmed by the gateway %.2f s after the start (%.2f s in all); audit: %s"
           % ("pulled" if result["changed"] else "already in place", result.get("confirmed_ms", 0) / 1000.0,
              result["elapsed_ms"] / 1000.0, os.path.join(args.audit_dir, result["audit_file"])))
    if result.get("rollback_script"):
        _print("to undo it once the incident is over: sudo %s" % result["rollback_script"])
    return 0


def _report(result, failed=False):
    if result.get("lock") == "broken":
        holder = result.get("previous_holder") or {}
        _print("deployment lock broken: it was held by run %s (user %s)" % (holder.get("run_id", "?"),
                                                                            holder.get("user", "?")))
    elif result.get("lock") == "recovered":
        holder = result.get("previous_holder") or {}
        _print("deployment lock taken over from run %s: %s" % (holder.get("run_id", "?"), holder.get("reason", "")))
    for change in result.get("flag_changes") or []:
        _print("  flag %-32s %s" % (change["name"], "on" if change["after"] else "off"))
    for change in result.get("pf_changes") or []:
        _print("  %-20s %s = %s" % (change["file"], change["key"], str(change["after"]).lower()))
    if result.get("pf_skipped") and not failed:
        # A failed run's message names the PF files itself.
        _print("PF files NOT edited: %s; the flags (what the gateway serves) are switched" % result["pf_skipped"])
    if result.get("reason_truncated"):
        _print("reason truncated to %d of its %d bytes in the records (reason_truncated=true)"
               % (result["reason_limit_bytes"], result["reason_bytes"]))
    for note in result.get("notes") or []:
        _print("note: %s" % note)
    for problem in result.get("audit_errors") or []:
        _print("AUDIT RECORD NOT WRITTEN: %s" % problem)


if __name__ == "__main__":
    # The host script (nexus-rollback-<ts>.sh, nexus-emergency-<ts>.sh) runs this file as a program, not Ansible.
    sys.exit(main())  # pylint: disable=ansible-bad-function
