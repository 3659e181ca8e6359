# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Controller side of the deployment lock: who takes it (the controller,
the ansible-playbook process, the operator), and whether a holder that ran
from this very controller is gone (its ansible-playbook process exited: a
run cut off by a lost connection never reaches its release). Used by the
action plugins of deploy_lock, kill_switch and launch_guard. The rest of the lock rule
(the platform script's bare-pid lock, leases, unrecognised files) is judged
on the host, by module_utils/deploy_lock.py."""

from __future__ import annotations

import getpass
import os
import socket

from ansible_collections.nexus_cos.launch.plugins.module_utils.deploy_lock import OWN, pid_alive


def fill(holder=None):
    """The holder record with controller, pid and user filled in."""
    holder = dict(holder or {})
    holder.setdefault("controller", socket.gethostname())
    # The worker running an action plugin is a child of ansible-playbook.
    holder.setdefault("pid", os.getppid())
    holder.setdefault("user", os.environ.get("NEXUS_OPERATOR") or getpass.getuser())
    return holder


def gone_here(holder):
    """Why a run of this controller holding the lock is gone, or None. Only
    this collection's runs name a controller; the platform script's lock is
    judged on the host."""
    if not holder or holder.get("kind", OWN) != OWN or holder.get("controller") != socket.gethostname():
        return None
    if not holder.get("run_id") or not holder.get("pid") or pid_alive(holder["pid"]):
        return None
    return "controller process %s on %s has exited" % (holder["pid"], holder["controller"])


def pull_switch(execute, args):
    """Module kill_switch run through ``execute(module_args)`` with the
    holder filled in; used by the actions kill_switch and launch_guard.
    When the switch may not break a live lock (break_lock=false) and the
    holder ran from this controller and is gone, it is taken over: a second
    round trip, only then."""
    args = dict(args)
    args["holder"] = fill(args.get("holder"))
    outcome = execute(args)
    previous = (outcome.get("previous_holder") or {}) if outcome.get("failed") else {}
    if previous and not outcome.get("lock") and gone_here(previous):
        args["recover_run"] = previous["run_id"]
        outcome = execute(args)
    return outcome
