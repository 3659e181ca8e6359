"""The precheck roles and the plan: one task (action precheck_plan) plans
every registered check, each role's variables validated against its own
meta/argument_specs.yml; the registry and the roles name the same checks;
names an operator types are checked against the registry on the controller;
a check left out of the plan is reported as not run."""

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


def load(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle)


def options(name):
    return load("roles", "precheck_" + name, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


# ------------------------------------------------------------------ one check, one role, one import


def test_registry_and_roles_name_the_same_checks_in_order():
    roles = sorted(d[len("precheck_"):] for d in os.listdir(os.path.join(ROOT, "roles"))
                   if d.startswith("precheck_") and d != "precheck_report")
    assert roles == sorted(ORDER), "every registered check needs a role precheck_<name>, and no more"
    assert [REGISTRY[n].number for n in ORDER] == list(range(1, len(ORDER) + 1))


def test_phase4_plans_in_one_task_whatever_the_tags():
    play = load("playbooks", "phase4.yml")[0]
    (task,) = [t for t in play["tasks"][0]["block"] if "nexus_cos.launch.precheck_plan" in t]
    assert task["tags"] == ["always"]
    assert not any("precheck_" in str(t.get("ansible.builtin.import_role", {}).get("name", "")) and
                   "precheck_report" not in str(t["ansible.builtin.import_role"]["name"])
                   for t in play["tasks"][0]["block"]), "the plan is one task, not a role import per check"


@pytest.mark.parametrize("name", ORDER)
def test_role_defaults_and_spec_name_the_same_variables(name):
    """The role is the one description of its check's variables: what the
    plan passes is exactly what the spec declares, each with a default."""
    spec = options(name)
    defaults = load("roles", "precheck_" + name, "defaults", "main.yml")
    assert set(defaults) == set(spec), "roles/precheck_%s: defaults/main.yml and meta/argument_specs.yml" % name
    assert "precheck_%s_severity" % name in spec


# ------------------------------------------------------------------ the plan built by Ansible

PLAY = """- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.import_role:
        name: nexus_cos.launch.launch_context
    - name: The plan
      block:
        - nexus_cos.launch.precheck_plan:
          register: planned
      rescue:
        - ansible.builtin.set_fact:
            refusals: "{{ ansible_failed_result.argument_errors }}"
            refusal_msg: "{{ ansible_failed_result.msg }}"
      tags: [always]
    - name: The result
      ansible.builtin.debug:
        msg: {plan: "{{ ansible_facts.nexus_precheck_plan | default(None) }}", refusals: "{{ refusals | default([]) }}",
              msg: "{{ refusal_msg | default('') }}"}
      tags: [always]
"""


# The checkout first, then any path the run was given (make compat: the other
# collections of a venv with ansible-core alone).
COLLECTIONS_PATH = os.pathsep.join(filter(None, [os.path.join(ROOT, ".collections"), os.environ.get("ANSIBLE_COLLECTIONS_PATH")]))


def plan_run(tmp_path, *args):
    """Plans the registered checks on the controller; (plan, refusals, msg)."""
    book = tmp_path / "plan.yml"
    book.write_text(PLAY)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           str(book)] + list(args), capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    (shown,) = [t["hosts"]["localhost"]["msg"] for t in tasks if t["task"]["name"] == "The result"]
    return shown["plan"], shown["refusals"], shown["msg"]


def test_the_plan_converts_extra_vars_like_the_specs_and_follows_the_tags(tmp_path):
    plan, refusals, dummy = plan_run(tmp_path, "-e", "precheck_disk_min_free_gb=100", "-e", "precheck_api_retries=7",
                                     "-e", "precheck_services_nginx_config_test=no", "--skip-tags", "precheck_memory")
    assert refusals == []
    assert sorted(plan) == sorted(n for n in ORDER if n != "memory"), "the skipped tag left out"
    assert plan["disk"] == {"severity": "error", "params": {
        "min_free_gb": 100.0, "paths": ["/opt/nexus-cos", "/opt/nexus-cos/backups/phase4", "/var/log/nexus-cos/phase4-audit"]}}
    assert plan["api"]["severity"] == "warn"
    assert plan["api"]["params"]["retries"] == 7 and plan["api"]["params"]["latency_gate_ms"] == 200.0
    assert plan["services"]["params"]["nginx_config_test"] is False
    assert plan["system"]["params"]["supported_os"] == {"debian": "12", "ubuntu": "22.04"}


def test_only_the_checks_the_tags_select_are_planned(tmp_path):
    plan, dummy, dummy = plan_run(tmp_path, "--tags", "precheck_disk,precheck_api")
    assert sorted(plan) == ["api", "disk"]


def test_a_wrong_value_is_refused_naming_the_role_and_the_variable(tmp_path):
    dummy, refusals, msg = plan_run(tmp_path, "-e", "precheck_disk_min_free_gb=lots", "-e", "precheck_api_severity=fatal")
    assert msg.startswith("Validation of arguments failed:")
    assert len(refusals) == 2
    api, disk = sorted(refusals)
    assert disk.startswith("role nexus_cos.launch.precheck_disk (meta/argument_specs.yml): ")
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
    (msg,) = unknown_names({"plan": {"no_such_check": {"severity": "error", "params": {}}}})
    assert msg.startswith("the plan names no_such_check, which no check in plugins/module_utils/checks/ registers")
    (msg,) = unknown_names({"plan": None})
    assert "nexus_precheck_plan" in msg


def test_checks_left_out_of_the_plan_are_reported_as_not_run():
    results = not_planned({n: {} for n in ORDER if n not in ("memory", "api")})
    assert [(r["name"], r["status"]) for r in results] == [("memory", "SKIP"), ("api", "SKIP")]
    assert results[0]["msg"] == "not run: --tags/--skip-tags left precheck_memory out of the plan"
    assert "--tags precheck_memory" in results[0]["hint"]
    assert not_planned({n: {} for n in ORDER}) == []


def test_the_precheck_report_runs_whatever_the_tags_select():
    play = load("playbooks", "phase4.yml")[0]
    report = [t for t in play["tasks"][0]["block"] if t.get("name") == "Run the prechecks and report"][0]
    assert "always" in report["tags"]
    (task,) = load("roles", "precheck_report", "tasks", "main.yml")
    # From ansible_facts: a fact read as a top-level variable is deprecated from ansible-core 2.20.
    assert task["when"] == "ansible_facts.nexus_precheck_plan | default({}) | length > 0"
    assert re.match(r"\{\{ ansible_facts.nexus_precheck_plan \}\}$", task["nexus_cos.launch.precheck"]["plan"])
