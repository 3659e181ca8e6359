# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""How a module that edits one platform file (feature_flag, pf_setting)
replaces it the Ansible way, whatever the file's content: the backup and
lock options, the SELinux context the replaced file had, and the
``backup_file`` / ``diff`` of the result.

Takes the AnsibleModule as an argument and imports nothing from Ansible.
"""

from __future__ import annotations

# Documented by the doc fragment nexus_cos.launch.file_change.
FILE_CHANGE_ARGUMENT_SPEC = dict(
    backup=dict(type='bool', default=False),
    lock_timeout=dict(type='float', default=30),
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


def content_diff(path, before, after):
    """A ``diff`` result entry comparing the whole text of ``path``."""
    return dict(
        before=before,
        after=after,
        before_header='%s (content)' % path,
        after_header='%s (content)' % path,
    )


def add_file_change(module, result, path, update):
    """Add ``backup_file`` and (in diff mode) ``diff`` for ``update`` (a
    FlagUpdate or PFUpdate) to ``result``; returns ``result``."""
    if update.backup_file:
        result['backup_file'] = update.backup_file
    if module._diff:
        result['diff'] = content_diff(path, update.before_text, update.after_text)
    return result
