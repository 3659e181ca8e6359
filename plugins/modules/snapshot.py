#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: snapshot
short_description: Snapshot the Nexus COS flag store and PF files and write the run's rollback
version_added: "1.0.0"
description:
  - Copies each file a launch run may touch into C(<backup_dir>/<stamp>/files/) with its
    sha256, mode and owner, records the gateway state they produce (access mode, marketplace
    phase), and writes C(snapshot.json) last, so a snapshot with a manifest is complete.
  - In the same execution writes the on-host runtime under C(<backup_dir>/<stamp>/lib/), and with
    O(scripts=true) the two scripts for the hour the controller cannot reach the host, both rendered
    here, 0750, needing only python3; C(<audit_dir>/nexus-rollback-<stamp>.sh) restores this snapshot and
    C(<audit_dir>/nexus-emergency-<stamp>.sh) pulls the kill switch. With O(rollback_playbook), the rollback
    playbook C(<audit_dir>/rollback-<stamp>.yml) (0640). Audits C(SNAPSHOT_CREATED) and
    C(ROLLBACK_SCRIPT_GENERATED).
  - One job, leaving a rollback for this snapshot; the runtime and the two scripts belong to it
    (they restore it, or pull the kill switch from it, with no controller). What a change will
    leave is recorded by M(nexus_cos.launch.snapshot_after); whether the gateway serves the
    snapshotted state is asked by M(nexus_cos.launch.gateway_verify).
  - Reports C(changed) when it wrote a new snapshot (a complete snapshot of the same run is kept
    as it is); the plays mark the task C(changed_when=false), as a snapshot is a record of a run,
    not configuration.
  - The scripts hold the deployment lock O(lock_path) while they change files.
  - Rollback rules and the snapshot layout are in docs/rollback.md.
author: Nexus COS platform team (@nexus-cos)
extends_documentation_fragment:
  - nexus_cos.launch.attributes
  - nexus_cos.launch.host_paths.audit_paths
  - nexus_cos.launch.host_paths
  - nexus_cos.launch.audit
options:
  files:
    description:
      - Absolute paths of the files to snapshot. A missing file is recorded as absent.
      - The plays pass C(snapshot_files), the flag store and the four PF files.
    type: list
    elements: path
    required: true
  flag_store:
    description:
      - Which of O(files) is the flag store; the gateway state before the run is computed from
        it. Default the one named C(feature-flags.json).
    type: path
  backup_dir:
    description: Directory of snapshots; this one goes to C(<backup_dir>/<stamp>) (the plays pass C(nexus_backup_dir)).
    type: path
    required: true
  stamp:
    description: UTC stamp of the run (C(20260115T103045Z)). Default the stamp that starts O(run_id).
    type: str
  gateway_url:
    description: Gateway base URL, recorded in the manifest for the rollback (the plays pass C(nexus_gateway_url)).
    type: str
  scripts:
    description:
      - Write C(nexus-rollback-<stamp>.sh) and C(nexus-emergency-<stamp>.sh) into O(audit_dir). They use O(gateway_url),
        O(lock_path), O(pf_dir), O(flag_store) and O(script_verify_timeout); O(audit_dir), O(gateway_url),
        O(pf_dir) and O(lock_path) are then required.
    type: bool
    default: false
  pf_dir:
    description: Directory of the PF files (the emergency script edits them; the plays pass C(nexus_pf_dir)).
    type: path
  host_name:
    description: The host's name as the inventory knows it, written into the scripts' comments.
    type: str
  script_verify_timeout:
    description: Seconds the scripts wait for the gateway to serve the restored (or founder) state.
    type: int
    default: 20
  rollback_playbook:
    description: Content of C(rollback-<stamp>.yml), rendered on the controller. Not written when omitted.
    type: str
  runtime_files:
    description:
      - Files of the on-host runtime, a mapping of path under C(lib/) to content. Default the sources of
        the modules the scripts import, as this module carries them.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Backup copies are written 0640 in 0750 directories whatever the source's mode; the source's
    mode and owner are recorded and restored by a rollback.
seealso:
  - module: nexus_cos.launch.restore_snapshot
  - module: nexus_cos.launch.snapshot_after
  - module: nexus_cos.launch.gateway_verify
