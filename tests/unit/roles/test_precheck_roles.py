"""The precheck roles: each is validated by Ansible from its own
meta/argument_specs.yml and adds its check to nexus_precheck_plan; the
registry, the roles and phase4.yml name the same twelve checks; names an
operator types are checked against the registry on the controller; a check
left out of the plan is reported as not run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from ansible_collections.nexus_cos.launch.plugins.action.precheck import unknown_names
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks.framework import REGISTRY, not_planned
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import ROOT

ORDER = sorted(REGISTRY, key=lambda n: REGISTRY[n].number)
# What the role task's filter must be for each argument spec type: the type
# Ansible's validation accepts (a string from -e) is converted to the spec's.
FILTERS = {"float": "float", "int": "int", "bool": "bool", "str": "string", "path": "string", "list": None,
           "dict": None}


def load(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle)


def options(name):
    return load("roles", "precheck_" + name, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


# ------------------------------------------------------------------ one check, one role, one import


def test_registry_roles_and_phase4_name_the_same_checks_in_order():
    roles = sorted(d[len("precheck_"):] for d in os.listdir(os.path.join(ROOT, "roles"))
                   if d.startswith("precheck_") and d != "precheck_report")
    assert roles == sorted(ORDER), "every registered check needs a role precheck_<name>, and no more"
    assert [REGISTRY[n].number for n in ORDER] == list(range(1, len(ORDER) + 1))
    play = load("playbooks", "phase4.yml")[0]
    planned = [t for t in play["tasks"][0]["block"] if t.get("name") == "Plan the twelve prechecks"][0]
    imports = [t["ansible.builtin.import_role"]["name"] for t in planned["block"]]
    assert imports == ["nexus_cos.launch.precheck_" + n for n in ORDER]
    assert [t["tags"] for t in planned["block"]] == [["precheck", "precheck_" + n] for n in ORDER]
    assert all("rolespec_validate" not in t["ansible.builtin.import_role"] for t in planned["block"]), \
        "Ansible validates each precheck role against its own argument spec"


@pytest.mark.parametrize("name", ORDER)
def test_role_task_plans_every_variable_of_its_spec_with_its_type(name):
    (task,) = load("roles", "precheck_" + name, "tasks", "main.yml")
    assert task["ansible.builtin.set_fact"]["nexus_precheck_plan"] == (
        "{{ nexus_precheck_plan | default({}) | combine({'%s': _entry}) }}" % name)
    entry = task["vars"]["_entry"]
    prefix = "precheck_%s_" % name
    assert entry["severity"] == "{{ %sseverity }}" % prefix
    spec = {var[len(prefix):]: opt for var, opt in options(name).items() if var != prefix + "severity"}
    assert set(entry["params"]) == set(spec)
    for param, opt in spec.items():
        flt = FILTERS[opt["type"]]
        expected = "{{ %s%s%s }}" % (prefix, param, " | " + flt if flt else "")
        assert entry["params"][param] == expected, "%s.%s" % (name, param)


# ------------------------------------------------------------------ the roles run by Ansible

PLAY = """- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.import_role:
        name: nexus_cos.launch.launch_context
{roles}
    - name: The plan
      ansible.builtin.debug:
        var: nexus_precheck_plan
"""
# Each role in a block whose rescue keeps the failure, so one run shows every refusal.
ROLE = """    - block:
        - ansible.builtin.import_role:
            name: nexus_cos.launch.precheck_{name}
      rescue:
        - ansible.builtin.set_fact:
            refusals: "{{{{ refusals | default([]) + [ansible_failed_result.msg] }}}}"
      tags: [precheck_{name}]
"""


def plan_run(tmp_path, *args):
    """Runs the twelve roles on the controller; (plan, refusals)."""
    book = tmp_path / "plan.yml"
    book.write_text(PLAY.format(roles="".join(ROLE.format(name=n) for n in ORDER)) + """
    - name: The refusals
      ansible.builtin.debug:
        msg: "{{ refusals | default([]) }}"
