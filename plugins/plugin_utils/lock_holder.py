# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Controller side of the deployment lock: who takes it (the controller,
the ansible-playbook process, the operator), and whether a holder that ran
from this very controller is gone (its ansible-playbook process exited: a
run cut off by a lost connection never reaches its release). Used by the
action plugins of deploy_lock and kill_switch."""

from __future__ import annotations

import getpass
import os
import socket


def fill(holder=None):
    """The holder record with controller, pid and user filled in."""
    holder = dict(holder or {})
    holder.setdefault("controller", socket.gethostname())
    # The worker running an action plugin is a child of ansible-playbook.
    holder.setdefault("pid", os.getppid())
    holder.setdefault("user", os.environ.get("NEXUS_OPERATOR") or getpass.getuser())
    return holder


def gone_here(holder):
    """Why ``holder`` is known to be gone, or None: it ran from this
    controller and its process no longer exists."""
    if not holder or holder.get("controller") != socket.gethostname() or not holder.get("run_id"):
        return None
    try:
        os.kill(int(holder.get("pid")), 0)
    except ProcessLookupError:
        return "controller process %s on %s has exited" % (holder["pid"], holder["controller"])
    except (PermissionError, TypeError, ValueError):
        return None
    return None
