# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""How a module that edits one platform file (feature_flag, pf_setting)
replaces it the Ansible way, whatever the file's content: the backup and
lock options, the SELinux context the replaced file had, and the
``backup_file`` / ``diff`` of the result.

Inside a launch run the same modules also keep the run's guarantees: with
``lock_path`` they write only while the run (``run_id``) holds the
deployment lock, and with ``audit_file`` the change is audited in the same
module execution that made it.

Takes the AnsibleModule as an argument and imports nothing from Ansible.
"""

from __future__ import annotations

import hashlib

from ansible_collections.nexus_cos.launch.plugins.module_utils import deploy_lock, run_audit

# Documented by the doc fragments nexus_cos.launch.file_change, nexus_cos.launch.host_paths
# and nexus_cos.launch.audit.
FILE_CHANGE_ARGUMENT_SPEC = dict(
    backup=dict(type='bool', default=False),
    lock_timeout=dict(type='float', default=30),
    **dict(run_audit.AUDIT_ARGUMENT_SPEC, **run_audit.HOST_PATHS_ARGUMENT_SPEC)
)


def _selinux_context_keeper(module):
    """Give the temp file the replaced file's SELinux context, as atomic_move would."""
    if not module.selinux_enabled():
        return None

    def prepare(tmp, dest):
        module.set_context_if_different(tmp, module.selinux_context(dest), False)

    return prepare


def file_change_options(module):
    """Keyword arguments for flag_store.update_flags and
    pf_document.update_settings: check mode, the backup hook, the SELinux
    hook and the lock timeout."""
    return dict(
        check_mode=module.check_mode,
        backup=module.backup_local if module.params['backup'] else None,
        prepare=_selinux_context_keeper(module),
        lock_timeout=module.params['lock_timeout'],
    )


def check_run(module, path):
    """Before a write: the audit options are sound and, with ``lock_path``,
    this run holds the deployment lock (a check run takes no lock, so it is
    not asked). Fails the module otherwise, writing nothing."""
    try:
        run_audit.open_audit(module.params)
        run_audit.extra_events(module.params)
        if module.params['lock_path'] and not module.check_mode:
            deploy_lock.assert_held(module.params['lock_path'], module.params['run_id'])
    except (ValueError, deploy_lock.LockError) as exc:
        module.fail_json(msg='%s: %s; nothing was written' % (path, exc), path=path)


def audit_change(module, result, path, events):
    """After a write: append ``events`` (and the play's audit_events) to the
    run's chain file; adds ``audit_head`` to ``result``. A change that cannot
    be audited fails the task, saying the file was changed."""
    if module.check_mode or not result.get('changed'):
        return result
    try:
        head = run_audit.write(run_audit.open_audit(module.params), events + run_audit.extra_events(module.params))
    except (ValueError, OSError) as exc:
        module.fail_json(msg='%s was changed, but its audit records could not be written: %s' % (path, exc),
                         **result)
    if head:
        result['audit_head'] = head
    return result


def content_diff(path, before, after):
    """A ``diff`` result entry comparing the whole text of ``path``."""
    return dict(
        before=before,
        after=after,
        before_header='%s (content)' % path,
        after_header='%s (content)' % path,
    )


def add_file_change(module, result, path, update):
    """Add ``backup_file``, ``sha256_after`` (the hash the file has, or in
    check mode would have, after the change: what a launch run predicts into
    its snapshot) and, in diff mode, ``diff`` for ``update`` (a FlagUpdate or
    PFUpdate) to ``result``; returns ``result``."""
    if update.backup_file:
        result['backup_file'] = update.backup_file
    text = update.after_text
    result['sha256_after'] = hashlib.sha256(text.encode('utf-8') if isinstance(text, str) else text).hexdigest()
    if module._diff:
        result['diff'] = content_diff(path, update.before_text, update.after_text)
    return result