""")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           str(book)] + list(args), capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    shown = {t["task"]["name"]: t["hosts"]["localhost"] for t in tasks if t["task"]["name"].startswith("The ")}
    return shown["The plan"].get("nexus_precheck_plan"), shown["The refusals"]["msg"]


def test_the_roles_build_the_plan_converting_extra_vars_like_their_specs(tmp_path):
    plan, refusals = plan_run(tmp_path, "-e", "precheck_disk_min_free_gb=100", "-e", "precheck_api_retries=7",
                              "-e", "precheck_services_nginx_config_test=no", "--skip-tags", "precheck_memory")
    assert refusals == []
    assert sorted(plan) == sorted(n for n in ORDER if n != "memory")
    assert plan["disk"] == {"severity": "error", "params": {
        "min_free_gb": 100.0, "paths": ["/opt/nexus-cos", "/opt/nexus-cos/backups/phase4", "/var/log/nexus-cos/phase4-audit"]}}
    assert plan["api"]["severity"] == "warn"
    assert plan["api"]["params"]["retries"] == 7 and plan["api"]["params"]["latency_gate_ms"] == 200.0
    assert plan["services"]["params"]["nginx_config_test"] is False
    assert plan["system"]["params"]["supported_os"] == {"debian": "12", "ubuntu": "22.04"}


def test_ansible_refuses_a_wrong_value_naming_the_variable(tmp_path):
    dummy, refusals = plan_run(tmp_path, "-e", "precheck_disk_min_free_gb=lots", "-e", "precheck_api_severity=fatal")
    assert len(refusals) == 2
    disk, api = refusals
    assert disk.startswith("Validation of arguments failed:")
    assert "precheck_disk_min_free_gb" in disk and "float" in disk
    assert "precheck_api_severity" in api and "error, warn" in api and "fatal" in api


# ------------------------------------------------------------------ names checked on the controller


def test_a_typo_in_a_check_name_is_refused_naming_the_variable():
    plan = {"disk": {"severity": "error", "params": {}}}
    assert unknown_names({"plan": plan, "skip": ["memory"], "warn_only": []}) == []
    (skip, warn) = unknown_names({"plan": plan, "skip": ["dsik"], "warn_only": ["apl", "api"]})
    assert skip.startswith("precheck_skip names dsik, which is not a precheck; expected names from: system, services")
    assert warn.startswith("precheck_warn_only names apl, which is not a precheck")


def test_a_plan_naming_an_unregistered_check_is_refused():
    (msg,) = unknown_names({"plan": {"dns": {"severity": "error", "params": {}}}})
    assert msg.startswith("the plan names dns, which no check in plugins/module_utils/checks/ registers")
    (msg,) = unknown_names({"plan": None})
    assert "nexus_precheck_plan" in msg


def test_checks_left_out_of_the_plan_are_reported_as_not_run():
    results = not_planned({n: {} for n in ORDER if n not in ("memory", "api")})
    assert [(r["name"], r["status"]) for r in results] == [("memory", "SKIP"), ("api", "SKIP")]
    assert results[0]["msg"] == "not run: role nexus_cos.launch.precheck_memory did not plan it (tags)"
    assert "--tags precheck_memory" in results[0]["hint"]
    assert not_planned({n: {} for n in ORDER}) == []


def test_the_precheck_report_runs_whatever_the_tags_select():
    play = load("playbooks", "phase4.yml")[0]
    report = [t for t in play["tasks"][0]["block"] if t.get("name") == "Run the prechecks and report"][0]
    assert "always" in report["tags"]
    (task,) = load("roles", "precheck_report", "tasks", "main.yml")
    assert task["when"] == "nexus_precheck_plan is defined"
    assert re.match(r"\{\{ nexus_precheck_plan \}\}$", task["nexus_cos.launch.precheck"]["plan"])
