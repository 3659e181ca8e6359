"""callback preload: which plugins it loads in the controller's main process
before the workers fork, and that a plugin it cannot load is left to the
task."""

from __future__ import annotations

import os

from ansible.inventory.group import Group
from ansible.inventory.host import Host

from ansible_collections.nexus_cos.launch.plugins.callback import preload


def host(name, connection=None, group_connection=None):
    h = Host(name)
    if connection:
        h.set_variable("ansible_connection", connection)
    g = Group("g_" + name)
    if group_connection:
        g.set_variable("ansible_connection", group_connection)
    h.add_group(g)
    return h


def test_the_hosts_connections_their_own_before_their_groups():
    hosts = [host("a", "community.docker.docker_api"), host("b", None, "ssh"), host("c", "local", "ssh"),
             host("d"), host("e", "{{ my_connection }}")]
    assert preload.connection_names(hosts) == {"community.docker.docker_api", "ssh", "local"}


def test_every_action_plugin_of_the_collection():
    names = preload.action_names()
    files = [f for f in os.listdir(preload.ACTION_DIR) if f.endswith(".py") and not f.startswith("_")]
    assert len(names) == len(files) and "nexus_cos.launch.precheck_plan" in names


class Loader(object):
    def __init__(self):
        self.asked = []

    def get(self, name, class_only=False):
        self.asked.append((name, class_only))
        if name == "broken":
            raise ImportError("no module named docker")
        return None if name == "absent" else object


def test_a_plugin_that_cannot_load_is_left_to_the_task():
    loader = Loader()
    assert preload.preload(loader, ["ssh", "broken", "absent"]) == ["ssh"]
    assert loader.asked == [("absent", True), ("broken", True), ("ssh", True)]


def test_ansible_cfg_enables_it():
    import configparser
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(os.path.dirname(preload.ACTION_DIR), "..", "ansible.cfg"))
    assert "nexus_cos.launch.preload" in [n.strip() for n in cfg["defaults"]["callbacks_enabled"].split(",")]
