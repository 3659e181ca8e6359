# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Loads, once in the controller's main process, the plugins every task of a
play loads again: the connection plugins of the play's hosts and this
collection's action plugins. Ansible forks a worker per task and host, and
the collection loader compiles a collection's plugin and module_utils from
source in every worker that imports them (it keeps no bytecode): about
0.25 s of CPU a task with community.docker.docker_api. Loaded before the
play's tasks, they are inherited by every worker instead."""

from __future__ import annotations

DOCUMENTATION = r'''
name: preload
type: aggregate
short_description: Load the play's connection plugins and this collection's action plugins once per run
version_added: "2.1.0"
description:
  - At the start of each play, loads in the controller's main process the connection plugin each of the play's
    hosts names in the inventory (C(ansible_connection)), the action plugins of C(nexus_cos.launch) and
    C(ansible.builtin)'s filters and tests, so the
    worker Ansible forks for each task and host inherits them instead of compiling them again.
  - Changes nothing a task does or shows; a plugin that cannot be loaded here is left to the task, which reports
    it as it would without this callback.
author: Nexus COS platform team (@nexus-cos)
requirements:
  - enabled in C(ansible.cfg) (C(callbacks_enabled = nexus_cos.launch.preload))
'''

import os

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import action_loader, connection_loader, filter_loader, test_loader

COLLECTION = "nexus_cos.launch"
# One name of each loads all of ansible.builtin's filters or tests, which
# every task's templating uses.
TEMPLATING = ((filter_loader, "ansible.builtin.default"), (test_loader, "ansible.builtin.match"))
ACTION_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "action")


def connection_names(hosts):
    """The connection plugin names the hosts' inventory variables set
    (their own, then their groups'); a templated value is left to the task."""
    names = set()
    for host in hosts:
        value = host.vars.get("ansible_connection")
        for group in host.get_groups():
            value = value or group.get_vars().get("ansible_connection")
        if isinstance(value, str) and "{" not in value:
            names.add(value)
    return names


def action_names(action_dir=ACTION_DIR):
    return sorted("%s.%s" % (COLLECTION, f[:-3]) for f in os.listdir(action_dir)
                  if f.endswith(".py") and not f.startswith("_"))


def preload(loader, names):
    """Loads each plugin class; returns the names loaded."""
    loaded = []
    for name in sorted(names):
        try:
            if loader.get(name, class_only=True) is not None:
                loaded.append(name)
        except Exception:  # pylint: disable=broad-except
            pass  # the task loads it again and reports the error itself
    return loaded


class CallbackModule(CallbackBase):

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "nexus_cos.launch.preload"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_play_start(self, play):
        inventory = play.get_variable_manager()._inventory  # pylint: disable=protected-access
        hosts = inventory.get_hosts(play.hosts)
        preload(connection_loader, connection_names(hosts))
        preload(action_loader, action_names())
        for loader, name in TEMPLATING:
            preload(loader, [name])
