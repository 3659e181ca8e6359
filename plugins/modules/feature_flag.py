#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: feature_flag
short_description: Enable or disable Nexus COS feature flags in the gateway's flag store
version_added: "1.0.0"
description:
  - Changes the C(enabled) value of one or more flags in the Nexus COS flag store
    (C(feature-flags.json)) with the semantics the gateway applies.
  - A flag is effectively on only when it and every flag in its C(requires) list, recursively,
    are enabled. Enabling a flag whose requirements are off is refused unless O(dependencies=enable),
    which enables them first. Unknown flag names are refused.
  - Disabling a flag that enabled flags depend on is refused unless O(cascade=true), which
    disables those dependants too.
  - Only the changed C(enabled) values and C(updated) are rewritten; the rest of the file is kept
    byte for byte. C(updated) is set only when something changed.
  - The file is changed under an exclusive lock on the sidecar C(<path>.lock) and replaced
    atomically (temporary file in the same directory, fsync, rename), keeping its mode and owner.
    A request whose state already holds leaves the file untouched.
  - The gateway does not see the change until it reloads the file
    (C(POST /api/feature-flags/reload)); that and the health verification are separate tasks.
  - O(flags) turns some flags on and others off in one write (an activation's flags, all at once).
  - In a launch run, with O(lock_path) the module writes only while the run holds the deployment
    lock, and with O(audit_file) the change is audited as C(FLAGS_CHANGED) in the same execution.
author:
  - Nexus COS platform team (@nexus-cos)
options:
  flag_store:
    description:
      - Path of the flag store on the managed host (the plays pass C(nexus_flag_store)).
      - The alias O(path) is deprecated and will be removed in 3.0.0; every module calls this option O(flag_store).
    type: path
    required: true
    aliases: [path]
  name:
    description:
      - Flag name, or list of flag names, for example C(MARKETPLACE_PHASE3_ENABLED), all set to O(state).
      - One of O(name) and O(flags) is required.
    type: list
    elements: str
    aliases: [names]
  flags:
    description:
      - "Flags and the C(enabled) value each must have, C({NAME: true|false}), written in one change:
        in the order given. O(state) does not apply."
      - O(dependencies) applies to the flags turned on, O(cascade) to those turned off.
    type: dict
  state:
    description:
      - V(enabled) turns the flags on, V(disabled) turns them off.
    type: str
    choices: [enabled, disabled]
    default: enabled
  dependencies:
    description:
      - What to do when O(state=enabled) and a flag requires flags that are off.
      - V(refuse) fails and names the missing flags; V(enable) enables them first.
    type: str
    choices: [refuse, enable]
    default: refuse
  cascade:
    description:
      - When O(state=disabled), also disable enabled flags that depend on the named flags,
        directly or through other flags. Without it such a disable fails and names the dependants.
    type: bool
    default: false
  now:
    description:
      - Timestamp to write to C(updated) when something changes, as ISO 8601
        (for example C(2025-01-15T10:30:00Z)); a time without zone is taken as UTC.
      - Defaults to the current time on the managed host. Lets tests and replays use an injected clock.
    type: str
extends_documentation_fragment:
  - nexus_cos.launch.attributes
  - nexus_cos.launch.file_change
  - nexus_cos.launch.host_paths.audit_paths
  - nexus_cos.launch.host_paths
  - nexus_cos.launch.audit
notes:
  - Check mode reports the changes and, with C(--diff), the new file text, without touching the file.
  - The access mode follows the flags PUBLIC_FULL_LAUNCH_MODE, PUBLIC_SOFT_LAUNCH_MODE and FOUNDER_BETA_MODE,
    in that order; the module does not edit the C(access_modes) section.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
seealso:
  - module: nexus_cos.launch.pf_setting
"""

EXAMPLES = r"""
- name: Enable marketplace Phase 3 trading, enabling Phase 2 first if needed
  nexus_cos.launch.feature_flag:
    flag_store: /opt/nexus-cos/config/feature-flags.json
    name: MARKETPLACE_PHASE3_ENABLED
    dependencies: enable

- name: Leave founder beta for the full public launch
  nexus_cos.launch.feature_flag:
    flag_store: /opt/nexus-cos/config/feature-flags.json
    name:
      - PUBLIC_FULL_LAUNCH_MODE
      - JURISDICTION_ENGINE_ENABLED
    state: enabled
    backup: true
  register: launch_flags

- name: Turn the marketplace off, with everything that depends on it
  nexus_cos.launch.feature_flag:
    flag_store: /opt/nexus-cos/config/feature-flags.json
    name: MARKETPLACE_PHASE2_ENABLED
    state: disabled
    cascade: true

- name: The launch's flags in one write, under the run's lock, audited
  nexus_cos.launch.feature_flag:
    flag_store: "{{ nexus_flag_store }}"
    flags: {PUBLIC_FULL_LAUNCH_MODE: true, JURISDICTION_ENGINE_ENABLED: true, FOUNDER_BETA_MODE: false}
    dependencies: enable
    now: "{{ nexus_activation.entry.applied_at_utc }}"
    lock_path: "{{ nexus_lock_path }}"
    audit_dir: "{{ nexus_audit_dir }}"
    audit_file: "{{ deploy_lock_audit_file }}"
    run_id: "{{ nexus_run_id }}"

- name: Preview a change against a copy of the store, with a fixed clock
  nexus_cos.launch.feature_flag:
    flag_store: /tmp/feature-flags.json
    name: PUBLIC_SOFT_LAUNCH_MODE
    now: "2025-01-15T10:30:00Z"
  check_mode: true
  diff: true
"""

RETURN = r"""
changed:
  description: Whether the flag store was (or in check mode would be) changed.
  returned: always
  type: bool
changes:
  description: Each flag whose C(enabled) value changes, in the order it makes sense to apply them.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Flag name.
      type: str
    before:
      description: C(enabled) before the change.
      type: bool
    after:
      description: C(enabled) after the change.
      type: bool
  sample:
    - {name: MARKETPLACE_PHASE2_ENABLED, before: false, after: true}
    - {name: MARKETPLACE_PHASE3_ENABLED, before: false, after: true}
access_mode_before:
  description: Access mode before the change (V(public_full), V(public_soft), V(founder_beta) or V(none)).
  returned: always
  type: str
  sample: founder_beta
access_mode_after:
  description: Access mode after the change.
  returned: always
  type: str
  sample: public_full
effective:
  description: Effective state after the change of the named flags and of every flag that changed.
  returned: always
  type: dict
  sample: {MARKETPLACE_PHASE2_ENABLED: true, MARKETPLACE_PHASE3_ENABLED: true}
updated:
  description: Value of C(updated) in the store after the change.
  returned: always
  type: str
  sample: "2025-01-15T10:30:00Z"
path:
  description: The flag store that was read.
  returned: always
  type: str
  sample: /opt/nexus-cos/config/feature-flags.json
sha256_after:
  description: sha256 of the flag store after the change (in check mode, as it would be).
  returned: always
  type: str
audit_head:
  description: The audit chain head after the C(FLAGS_CHANGED) record.
  returned: when O(audit_file) is given and the store changed
  type: dict
backup_file:
  description: Name of the backup copy.
  returned: when O(backup=true) and the file changed
  type: str
  sample: /opt/nexus-cos/config/feature-flags.json.2301.2025-01-15@10:30:00~
details:
  description:
    - On failure, the names involved, under C(unknown), C(missing) (flag to missing requirements),
      C(dependants) (flag to enabled dependants), C(conflicting), C(cycle) or C(duplicate).
  returned: failure
  type: dict
  sample: {missing: {MARKETPLACE_PHASE3_ENABLED: [MARKETPLACE_PHASE2_ENABLED]}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils.file_change import (
    FILE_CHANGE_ARGUMENT_SPEC,
    add_file_change,
    audit_change,
    check_run,
    file_change_options,
)
from ansible_collections.nexus_cos.launch.plugins.module_utils.flag_store import (
    FlagError,
    FlagRequest,
    update_flags,
)


def _requested(module):
    """(enable, disable) names from O(name)/O(state) or O(flags)."""
    params = module.params
    if params['flags'] is not None:
        if not params['flags']:
            module.fail_json(msg='flags: give at least one {NAME: true|false}', path=params['flag_store'])
        bad = sorted(k for k, v in params['flags'].items() if not isinstance(v, bool))
        if bad:
            module.fail_json(msg='flags: %s must be true or false' % ', '.join(bad), path=params['flag_store'])
        enable = [k for k, v in params['flags'].items() if v]
        disable = [k for k, v in params['flags'].items() if not v]
        return enable, disable
    names = [n.strip() for n in params['name'] if n and n.strip()]
    if not names:
        module.fail_json(msg='name: give at least one flag name', path=params['flag_store'])
    return (names, []) if params['state'] == 'enabled' else ([], names)


def run_module():
    module = AnsibleModule(
        argument_spec=dict(
            flag_store=dict(type='path', required=True, aliases=['path'],
                            deprecated_aliases=[dict(name='path', version='3.0.0', collection_name='nexus_cos.launch')]),
            name=dict(type='list', elements='str', aliases=['names']),
            flags=dict(type='dict'),
            state=dict(type='str', choices=['enabled', 'disabled'], default='enabled'),
            dependencies=dict(type='str', choices=['refuse', 'enable'], default='refuse'),
            cascade=dict(type='bool', default=False),
            now=dict(type='str'),
            **FILE_CHANGE_ARGUMENT_SPEC
        ),
        required_one_of=[('name', 'flags')],
        mutually_exclusive=[('name', 'flags')],
        supports_check_mode=True,
    )
    params = module.params
    path = params['flag_store']
    enable, disable = _requested(module)
    check_run(module, path)
    try:
        update = update_flags(
            path,
            FlagRequest(enable, disable, with_dependencies=params['dependencies'] == 'enable', cascade=params['cascade']),
            now=params['now'],
            **file_change_options(module)
        )
    except FlagError as exc:
        module.fail_json(msg=str(exc), details=exc.details, path=path)
    except OSError as exc:
        module.fail_json(msg='%s: cannot write flag store: %s' % (path, exc.strerror or exc), path=path)

    named = enable + disable
    touched = list(named) + [c.name for c in update.plan if c.name not in named]
    result = dict(
        changed=update.changed,
        path=path,
        changes=update.plan.as_dicts(),
        access_mode_before=update.before.access_mode(),
        access_mode_after=update.after.access_mode(),
        effective=dict((name, update.after.effective(name)) for name in touched),
        updated=update.after.data.get('updated'),
    )
    add_file_change(module, result, path, update)
    events = [('FLAGS_CHANGED', {
        'flags': ','.join('%s=%s' % (c.name, 'on' if c.after else 'off') for c in update.plan),
        'access_mode': result['access_mode_after']})]
    module.exit_json(**audit_change(module, result, path, events))


def main():
    run_module()


if __name__ == '__main__':
    main()
