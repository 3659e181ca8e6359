# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""A host for the activation's modules and its gate: a copy of the valid
config fixture (flag store and PF files) and an audit directory in a tmp
dir, and the activation's host modules run in-process on it."""

from __future__ import annotations

import os
import shutil

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log
from ansible_collections.nexus_cos.launch.plugins.modules import activation_info
from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import run_module
from ansible_collections.nexus_cos.launch.tests.unit.utils.repo_paths import CONFIG_FIXTURES

FIXTURE = os.path.join(CONFIG_FIXTURES, "valid")
RUN = "20261128T103000Z-abc123"
AUDIT_FILE = "activation-20261128T103000Z.log"


def new_host(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    audit = tmp_path / "audit"
    return {"repo": repo, "audit": audit, "flag_store": str(repo / "config" / "feature-flags.json"),
            "pf_dir": str(repo / "pfs"), "audit_dir": str(audit), "backup": tmp_path / "backups"}


def run(args, check=False, module=activation_info, diff=False):
    if check:
        args = dict(args, _ansible_check_mode=True)
    if diff:
        args = dict(args, _ansible_diff=True)
    return run_module(module.main, args).result


def base(host, **extra):
    args = {"audit_dir": host["audit_dir"], "flag_store": host["flag_store"], "pf_dir": host["pf_dir"]}
    args.update(extra)
    return args


def write_prepare_run(host, status="success", precheck="pass"):
    log = audit_log.AuditLog(host["audit_dir"], "20261128T090000Z-prep01", "deployment-20261128T090000Z.log")
    log.records([("DEPLOYMENT_START", {"playbook": "phase4"}), ("PRECHECK_COMPLETE", {"status": precheck}),
                 ("DEPLOYMENT_COMPLETE", {"status": status})])
