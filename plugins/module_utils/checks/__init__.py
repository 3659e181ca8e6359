# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""The prechecks (DESIGN section 4), one module each, and the
registry that finds them.

A check is a subclass of ``framework.Check`` decorated with
``framework.register``; importing its module registers it. The list below is
the registry: the precheck module imports this package, so the module's
payload carries exactly these checks (Ansible ships the module_utils a
module imports, no more). Adding a check is one module here, one line
below and its role (CONTRIBUTING.md); everything else that counts or
names the checks reads this list.
"""

from __future__ import annotations

# pylint: disable=unused-import
from ansible_collections.nexus_cos.launch.plugins.module_utils.checks import (  # noqa: F401
    system,
    services,
    docker,
    disk,
    memory,
    repository,
    configuration,
    api,
    database,
    previous_phases,
    security,
    backup,
)
