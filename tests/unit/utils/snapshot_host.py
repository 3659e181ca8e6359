# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""A platform checkout in a tmp dir for snapshot and rollback tests: the
flag store and two PF files, a snapshot of them and the restore command."""

from __future__ import annotations

import json
import os

from ansible_collections.nexus_cos.launch.plugins.module_utils import rollback_cli, snapshot


STAMP = "20260115T103045Z"


RUN_ID = STAMP + "-1a2b3c"


FLAGS = {
    "version": "1.0.0",
    "updated": "2026-01-01T00:00:00Z",
    "feature_flags": {
        "FOUNDER_BETA_MODE": {"enabled": True, "requires": []},
        "PUBLIC_SOFT_LAUNCH_MODE": {"enabled": False, "requires": []},
        "PUBLIC_FULL_LAUNCH_MODE": {"enabled": False, "requires": []},
        "MARKETPLACE_PHASE2_ENABLED": {"enabled": False, "requires": []},
        "MARKETPLACE_PHASE3_ENABLED": {"enabled": False, "requires": ["MARKETPLACE_PHASE2_ENABLED"]},
    },
}


def flags_text(**enabled):
    data = json.loads(json.dumps(FLAGS))
    for name, value in enabled.items():
        data["feature_flags"][name]["enabled"] = value
    return json.dumps(data, indent=2) + "\n"


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def write(path, text, mode=None):
    with open(path, "w") as handle:
        handle.write(text)
    if mode is not None:
        os.chmod(path, mode)


class Host(object):
    """A platform checkout in a tmp dir: flag store and two PF files."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        (tmp_path / "repo" / "config").mkdir(parents=True)
        (tmp_path / "repo" / "pfs").mkdir()
        self.flag_store = str(tmp_path / "repo" / "config" / "feature-flags.json")
        self.pf = str(tmp_path / "repo" / "pfs" / "global-launch.yaml")
        self.pf2 = str(tmp_path / "repo" / "pfs" / "marketplace-phase3.yaml")
        write(self.flag_store, flags_text(), 0o644)
        write(self.pf, "# global launch\nlaunch:\n  mode: founder_beta  # kept comment\n", 0o600)
        write(self.pf2, "marketplace:\n  enabled: false\n", 0o640)
        self.files = [self.flag_store, self.pf, self.pf2]
        self.backup_dir = str(tmp_path / "backups")
        self.audit_dir = str(tmp_path / "audit")
        self.snapshot_dir = os.path.join(self.backup_dir, STAMP)

    def take(self, **kwargs):
        return snapshot.take(self.files, self.backup_dir, RUN_ID, STAMP, **kwargs)

    def state(self):
        return {path: (read(path) if os.path.exists(path) else None) for path in self.files}

    def activate(self):
        """What an activation run does: flags on, a PF edit; then records after."""
        write(self.flag_store, flags_text(PUBLIC_FULL_LAUNCH_MODE=True, MARKETPLACE_PHASE2_ENABLED=True,
                                          MARKETPLACE_PHASE3_ENABLED=True))
        write(self.pf, "# global launch\nlaunch:\n  mode: public_full  # kept comment\n")
        snapshot.record_after(self.snapshot_dir)


def cli(host, *extra):
    return rollback_cli.main(["restore", "--snapshot", host.snapshot_dir, "--audit-dir", host.audit_dir,
                              "--run-id", "20260116T000000Z-abcdef"] + list(extra))
