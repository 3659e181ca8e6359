#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: activation_state
short_description: Read, apply and record the activation state of a Nexus COS host
version_added: "1.0.0"
description:
  - The host side of activation (marketplace Phase 3 steps, the Phase 4 launch, the emergency
    switch). The decisions are made on the controller by M(nexus_cos.launch.activation_gate);
    this module reads the facts they need and carries out what they decide.
  - C(action=query) reads, changing nothing, the flag store, the four PF files, the recorded
    activations (each cross-checked against its audit record), a summary of recent runs from
    the audit trail and the deployment lock's holder.
  - C(action=apply) makes an activation's changes. It works out every new file first; with
    O(snapshot_dir) it writes the hashes the change will leave into the snapshot's C(after.json)
    before the first write, so that a run killed halfway leaves each file as it was before or
    as predicted and its rollback restores without force. Then all flag changes in one atomic
    write of the flag store (with the semantics of M(nexus_cos.launch.feature_flag)), then the PF
    values round-trip (as M(nexus_cos.launch.pf_setting)). Audits C(FLAGS_CHANGED) and
    C(PF_SETTINGS_CHANGED).
  - C(action=record) records an activation, first as an audit record
    (C(ACTIVATION_STEP_APPLIED), or C(EMERGENCY_SWITCH)), then in the state file
    C(activation-state.json) of the audit directory, written atomically.
  - C(action=audit) writes O(audit_events) only (gate decisions made on the controller).
author: Nexus COS platform team
extends_documentation_fragment:
  - nexus_cos.launch.audit
options:
  action:
    description: What to do.
    type: str
    choices: [query, apply, record, audit]
    default: query
  state_file:
    description: The activation state file. Defaults to C(activation-state.json) in O(audit_dir).
    type: path
  flag_store:
    description: The gateway's flag store.
    type: path
    default: /opt/nexus-cos/config/feature-flags.json
  pf_dir:
    description: Directory of the PF files.
    type: path
    default: /opt/nexus-cos/pfs
  lock_path:
    description:
      - The deployment lock. With C(action=query) its holder is reported; with C(apply) and
        C(record) the module refuses to act unless O(run_id) holds it.
    type: path
  runs_limit:
    description: How many of the newest audit chain files of each kind (deployment, activation, rollback) C(action=query) summarizes.
    type: int
    default: 30
  enable:
    description: Flags to turn on (C(action=apply)); flags they require are turned on first.
    type: list
    elements: str
    default: []
  disable:
    description: Flags to turn off (C(action=apply)).
    type: list
    elements: str
    default: []
  cascade:
    description: Also turn off enabled flags that depend on a disabled one (C(action=apply)).
    type: bool
    default: false
  now:
    description: ISO 8601 time written to the flag store's C(updated) when it changes.
    type: str
  pf_settings:
    description: PF values to set (C(action=apply)), C([{file, settings}]) with C(file) a name in O(pf_dir).
    type: list
    elements: dict
    default: []
  snapshot_dir:
    description: The run's snapshot; C(action=apply) writes the predicted C(after.json) there first.
    type: path
  entry:
    description:
      - The activation to record (C(action=record)), as returned by the gate in C(entry).
        Keys C(key), C(applied_at), C(applied_at_utc), C(run_id), C(audit_event) and optional
        C(forced_reason), C(clock_override), C(approvers), C(waived), C(reason), C(from_mode).
    type: dict
attributes:
  check_mode:
    support: full
    details: C(apply) reports the change and its diffs; nothing is written in check mode.
  diff_mode:
    support: full
    details: C(apply) only.
notes:
  - Recording and audit writes are records of a run, not configuration, and report
    C(changed=false) so that a second identical run reports no change.
'''

EXAMPLES = r'''
- name: Read what the gate needs
  nexus_cos.launch.activation_state:
    audit_dir: /var/log/nexus-cos/phase4-audit
    lock_path: /var/lock/nexus-cos-phase4-deploy.lock
  register: facts

- name: Switch the launch flags in one write, then the PF values
  nexus_cos.launch.activation_state:
    action: apply
    enable: [PUBLIC_FULL_LAUNCH_MODE, JURISDICTION_ENGINE_ENABLED]
    disable: [FOUNDER_BETA_MODE, PUBLIC_SOFT_LAUNCH_MODE]
    pf_settings:
      - file: global-launch.yaml
        settings: {feature_flags.public_signup: true, visibility_control.seo_enabled: true}
    snapshot_dir: "/opt/nexus-cos/backups/phase4/{{ nexus_run_stamp }}"
    lock_path: /var/lock/nexus-cos-phase4-deploy.lock
    run_id: "{{ nexus_run_id }}"
'''

RETURN = r'''
now:
  description: The host's clock, epoch seconds (C(action=query)).
  returned: action=query
  type: int
