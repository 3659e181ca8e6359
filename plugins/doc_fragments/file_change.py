# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations


class ModuleDocFragment(object):
    # Options of module_utils/file_change.py FILE_CHANGE_ARGUMENT_SPEC (the
    # host paths and audit options are the nexus_cos.launch.host_paths and audit fragments).
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
'''
