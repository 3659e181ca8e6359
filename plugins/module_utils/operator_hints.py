# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The operator's overrides as a hint names them, in one table: the extra
var ansible-playbook takes, or nexusctl's own flag when nexusctl drives
the run (it says so with NEXUS_DRIVER=nexusctl in the run's environment),
so a hint is a command the operator can type where they are.

Standard library only: the precheck module carries it to the host, where
the hints are written with ansible-playbook's spelling; the controller's
action plugins give them the spelling of the driver."""

from __future__ import annotations

import os

DRIVER_ENV = "NEXUS_DRIVER"
NEXUSCTL = "nexusctl"
ANSIBLE = "ansible-playbook"

# key -> (ansible-playbook's spelling, nexusctl's spelling); {name} is a check's name.
SPELLINGS = {
    "skip": ("-e '{{\"precheck_skip\": [\"{name}\"]}}'", "--skip {name}"),
    "warn_only": ("-e '{{\"precheck_warn_only\": [\"{name}\"]}}'", "--warn-only {name}"),
    "force": ("-e activation_force_reason=TEXT", "--force-reason TEXT"),
}


def driver(environ=None):
    """NEXUSCTL when nexusctl drives this run, else ANSIBLE."""
    environ = os.environ if environ is None else environ
    return NEXUSCTL if environ.get(DRIVER_ENV) == NEXUSCTL else ANSIBLE


def hint(key, who=ANSIBLE, **values):
    """The override ``key`` spelled for ``who`` (driver())."""
    spelling = SPELLINGS[key][1 if who == NEXUSCTL else 0]
    return spelling.format(**values)


def precheck_overrides(name, who=ANSIBLE):
    """{skip, warn_only}: how to skip or downgrade check ``name``."""
    return {"skip": hint("skip", who, name=name), "warn_only": hint("warn_only", who, name=name)}
