"""A target for nexusctl end-to-end tests that needs no VPS: an inventory
whose nexus_vps is this machine over a local connection (no become; the
status module's paths under the test's directory), stand-in playbooks under
the real names, and ansible-runner's records in the test's directory."""

from __future__ import annotations

import json
import sys

from ansible_collections.nexus_cos.launch.nexusctl import playbook_run


def local_inventory(path, also=None, **hostvars):
    """Write, at ``path``, an inventory whose nexus_vps is this machine over a
    local connection (this Python, no become), with ``hostvars`` on it, as
    host testhost. ``also`` ({name: {var: value}}): more such hosts after it,
    a fleet, each with testhost's variables overridden by its own."""
    def host(values):
        out = dict(ansible_connection="local", ansible_python_interpreter=sys.executable, ansible_become=False)
        out.update((name, value if isinstance(value, (bool, int, float)) else str(value))
                   for name, value in values.items())
        return out
    hosts = {"testhost": host(hostvars)}
    for name, values in (also or {}).items():
        hosts[name] = host(dict(hostvars, **values))
    # JSON is YAML: ansible-playbook reads it as the inventory's YAML.
    path.write_text(json.dumps({"all": {"children": {"nexus_vps": {"hosts": hosts}}}}, indent=2))
    return path


# What roles/launch_context sets first in every run: nexusctl reads the run
# id from it.
RUN_CONTEXT = """    - name: Set the run id and UTC stamp
      ansible.builtin.set_fact:
        nexus_run_id: 20261128T103000Z-test01
        nexus_run_stamp: 20261128T103000Z
"""


def use(tmp_path, monkeypatch, playbooks):
    """Write the inventory and ``playbooks`` ({name: text}); point nexusctl
    at them. Returns {inventory, playbooks, runner} paths."""
    state, books, runner = tmp_path / "host", tmp_path / "playbooks", tmp_path / "artifacts" / "runner"
    state.mkdir()
    books.mkdir()
    for name, text in playbooks.items():
        (books / name).write_text(text)
    inventory = local_inventory(tmp_path / "hosts.yml", nexus_audit_dir=state / "audit",
                                nexus_flag_store=state / "feature-flags.json", nexus_pf_dir=state / "pfs",
                                nexus_lock_path=state / "deploy.lock")
    monkeypatch.setattr(playbook_run, "PLAYBOOK_DIR", str(books))
    monkeypatch.setattr(playbook_run, "RUNNER_DIR", str(runner))
    return {"inventory": str(inventory), "playbooks": books, "runner": runner}
