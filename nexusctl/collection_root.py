# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
"""Where the collection nexusctl runs beside lives (playbooks, roles,
inventories, ansible.cfg): a leaf, so that every nexusctl module can know
it without importing another."""

from __future__ import annotations

import os

ROOT = os.environ.get("NEXUS_COLLECTION_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
