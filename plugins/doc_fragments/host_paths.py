# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

# The run's host paths and ids: module_utils/run_audit.py HOST_PATHS_ARGUMENT_SPEC.
# A module of action group nexus_cos.launch.host_paths (meta/runtime.yml), which a
# play sets once with module_defaults, takes both: AUDIT_PATHS (the part modules
# outside the group, with no deployment lock, take too) and DOCUMENTATION (the lock
# and the group). Each a literal: ansible-test reads doc fragments as such.


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options:
  lock_path:
    description:
      - The deployment lock (the plays pass C(nexus_lock_path)). What the module does with it is in
        its description; a module that writes refuses to unless the run O(run_id) holds it
        (not asked in check mode, which takes no lock).
    type: path
notes:
  - The plays set O(audit_dir), O(audit_file), O(run_id) and O(lock_path) once for every module of action
    group C(nexus_cos.launch.host_paths), with C(module_defaults) and C(group/nexus_cos.launch.host_paths).
'''

    AUDIT_PATHS = r'''
options:
  audit_dir:
    description:
      - Directory of the audit trail on the host (created 0750 when missing). Required with
        O(audit_file); the plays pass C(nexus_audit_dir).
    type: path
  audit_file:
    description:
      - Chain file this run appends to, C(deployment-<stamp>.log), C(rollback-<stamp>.log)
        or C(activation-<stamp>.log). Without it the module writes no audit record.
    type: str
  run_id:
    description: Run id stamped on every record. Required with O(audit_file).
    type: str
'''
