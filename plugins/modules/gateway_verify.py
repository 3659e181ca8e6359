#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: gateway_verify
short_description: Make the Nexus COS gateway reload its flags and confirm an expected state
version_added: "1.0.0"
description:
  - Tells the gateway to reread the flag store (C(POST /api/feature-flags/reload)), then polls its
    health endpoints until they report the expected state, or fails when O(timeout) runs out,
    saying what was expected and what was seen.
  - Marketplace phase from C(GET /api/pf/marketplace/health) (C(phase); 503 means phase 0),
    access mode from C(GET /api/pf/launch/health) (C(currentMode), C(mode) or C(access_mode)),
    the jurisdiction engine from C(GET /api/pf/jurisdiction/health) (200 on, 503 off).
  - A reload that is refused is retried at every poll until the timeout.
author: Nexus COS platform team
options:
  url:
    description: Base URL of the gateway as seen from the host.
    type: str
    default: http://localhost:4000
  reload:
    description: Ask the gateway to reload the flag store first.
    type: bool
    default: true
  expect:
    description:
      - The state to confirm, C({marketplace_phase, access_mode, jurisdiction}); a key left out or
        null is not checked.
    type: dict
    required: true
  timeout:
    description: Seconds to wait for the gateway to confirm.
    type: float
    default: 30
  interval:
    description: Seconds between polls.
    type: float
    default: 0.5
  request_timeout:
    description: Seconds one HTTP request may take.
    type: float
    default: 5
attributes:
  check_mode:
    support: full
    details: In check mode the gateway is neither reloaded nor asked; nothing is confirmed.
  diff_mode:
    support: none
notes:
  - Reloading is not a configuration change; the module always reports C(changed=false).
'''

EXAMPLES = r'''
- name: Reload and wait for marketplace phase 3
  nexus_cos.launch.gateway_verify:
    url: http://localhost:4000
    expect:
      marketplace_phase: 3
      access_mode: founder_beta
    timeout: 30
'''

RETURN = r'''
seen:
  description: What the gateway reported last, C({marketplace_phase, access_mode, jurisdiction, *_http}).
  returned: always
  type: dict
elapsed_ms:
  description: Time from the reload to the confirmation (or to giving up).
  returned: always
  type: int
attempts:
  description: Polls made.
  returned: always
  type: int
reload:
  description: The reload's answer, e.g. C(HTTP 200).
  returned: always
  type: str
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import activation, snapshot

RELOAD = snapshot.RELOAD_PATH
MARKETPLACE = snapshot.MARKETPLACE_HEALTH_PATH
LAUNCH = snapshot.LAUNCH_HEALTH_PATH
JURISDICTION = "/api/pf/jurisdiction/health"


def http(method, url, timeout):
    """(status, parsed JSON body or None); status 0 when nothing answered."""
    status, body, _error = snapshot.gateway_request(method, url, timeout)
    return status, body


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", default="http://localhost:4000"),
            reload=dict(type="bool", default=True),
            expect=dict(type="dict", required=True),
            timeout=dict(type="float", default=30),
            interval=dict(type="float", default=0.5),
            request_timeout=dict(type="float", default=5),
        ),
        supports_check_mode=True,
    )
    p = module.params
    expect = dict((k, v) for k, v in p["expect"].items() if v is not None)
    unknown = sorted(set(expect) - {"marketplace_phase", "access_mode", "jurisdiction"})
    if unknown:
        module.fail_json(msg="expect: unknown key %s; expected marketplace_phase, access_mode, jurisdiction"
                         % ", ".join(unknown))
    if "marketplace_phase" in expect:
        expect["marketplace_phase"] = int(expect["marketplace_phase"])
    if module.check_mode:
        module.exit_json(changed=False, seen={}, elapsed_ms=0, attempts=0, reload="not sent (check mode)")
    base = p["url"].rstrip("/")
    started = time.monotonic()
    deadline = started + max(p["timeout"], 0)
    reloaded = not p["reload"]
    reload_text = "not asked"
    attempts = 0
    seen = {}
    while True:
        attempts += 1
        per_request = max(0.5, min(p["request_timeout"], deadline - time.monotonic()))
        if not reloaded:
            status, body = http("POST", base + RELOAD, per_request)
            reloaded = status == 200 and not (isinstance(body, dict) and body.get("success") is False)
            reload_text = "no answer" if not status else "HTTP %d" % status
        if reloaded:
            seen = activation.read_health(
                marketplace=http("GET", base + MARKETPLACE, per_request) if "marketplace_phase" in expect else None,
                launch=http("GET", base + LAUNCH, per_request) if "access_mode" in expect else None,
                jurisdiction=http("GET", base + JURISDICTION, per_request) if "jurisdiction" in expect else None)
            if not activation.gateway_mismatch(expect, seen):
                module.exit_json(changed=False, seen=seen, attempts=attempts, reload=reload_text,
                                 elapsed_ms=int((time.monotonic() - started) * 1000))
        if time.monotonic() + p["interval"] > deadline:
            break
        time.sleep(p["interval"])
    if not reloaded:
        what = "the reload was refused (%s)" % reload_text
    else:
        what = "saw %s" % activation.describe_seen(seen)
    module.fail_json(msg="gateway %s did not confirm the change within %s s: expected %s; %s"
                     % (base, ("%.1f" % p["timeout"]).rstrip("0").rstrip("."), activation.describe_expect(expect),
                        what),
                     seen=seen, attempts=attempts, reload=reload_text,
                     elapsed_ms=int((time.monotonic() - started) * 1000))


if __name__ == "__main__":
    main()
