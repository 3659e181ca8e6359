# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""What a rollback takes away from the activation ledger: the callback the
callers of restore.restore (module restore_snapshot, rollback_cli) give it,
so that the restore itself never imports the activation code.

Stdlib only: it runs on the managed host, from a module or from the
snapshot's lib/.
"""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.module_utils import flag_store
from ansible_collections.nexus_cos.launch.plugins.module_utils.activation import record as activation_record
from ansible_collections.nexus_cos.launch.plugins.module_utils.atomic_file import os_error_text


def undo_activations(state_file, by_run, log=None, clock=None):
    """The ``on_restored`` callback (restore.RestoreContext) that marks
    undone, in the activation state file ``state_file``, every recorded
    activation the restore took away (activation.record.undo_entries, its
    ACTIVATION_UNDONE records in ``log`` by run ``by_run``): sets the
    result's ``undone`` to [{key, run_id}]. A ledger that cannot be
    written is said in the result's ``undo_error``: the files stay
    restored, which is what matters more."""

    def on_restored(manifest, result):
        try:
            entries = activation_record.undo_entries(state_file, manifest, by_run, log, clock=clock)
        except (OSError, ValueError, flag_store.FlagError) as exc:
            text = os_error_text(exc) if isinstance(exc, OSError) else str(exc)
            result["undo_error"] = ("the files are restored, but the activations this takes away could not be "
                                    "marked undone in %s: %s" % (state_file, text))
            return
        result["undone"] = [{"key": e.get("key"), "run_id": e.get("run_id")} for e in entries]

    return on_restored
