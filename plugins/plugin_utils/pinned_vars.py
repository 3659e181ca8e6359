# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""What one operator cannot change from the command line (DESIGN 7a, "One
operator on the controller"): the approver registry, the environment that
allows the test clock, where the audit trail and the controller's exported
chain heads live, and how long an approval stays valid. They live in the
inventory (group_vars or host_vars, a reviewed change); given as extra vars
(-e key=value, -e @file, ansible-runner's extravars, an AWX job's extra vars
or survey) they are refused before anything is written.

And a secret never travels as an extra var: every run's records (the
command line, ansible-runner's cmdline and command artifacts, AWX's job)
keep extra vars. An approval carrying a secret there is refused, and the
secret is never shown.

The one list of pinned names is PINNED; the action every play runs first
(nexus_cos.launch.pinned_vars, in role launch_context) and the actions that
write (deploy_lock, activation_gate, kill_switch, launch_guard,
controller_report) call refuse_extra_vars, and nexusctl calls refusals on
its own -e before it starts a run."""

from __future__ import annotations

from ansible_collections.nexus_cos.launch.plugins.plugin_utils.approvals import secret_env_name

# name -> what it decides, as the refusal says it.
PINNED = {
    "nexus_launch_approvers": "the approver registry of the two-person rule",
    "nexus_environment": "the environment, which decides whether the test clock nexus_clock_now is allowed",
    "nexus_audit_dir": "where the audit trail lives on the host",
    "precheck_repository_audit_dir": "where the prechecks read the recorded activations (the audit trail)",
    "precheck_security_audit_dir": "which audit trail the security precheck inspects",
    "nexus_artifacts_dir": "where the controller keeps the exported audit chain heads",
    "activation_gate_approval_max_age_minutes": "how long an approval stays valid",
}

# The results the plays register: extra vars outrank registered variables, so
# -e nexus_activation='{"refused": false}' would stand in for the gate's own
# answer (or the prechecks', the lock's). A test keeps this equal to the
# register: names of roles/ and playbooks/.
REGISTERED = frozenset((
    "nexus_activation", "nexus_activation_flags", "nexus_activation_pf", "nexus_activation_rollback",
    "nexus_activation_rollback_audit", "nexus_activation_verified", "nexus_alert", "nexus_audit", "nexus_emergency",
    "nexus_emergency_fleet_audit", "nexus_flags_predicted", "nexus_guard", "nexus_lock", "nexus_pf_predicted",
    "nexus_postdeploy", "nexus_precheck", "nexus_release", "nexus_reread", "nexus_rollback", "nexus_snapshot",
    "nexus_status_gateway", "nexus_status_host", "nexus_unlock"))

WHERE = ("set it in the inventory (group_vars or host_vars), a reviewed change, and run without the -e")

SECRET_WAYS = ("give it as %s in the environment, in the approvals file nexusctl launch --approver %s writes "
               "from its prompt, or as a vault-encrypted value in the inventory")


def refusals(extra_vars):
    """[str]: one line per pinned variable or secret found in ``extra_vars``
    (the run's extra vars, as ansible's load_extra_vars reads them), sorted
    by name; empty when there is none. No line holds a value."""
    if not isinstance(extra_vars, dict):
        return []
    lines = ["%s was given with -e (extra vars), but it is pinned (%s): one operator cannot change it from "
             "the command line; %s" % (name, PINNED[name], WHERE)
             for name in sorted(PINNED) if name in extra_vars]
    lines += ["%s was given with -e (extra vars), but it is the result a step of the play registers (extra vars "
              "outrank it, so it would stand in for what the step found): run without the -e" % name
              for name in sorted(REGISTERED) if name in extra_vars]
    approvals = extra_vars.get("nexus_launch_approvals")
    for index, item in enumerate(approvals if isinstance(approvals, list) else []):
        if isinstance(item, dict) and "secret" in item:
            name = item.get("name") if isinstance(item.get("name"), str) and item["name"].strip() else "NAME"
            name = name.strip()
            lines.append("nexus_launch_approvals[%d] (approver %s) carries a secret given with -e (extra vars), "
                         "which every record of the run keeps; refused, and not shown: %s"
                         % (index, name, SECRET_WAYS % (secret_env_name(name), name)))
    return lines


def message(lines):
    """The refusal as one message, or '' for none."""
    if not lines:
        return ""
    return "Stop: " + "; ".join(lines)


def run_extra_vars(loader):
    """The run's extra vars, read the way Ansible reads them (-e key=value,
    -e @file, a vault-encrypted file with the run's vault secrets)."""
    from ansible.utils.vars import load_extra_vars
    return load_extra_vars(loader)


def refuse_extra_vars(action):
    """Raise AnsibleActionFail with the refusal when the run of ``action``
    (an ActionBase) was given a pinned variable or a secret as an extra var."""
    from ansible.errors import AnsibleActionFail
    text = message(refusals(run_extra_vars(action._loader)))
    if text:
        raise AnsibleActionFail(text)