'''

EXAMPLES = r'''
- name: Snapshot before changing anything, and render the rollback
  nexus_cos.launch.snapshot:
    files:
      - "{{ nexus_flag_store }}"
      - "{{ nexus_pf_dir }}/marketplace-phase3.yaml"
    backup_dir: "{{ nexus_backup_dir }}"
    stamp: "{{ nexus_run_stamp }}"
    gateway_url: "{{ nexus_gateway_url }}"
    scripts: true
    pf_dir: "{{ nexus_pf_dir }}"
    lock_path: "{{ nexus_lock_path }}"
    host_name: "{{ inventory_hostname }}"
    rollback_playbook: "{{ lookup('ansible.builtin.template', 'rollback.yml.j2') }}"
    audit_dir: "{{ nexus_audit_dir }}"
    audit_file: "deployment-{{ nexus_run_stamp }}.log"
    run_id: "{{ nexus_run_id }}"
  register: nexus_snapshot
  changed_when: false
'''

RETURN = r'''
snapshot_dir:
  description: The snapshot directory.
  returned: always
  type: str
  sample: /opt/nexus-cos/backups/phase4/20260115T103045Z
manifest_sha256:
  description: sha256 of C(snapshot.json) (also on the C(SNAPSHOT_CREATED) record).
  returned: when the snapshot exists (not in check mode)
  type: str
files:
  description: Each file as snapshotted, C({path, exists, sha256, size, mode, uid, gid, copy}).
  returned: always
  type: list
  elements: dict
gateway:
  description:
    - What the gateway serves for the snapshotted flag store, C({access_mode, marketplace_phase, jurisdiction, flags});
      what M(nexus_cos.launch.gateway_verify) expects of a run that changes no flag.
  returned: always
  type: dict
  sample: {access_mode: founder_beta, marketplace_phase: 0, jurisdiction: false, flags: 9}
rollback_script:
  description: Path of the rollback shell script on the host.
  returned: with O(scripts=true)
  type: str
  sample: /var/log/nexus-cos/phase4-audit/nexus-rollback-20260115T103045Z.sh
emergency_script:
  description: Path of the on-host kill switch script.
  returned: with O(scripts=true)
  type: str
  sample: /var/log/nexus-cos/phase4-audit/nexus-emergency-20260115T103045Z.sh
rollback_playbook:
  description: Path of the rollback playbook on the host.
  returned: when O(rollback_playbook) is given
  type: str
audit_head:
  description: The audit chain head after this module's records.
  returned: when audited
  type: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log, host_scripts, run_audit, snapshot
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import emergency
from ansible_collections.nexus_cos.launch.plugins.module_utils.run_context import HostPaths, RunContext
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import os_error_text, write_atomic
# The snapshot's lib/ holds the rollback command (snapshot.runtime_files reads
# it from this module's payload): imported so that Ansible ships it.
from ansible_collections.nexus_cos.launch.plugins.module_utils import rollback_cli  # noqa: F401 pylint: disable=unused-import


def _write_if_different(path, content, mode):
    """Rollback files are rewritten only when their content differs."""
    data = content.encode("utf-8")
    try:
        with open(path, "rb") as handle:
            if handle.read() == data and (os.stat(path).st_mode & 0o7777) == mode:
                return
    except FileNotFoundError:
        pass
    write_atomic(path, data, mode=mode)


def _write_rollback_files(module, p, stamp, snapshot_dir):
    """The scripts (rendered here) and the playbook (rendered on the
    controller); in check mode only their paths."""
    generated = {}
    if p["scripts"]:
        flag_store = p["flag_store"] or next((f for f in p["files"]
                                              if os.path.basename(f) == snapshot.FLAG_STORE_NAME), None)
        if module.check_mode:
            generated.update(rollback_script=host_scripts.script_path(p["audit_dir"], "rollback", stamp),
                             emergency_script=host_scripts.script_path(p["audit_dir"], "emergency", stamp))
        else:
            audit_log.ensure_audit_dir(p["audit_dir"])
            paths = HostPaths(flag_store, p["pf_dir"], p["backup_dir"], p["audit_dir"], p["lock_path"], p["gateway_url"])
            run = RunContext(paths, p["run_id"], stamp=stamp, host=p["host_name"] or "this host",
                             verify_timeout=p["script_verify_timeout"])
            generated.update(emergency.write_scripts(run, snapshot_dir))
    if p["rollback_playbook"] is not None:
        path = os.path.join(p["audit_dir"], "rollback-%s.yml" % stamp)
        generated["rollback_playbook"] = path
        if not module.check_mode:
            audit_log.ensure_audit_dir(p["audit_dir"])
            _write_if_different(path, p["rollback_playbook"], 0o640)
    return generated


def _stamp(params):
    if params["stamp"]:
        return params["stamp"]
    run_id = params.get("run_id") or ""
    return run_id[:16]


