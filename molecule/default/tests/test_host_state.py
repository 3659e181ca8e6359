# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The host after the two prepare runs of molecule/default, read with
testinfra (verify.yml runs this file against the scenario's sandbox): file
modes and owners, units, the flag store's content, the lock's absence. The
audit records' content and chain stay Ansible asserts in verify.yml."""

from __future__ import annotations

import fnmatch
import json
import os

from ansible_collections.nexus_cos.launch.nexusctl import host_paths

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
AUDIT_DIR = host_paths.host_default("nexus_audit_dir")
FLAG_STORE = host_paths.host_default("nexus_flag_store")
LOCK_PATH = host_paths.host_default("nexus_lock_path")
SAMPLE_FLAG_STORE = os.path.join(ROOT, "sandbox", "sample", "config", "feature-flags.json")


def test_the_audit_directory_is_closed_to_others(host):
    audit_dir = host.file(AUDIT_DIR)
    assert audit_dir.is_directory
    assert (oct(audit_dir.mode), audit_dir.user) == ("0o750", "root")


def test_each_run_left_one_deployment_log_closed_to_others(host):
    logs = sorted(n for n in host.file(AUDIT_DIR).listdir() if fnmatch.fnmatch(n, "deployment-*.log"))
    assert len(logs) == 2, logs
    seen = dict((name, (oct(host.file(os.path.join(AUDIT_DIR, name)).mode),
                        host.file(os.path.join(AUDIT_DIR, name)).user)) for name in logs)
    assert seen == dict((name, ("0o640", "root")) for name in logs)


def test_no_lock_is_left_behind(host):
    assert not host.file(LOCK_PATH).exists, "the deployment lock %s is still there after the runs" % LOCK_PATH


def test_a_prepare_run_leaves_the_flag_store_as_it_was(host):
    store = host.file(FLAG_STORE)
    assert (oct(store.mode), store.user) == ("0o644", "root")
    with open(SAMPLE_FLAG_STORE, encoding="utf-8") as sample:
        assert json.loads(store.content_string) == json.load(sample)


def test_the_platform_units_still_run(host):
    for unit in ("nginx", "nexus-cos-gateway", "docker"):
        service = host.service(unit)
        assert (unit, service.is_running, service.is_enabled) == (unit, True, True)
