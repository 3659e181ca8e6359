#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: gateway_info
short_description: One look at the Nexus COS platform from the host, changing nothing
version_added: "1.1.0"
description:
  - What the launch guard (action C(nexus_cos.launch.launch_guard)) takes every few seconds - the
    gateway's C(/health) (status and latency), what it serves (C(currentMode) and the number of flags,
    C(GET /api/feature-flags)) and each PF health endpoint (marketplace, jurisdiction, ai-dealers,
    federation, creator) - through the collection's one gateway client (module_utils C(gateway)).
  - Never fails for what the platform answers; a gateway that does not answer is an observation.
author: Nexus COS platform team (@nexus-cos)
options:
  url:
    description: Base URL of the gateway as seen from the host (C(nexus_gateway_url) in the plays).
    type: str
    required: true
  health_path:
    description: Path of the health endpoint.
    type: str
    default: /health
  request_timeout:
    description: Seconds one request may take.
    type: float
    default: 3
extends_documentation_fragment:
  - nexus_cos.launch.attributes
attributes:
  check_mode:
    support: full
    details: The probe only reads; it runs in check mode too.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Look at the platform once
  nexus_cos.launch.gateway_info:
    url: "{{ nexus_gateway_url }}"
'''

RETURN = r'''
observation:
  description:
    - C({health, health_text, latency_ms, access_mode, flags, flags_http, marketplace_phase, pf}); C(health) is the
      HTTP status of the health endpoint (0 when nothing answered), C(pf) the status of each PF health endpoint.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import gateway


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            health_path=dict(type="str", default=gateway.HEALTH_PATH),
            request_timeout=dict(type="float", default=3),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["request_timeout"] <= 0:
        module.fail_json(msg="request_timeout must be more than 0 seconds, got %s" % p["request_timeout"])
    client = gateway.Gateway(p["url"], request_timeout=p["request_timeout"])
    module.exit_json(changed=False, observation=client.probe("/" + p["health_path"].lstrip("/")))


if __name__ == "__main__":
    main()