def main():
    argument_spec = dict(
        files=dict(type="list", elements="path", required=True),
        flag_store=dict(type="path"),
        backup_dir=dict(type="path", required=True),
        stamp=dict(type="str"),
        gateway_url=dict(type="str"),
        scripts=dict(type="bool", default=False),
        pf_dir=dict(type="path"),
        host_name=dict(type="str"),
        script_verify_timeout=dict(type="int", default=20),
        rollback_playbook=dict(type="str"),
        runtime_files=dict(type="dict", default={}),
    )
    argument_spec.update(run_audit.AUDIT_ARGUMENT_SPEC, **run_audit.HOST_PATHS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=[("stamp", "run_id")],
                           required_if=[("scripts", True, ("audit_dir", "pf_dir", "lock_path", "gateway_url"))],
                           required_by={"rollback_playbook": ("audit_dir",)})
    p = module.params
    stamp = _stamp(p)
    snapshot_dir = os.path.join(p["backup_dir"], stamp)
    out = dict(changed=False, snapshot_dir=snapshot_dir)
    try:
        snapshot.check_stamp(stamp)
        log = None if module.check_mode else run_audit.open_audit(p)
        extra = run_audit.extra_events(p)
    except (ValueError, snapshot.SnapshotError) as exc:
        module.fail_json(msg="snapshot: %s" % exc, **out)
    if not p["run_id"]:
        module.fail_json(msg="snapshot: run_id is required to take a snapshot", **out)

    try:
        if module.check_mode:
            manifest = _preview(p, stamp)
        else:
            # A complete snapshot of the same run is kept as it is: no change.
            out["changed"] = not os.path.exists(os.path.join(snapshot_dir, snapshot.SNAPSHOT_FILE))
            manifest = snapshot.take(p["files"], p["backup_dir"], p["run_id"], stamp,
                                     gateway_url=p["gateway_url"],
                                     runtime_files=p["runtime_files"] or snapshot.runtime_files(),
                                     flag_store_path=p["flag_store"])
            out["manifest_sha256"] = snapshot.manifest_sha256(snapshot_dir)
        out["files"] = manifest["files"]
        out["gateway"] = manifest["gateway"]
        events = [("SNAPSHOT_CREATED", {"dir": snapshot_dir, "files": len(manifest["files"]),
                                        "manifest_sha256": out.get("manifest_sha256", "check-mode"),
                                        "access_mode": manifest["gateway"].get("access_mode") or "unknown",
                                        "marketplace_phase": _phase(manifest)})]
        generated = _write_rollback_files(module, p, stamp, snapshot_dir)
        out.update(generated)
        if generated:
            fields = {"script": generated.get("rollback_script", "-"),
                      "emergency_script": generated.get("emergency_script", "-"),
                      "playbook": generated.get("rollback_playbook", "-")}
            if manifest.get("lib"):
                # What the scripts will run, as one digest of lib/'s hashes.
                fields["lib_sha256"] = snapshot.lib_sha256(manifest)
            events.append(("ROLLBACK_SCRIPT_GENERATED", fields))
        head = run_audit.write(log, events + extra)
    except snapshot.SnapshotError as exc:
        module.fail_json(msg="snapshot: %s" % exc, **out)
    except OSError as exc:
        module.fail_json(msg="snapshot %s: %s" % (snapshot_dir, os_error_text(exc)), **out)
    except ValueError as exc:
        module.fail_json(msg="snapshot %s: %s" % (snapshot_dir, exc), **out)
    if head:
        out["audit_head"] = head
    module.exit_json(**out)


def _phase(manifest):
    phase = manifest["gateway"].get("marketplace_phase")
    return "unknown" if phase is None else phase


def _preview(p, stamp):
    """What take() would record, without writing anything (check mode)."""
    snapshot_dir = os.path.join(p["backup_dir"], stamp)
    if os.path.exists(os.path.join(snapshot_dir, snapshot.SNAPSHOT_FILE)):
        return snapshot.load(snapshot_dir)
    files, gateway = [], {"access_mode": None, "marketplace_phase": None}  # as take() without a flag store
    store = p["flag_store"] or next((f for f in p["files"] if os.path.basename(f) == snapshot.FLAG_STORE_NAME),
                                    None)
    for path in p["files"]:
        data, st = snapshot.read_regular(path)
        files.append({"path": path, "exists": data is not None,
                      "sha256": snapshot.sha256_bytes(data) if data is not None else None})
        if store and os.path.normpath(store) == os.path.normpath(path):
            gateway = snapshot.gateway_state(data, path)
    return {"files": files, "gateway": gateway}


if __name__ == "__main__":
    main()
