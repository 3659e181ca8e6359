#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pf_setting
short_description: Set values in Nexus COS PF YAML files, keeping comments and layout
version_added: "1.0.0"
description:
  - Sets scalar values in a Nexus COS PF file (C(/opt/nexus-cos/pfs/*.yaml)) addressed by
    dotted key paths such as C(marketplace.progressive_access.founders.enabled).
  - Edits are round-trip. Only the value text on the key's line changes; comments (also the
    one after the value), key order, blank lines and the old value's quoting style are kept.
  - Every edit is verified by parsing the file before and after; if anything but the one key
    would change, or the key is in flow style, carries an anchor, alias or tag, or spans several
    lines, the module fails with C(cannot edit KEY in FILE safely) and writes nothing.
  - Keys must already exist; a missing key fails and lists the keys that do exist there.
  - The file is changed under an exclusive lock on the sidecar C(<path>.lock) and replaced
    atomically (temporary file in the same directory, fsync, rename), keeping its mode and owner.
    When all values already hold, the file is left untouched.
  - In a launch run, with O(lock_path) the module writes only while the run holds the deployment
    lock, and with O(audit_file) the change is audited as C(PF_SETTINGS_CHANGED) in the same execution.
author:
  - Nexus COS platform team (@nexus-cos)
requirements:
  - PyYAML on the managed host (C(python3-yaml))
options:
  path:
    description:
      - Path of the PF file on the managed host (the plays pass a file in C(nexus_pf_dir)).
    type: path
    required: true
  settings:
    description:
      - Mapping of dotted key path to the new value (string, number, boolean or null).
      - Applied in order; nothing is written if any of them is refused.
    type: dict
    required: true
extends_documentation_fragment:
  - nexus_cos.launch.attributes
  - nexus_cos.launch.file_change
  - nexus_cos.launch.host_paths.audit_paths
  - nexus_cos.launch.host_paths
  - nexus_cos.launch.audit
notes:
  - Check mode reports the changes and, with C(--diff), the new file text, without touching the file.
  - Values are written with their YAML type; quote a value in the playbook to write a string
    (V("true") stays a string, V(true) becomes a boolean).
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
seealso:
  - module: nexus_cos.launch.feature_flag
"""

EXAMPLES = r"""
- name: Marketplace Phase 3 step 1 - marketplace on, founders in
  nexus_cos.launch.pf_setting:
    path: /opt/nexus-cos/pfs/marketplace-phase3.yaml
    settings:
      marketplace.enabled: true
      marketplace.progressive_access.founders.enabled: true

- name: Step 3 - peer-to-peer trading for the public
  nexus_cos.launch.pf_setting:
    path: /opt/nexus-cos/pfs/marketplace-phase3.yaml
    settings:
      marketplace.trading_features.peer_to_peer.enabled: true
      marketplace.progressive_access.public.enabled: true
    backup: true

- name: Show what the global launch would change
  nexus_cos.launch.pf_setting:
    path: /opt/nexus-cos/pfs/global-launch.yaml
    settings:
      feature_flags.public_signup: true
      feature_flags.founder_mode: false
      visibility_control.seo_enabled: true
      global_launch.status: "live"
  check_mode: true
  diff: true
"""

RETURN = r"""
changed:
  description: Whether the file was (or in check mode would be) changed.
  returned: always
  type: bool
changes:
  description: Each setting whose value changes; settings that already hold are left out.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: Dotted key path.
      type: str
    before:
      description: Value before the change.
      type: raw
    after:
      description: Value after the change.
      type: raw
  sample:
    - {key: marketplace.enabled, before: false, after: true}
path:
  description: The PF file that was read.
  returned: always
  type: str
  sample: /opt/nexus-cos/pfs/marketplace-phase3.yaml
sha256_after:
  description: sha256 of the file after the change (in check mode, as it would be).
  returned: always
  type: str
audit_head:
  description: The audit chain head after the C(PF_SETTINGS_CHANGED) record.
  returned: when O(audit_file) is given and the file changed
  type: dict
backup_file:
  description: Name of the backup copy.
  returned: when O(backup=true) and the file changed
  type: str
  sample: /opt/nexus-cos/pfs/marketplace-phase3.yaml.2301.2025-01-15@10:30:00~
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nexus_cos.launch.plugins.module_utils import documents
from ansible_collections.nexus_cos.launch.plugins.module_utils.file_change import (
    FILE_CHANGE_ARGUMENT_SPEC,
    add_file_change,
    audit_change,
    check_run,
    file_change_options,
)

try:
    import yaml  # noqa: F401 pylint: disable=unused-import
except ImportError:
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    YAML_IMPORT_ERROR = None

if YAML_IMPORT_ERROR is None:
    from ansible_collections.nexus_cos.launch.plugins.module_utils.pf_document import (
        PFEditError,
        update_settings,
    )


def _plain(value):
    # YAML dates and timestamps are not JSON; report them as written.
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return value.isoformat() if hasattr(value, 'isoformat') else str(value)


def run_module():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            settings=dict(type='dict', required=True),
            **FILE_CHANGE_ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    if YAML_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib(documents.YAML_LIBRARY), exception=YAML_IMPORT_ERROR)

    path = module.params['path']
    check_run(module, path)
    try:
        update = update_settings(
            path,
            module.params['settings'],
            **file_change_options(module)
        )
    except PFEditError as exc:
        module.fail_json(msg=str(exc), path=path)
    except OSError as exc:
        module.fail_json(msg='%s: cannot write PF file: %s' % (path, exc.strerror or exc), path=path)

    result = dict(
        changed=update.changed,
        path=path,
        changes=[dict(key=c.key, before=_plain(c.before), after=_plain(c.after)) for c in update.changes],
    )
    add_file_change(module, result, path, update)
    events = [('PF_SETTINGS_CHANGED', {'files': os.path.basename(path),
                                       'keys': ','.join('%s:%s' % (os.path.basename(path), c.key)
                                                        for c in update.changes)})]
    module.exit_json(**audit_change(module, result, path, events))


def main():
    run_module()


if __name__ == '__main__':
    main()