activations:
  description: Recorded activations, oldest first, each with C(audit_verified) and C(audit_problem).
  returned: action=query
  type: list
  elements: dict
runs:
  description:
    - Runs found in the audit trail, newest first, C({kind, file, run_id, playbook, started,
      completed, status, precheck_status}) (epoch seconds).
  returned: action=query
  type: list
  elements: dict
flag_store:
  description: C({path, document, error}) of the flag store.
  returned: action=query
  type: dict
pfs:
  description: "C({NAME: {path, document, error}}) of the four PF files."
  returned: action=query
  type: dict
lock:
  description:
    - C({holder, text, gone_reason}) of the deployment lock; holder null when unlocked.
    - C(text) says who holds it (a run of this collection, the platform deploy script's bare pid,
      or an unrecognised lock file); C(gone_reason) why that holder is dead, null while it may run.
  returned: action=query and lock_path given
  type: dict
changes:
  description: Flags whose C(enabled) changes, C([{name, before, after}]).
  returned: action=apply
  type: list
  elements: dict
pf_changes:
  description: PF values that change, C([{file, key, before, after}]).
  returned: action=apply
  type: list
  elements: dict
files:
  description: Files the change writes.
  returned: action=apply
  type: list
  elements: str
access_mode_after:
  description: The access mode the flag store gives after the change.
  returned: action=apply, when it wrote
  type: str
entry:
  description: The entry as recorded, with C(audit_seq) and C(audit_chain).
  returned: action=record
  type: dict
audit_head:
  description: The audit chain head after this module's records.
  returned: when audited
  type: dict
