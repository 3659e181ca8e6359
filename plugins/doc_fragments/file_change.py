# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations


class ModuleDocFragment(object):
    # Options of module_utils/file_change.py FILE_CHANGE_ARGUMENT_SPEC (the
    # audit options are the nexus_cos.launch.audit fragment).
    DOCUMENTATION = r'''
options:
  backup:
    description:
      - Keep a copy of the original file, named with a timestamp, when it changes.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for the lock held by another change of the same file (the sidecar C(<path>.lock)).
    type: float
    default: 30
  lock_path:
    description:
      - The deployment lock (the plays pass C(nexus_lock_path)). When given, the module writes
        nothing unless the run O(run_id) holds it. Not asked in check mode, which takes no lock.
    type: path
'''