'''

import hashlib
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import (activation, audit_log, deploy_lock, flag_store,
                                                                       nexus_config, pf_document, run_audit, snapshot)
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import write_atomic

STATE_MODE = 0o640
# This collection's chain files; the platform deploy script's logs in the
# same directory are not runs of ours.
RUN_FILE = audit_log.OWN_FILE_PATTERN


def _plain(value):
    """JSON-safe copy of a YAML document (dates become ISO text)."""
    if isinstance(value, dict):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def read_pfs(pf_dir):
    out = {}
    for name in activation.PF_FILES:
        path = os.path.join(pf_dir, name)
        try:
            out[name] = {"path": path, "document": _plain(nexus_config.load_yaml_file(path, path)), "error": None}
        except nexus_config.ConfigError as exc:
            out[name] = {"path": path, "document": None, "error": str(exc)}
    return out


def read_flag_store(path):
    try:
        return {"path": path, "document": flag_store.load(path).data, "error": None}
    except flag_store.FlagError as exc:
        return {"path": path, "document": None, "error": str(exc)}


def _records(path):
    """[(event, fields, epoch, run, seq, chain, chain_ok)] of a chain file; lines that are not records are skipped."""
    out = []
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return out
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            rec = audit_log.parse_record(line)
        except audit_log.AuditFormatError:
            continue
        out.append((rec.event, rec.fields, rec.epoch, rec.run, rec.seq, rec.chain, rec.chain_ok()))
    return out


def read_runs(audit_dir, limit):
    """Summaries of the runs in the newest ``limit`` chain files of each
    kind, newest first: one per run id and file (a run writes its records to its own
    chain file; several plays of one ansible-playbook invocation may share
    a run id but not a file)."""
    try:
        names = [n for n in os.listdir(audit_dir) if RUN_FILE.match(n)]
    except OSError:
        return []
    names.sort(key=lambda n: (RUN_FILE.match(n).group(2), n), reverse=True)
    # The newest files of each kind: many activation runs must not push the
    # prepare run the gates look for out of the window.
    kept = []
    for kind in ("deployment", "activation", "rollback"):
        kept.extend([n for n in names if n.startswith(kind + "-")][:limit])
    runs = []
    for name in kept:
        by_run, order = {}, []
        for event, fields, epoch, run, seq, _, _ in _records(os.path.join(audit_dir, name)):
            if run not in by_run:
                by_run[run] = []
                order.append(run)
            by_run[run].append((seq, event, fields, epoch, run))
        for run in order:
            items = sorted(by_run[run], key=lambda r: r[0])
            summary = activation.summarize_run([(e, f, t, r) for _, e, f, t, r in items])
            summary.update(kind=RUN_FILE.match(name).group(1), file=name, first_seq=items[0][0])
            runs.append(summary)
    runs.sort(key=lambda r: r["first_seq"], reverse=True)
    return runs


def read_state(state_file):
    """The state document, {format, activations}; empty when absent."""
    try:
        with open(state_file, "r", encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        return {"format": activation.STATE_FORMAT, "activations": []}
    except (OSError, ValueError) as exc:
        raise ValueError("%s: cannot read the activation state (%s); expected JSON {format, activations}. "
                         "Move it aside to start a new one: the audit trail keeps every activation"
                         % (state_file, exc))
    if not isinstance(document, dict) or not isinstance(document.get("activations"), list):
        raise ValueError("%s: expected JSON {format, activations: [...]}; move it aside to start a new one"
                         % state_file)
    return document


def verify_entries(entries, audit_dir):
    """Each entry with audit_verified / audit_problem from its audit record."""
    cache = {}
    out = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        entry = dict(entry)
        name = entry.get("audit_file") or ""
        problem = None
        if not run_audit.FILE_NAME.match(name):
            problem = "audit_file %r is not an audit chain file name" % name
        else:
            if name not in cache:
                cache[name] = dict((r[4], r) for r in _records(os.path.join(audit_dir, name)))
            record = cache[name].get(entry.get("audit_seq"))
            if record is None:
                problem = "no record seq %s in %s" % (entry.get("audit_seq"), name)
            else:
                event, fields, _, run, _, chain, chain_ok = record
                problem = activation.check_entry_against_record(entry, fields, event, run, chain_ok)
                if problem is None and chain != entry.get("audit_chain"):
                    problem = "chain hash of record seq %s in %s differs from the one recorded" % (
                        entry.get("audit_seq"), name)
        entry["audit_verified"] = problem is None
        entry["audit_problem"] = problem
        out.append(entry)
    return out


def query(module, p, state_file):
    out = {"changed": False, "now": int(time.time()), "audit_dir": p["audit_dir"],
           "state_file": state_file}
    try:
        state = read_state(state_file)
        out["activations"] = verify_entries(state["activations"], p["audit_dir"])
        out["state_error"] = None
    except ValueError as exc:
        out["activations"] = []
        out["state_error"] = str(exc)
    out["runs"] = read_runs(p["audit_dir"], p["runs_limit"])
    out["flag_store"] = read_flag_store(p["flag_store"])
    out["pfs"] = read_pfs(p["pf_dir"])
    if p["lock_path"]:
        holder = deploy_lock.read_holder(p["lock_path"])
        out["lock"] = {"holder": holder, "text": deploy_lock.describe_holder(holder) if holder else None,
                       "gone_reason": deploy_lock.gone_reason(holder, out["now"]) if holder else None}
    module.exit_json(**out)


def _assert_lock(module, p):
    if p["lock_path"]:
        try:
            deploy_lock.assert_held(p["lock_path"], p["run_id"])
        except deploy_lock.LockError as exc:
            module.fail_json(msg=str(exc))


def _sha256(text):
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def _predict_after(snapshot_dir, texts, run_id):
    """Write the snapshot's after.json with the hashes the change will leave,
    before the first write: a run killed halfway leaves each file as before
    or as predicted, and its rollback restores without force."""
    manifest = snapshot.load(snapshot_dir)
    files = []
    for entry in manifest["files"]:
        if entry["path"] in texts:
            files.append({"path": entry["path"], "exists": True, "sha256": _sha256(texts[entry["path"]])})
        else:
            files.append(dict(path=entry["path"], **snapshot.current_state(entry["path"])))
    document = {"run_id": run_id, "recorded": activation.iso_utc(time.time()), "predicted": True, "files": files}
    write_atomic(os.path.join(snapshot_dir, snapshot.AFTER_FILE), json.dumps(document, indent=2) + "\n",
                 mode=snapshot.FILE_MODE)


def apply(module, p):
    """All flag changes in one write of the flag store, then the PF values."""
    if not module.check_mode:   # a check run takes no lock
        _assert_lock(module, p)
    store_path = p["flag_store"]
    try:
        store = flag_store.load(store_path)
        plan = flag_store.plan_change(store, p["enable"], p["disable"], with_dependencies=True, cascade=p["cascade"])
        now_text = flag_store.format_timestamp(p["now"])
        texts, diffs, pf_changes = {}, [], []
        if plan.changed:
            texts[store_path] = flag_store.render(store, plan, now_text)
            diffs.append({"before": store.text, "after": texts[store_path],
                          "before_header": "%s (content)" % store_path, "after_header": "%s (content)" % store_path})
        for item in p["pf_settings"]:
            path = os.path.join(p["pf_dir"], item["file"])
            document = pf_document.load(path)
            before = document.text
            changes = pf_document.apply_settings(document, item["settings"])
            if changes:
                texts[path] = document.text
                diffs.append({"before": before, "after": document.text,
                              "before_header": "%s (content)" % path, "after_header": "%s (content)" % path})
                pf_changes.extend({"file": item["file"], "key": c.key, "before": c.before, "after": c.after}
                                  for c in changes)
    except (flag_store.FlagError, pf_document.PFEditError) as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": bool(texts), "changes": plan.as_dicts(), "pf_changes": pf_changes,
              "files": sorted(texts), "access_mode_before": store.access_mode()}
    if module._diff:
        result["diff"] = diffs
    if module.check_mode or not texts:
        module.exit_json(**result)
    try:
        if p["snapshot_dir"]:
            _predict_after(p["snapshot_dir"], texts, p["run_id"])
        update = flag_store.update_flags(store_path, enable=p["enable"], disable=p["disable"], with_dependencies=True,
                                         cascade=p["cascade"], now=now_text)
        result["access_mode_after"] = update.after.access_mode()
        for item in p["pf_settings"]:
            pf_document.update_settings(os.path.join(p["pf_dir"], item["file"]), item["settings"])
        if p["audit_file"]:
            events = []
            if plan.changed:
                events.append(("FLAGS_CHANGED", {
                    "flags": ",".join("%s=%s" % (c.name, "on" if c.after else "off") for c in update.plan),
                    "access_mode": update.after.access_mode()}))
            if pf_changes:
                events.append(("PF_SETTINGS_CHANGED", {
                    "files": ",".join(sorted(set(c["file"] for c in pf_changes))),
                    "keys": ",".join("%s:%s" % (c["file"], c["key"]) for c in pf_changes)}))
            head = run_audit.write(run_audit.open_audit(p), events + run_audit.extra_events(p))
            if head:
                result["audit_head"] = head
    except (flag_store.FlagError, pf_document.PFEditError, snapshot.SnapshotError, ValueError, OSError) as exc:
        module.fail_json(msg="applying the change: %s" % exc, **result)
    module.exit_json(**result)


def record(module, p, state_file):
    entry = dict(p["entry"] or {})
    for key in ("key", "applied_at", "applied_at_utc", "run_id", "audit_event"):
        if key not in entry:
            module.fail_json(msg="entry: key %s is missing; expected the entry the gate returned" % key)
    if module.check_mode:
        module.exit_json(changed=False, entry=entry)
    _assert_lock(module, p)
    if not p["audit_file"]:
        module.fail_json(msg="audit_file is required with action=record: every activation is audited")
    entry["audit_file"] = p["audit_file"]
    try:
        log = run_audit.open_audit(p)
        audit_log.ensure_audit_dir(p["audit_dir"])
        with flag_store.file_lock(state_file, lock_path=state_file + ".lock"):
            # Read first: a state file that cannot be extended stops the run
            # before its audit record is written.
            state = read_state(state_file)
            written = log.records([(entry["audit_event"], activation.audit_fields(entry))]
                                  + run_audit.extra_events(p))
            entry.update(audit_seq=written[0]["seq"], audit_chain=written[0]["chain"])
            state["format"] = activation.STATE_FORMAT
            state["activations"].append(entry)
            write_atomic(state_file, json.dumps(state, indent=2, sort_keys=True) + "\n", mode=STATE_MODE)
    except (ValueError, OSError, flag_store.FlagError) as exc:
        module.fail_json(msg="recording %s in %s: %s" % (entry["key"], state_file, exc))
    module.exit_json(changed=False, entry=entry, audit_head=written[-1])


def audit(module, p):
    if module.check_mode:
        module.exit_json(changed=False)
    try:
        head = run_audit.write(run_audit.open_audit(p), run_audit.extra_events(p))
    except (ValueError, OSError) as exc:
        module.fail_json(msg="audit: %s" % exc)
    out = {"changed": False}
    if head:
        out["audit_head"] = head
    module.exit_json(**out)


def main():
    argument_spec = dict(
        action=dict(type="str", choices=["query", "apply", "record", "audit"], default="query"),
        state_file=dict(type="path"),
        flag_store=dict(type="path", default=flag_store.DEFAULT_PATH),
        pf_dir=dict(type="path", default="/opt/nexus-cos/pfs"),
        lock_path=dict(type="path"),
        runs_limit=dict(type="int", default=30),
        enable=dict(type="list", elements="str", default=[]),
        disable=dict(type="list", elements="str", default=[]),
        cascade=dict(type="bool", default=False),
        now=dict(type="str"),
        pf_settings=dict(type="list", elements="dict", default=[]),
        snapshot_dir=dict(type="path"),
        entry=dict(type="dict"),
    )
    argument_spec.update(run_audit.AUDIT_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("action", "record", ["entry", "run_id"]), ("action", "apply", ["run_id"])])
    p = module.params
    state_file = p["state_file"] or os.path.join(p["audit_dir"], activation.STATE_FILE)
    if p["action"] == "query":
        query(module, p, state_file)
    elif p["action"] == "apply":
        apply(module, p)
    elif p["action"] == "record":
        record(module, p, state_file)
    else:
        audit(module, p)


if __name__ == "__main__":
    main()
