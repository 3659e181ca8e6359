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
  - Tells the gateway to reread the flag store (C(POST /api/feature-flags/reload)), then polls it
    until it serves the expected state, or fails when O(timeout) runs out, saying what was expected,
    what it served and the likely cause.
  - What the answers mean is the collection's one gateway client (module_utils C(gateway)), the
    platform's flag service contract (DESIGN section 3). Access mode and the number of flags served
    from C(GET /api/feature-flags) (C(currentMode), C(flags)); marketplace phase from
    C(GET /api/pf/marketplace/health) (C(phase); 503 means phase 0); the jurisdiction engine from
    C(GET /api/pf/jurisdiction/health) (200 on, 503 off).
  - The platform's service answers a reload with success even when it cannot parse the flag store,
    and then serves no flags at all. Expecting C(flags) in O(expect) catches that, and the failure says
    so, naming whether O(flag_store) parses now.
  - A reload that is refused is retried at every poll until the timeout.
  - With an empty O(expect) and O(reload=false), only reads what the gateway serves (C(nexusctl status)).
author: Nexus COS platform team (@nexus-cos)
options:
  url:
    description: Base URL of the gateway as seen from the host (the plays pass C(nexus_gateway_url)).
    type: str
    required: true
  reload:
    description: Ask the gateway to reload the flag store first.
    type: bool
    default: true
  expect:
    description:
      - The state to confirm, C({marketplace_phase, access_mode, jurisdiction, flags}); a key left out or
        null is not checked. C(flags) is the number of flags the gateway must list.
    type: dict
    default: {}
  flag_store:
    description:
      - The flag store on the host the gateway reads. Only read when the gateway does not confirm, to
        tell a file it could not parse from a gateway that is behind.
    type: path
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
extends_documentation_fragment:
  - nexus_cos.launch.attributes
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
      flags: 9
    flag_store: /opt/nexus-cos/config/feature-flags.json
    timeout: 30

- name: Read what the gateway serves, change nothing
  nexus_cos.launch.gateway_verify:
    url: "{{ nexus_gateway_url }}"
    reload: false
    timeout: 0
'''

RETURN = r'''
seen:
  description:
    - What the gateway served last, C({access_mode, flags, marketplace_phase, jurisdiction}), each endpoint's
      answer as text under C(*_http), and C(launch_health) (whether the optional launch endpoint is served).
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
  description: The reload's answer, e.g. C(HTTP 200), or C(not asked).
  returned: always
  type: str
cause:
  description: The likely cause when the gateway did not confirm, in words (empty when unknown).
  returned: failure
  type: str
summary:
  description: What the gateway answered, in short, for an audit record (C(GATEWAY_NOT_CONFIRMED)).
  returned: failure
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import gateway
from ansible_collections.nexus_cos.launch.plugins.module_utils.numbers import finite_number


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            reload=dict(type="bool", default=True),
            expect=dict(type="dict", default={}),
            flag_store=dict(type="path"),
            timeout=dict(type="float", default=30),
            interval=dict(type="float", default=0.5),
            request_timeout=dict(type="float", default=5),
        ),
        supports_check_mode=True,
    )
    p = module.params
    expect = dict((k, v) for k, v in (p["expect"] or {}).items() if v is not None)
    unknown = sorted(set(expect) - set(gateway.STATES))
    if unknown:
        module.fail_json(msg="expect: unknown key %s; expected some of %s" % (", ".join(unknown),
                                                                              ", ".join(gateway.STATES)))
    for key in ("marketplace_phase", "flags"):
        if key in expect:
            try:
                expect[key] = int(expect[key])
            except (TypeError, ValueError):
                module.fail_json(msg="expect.%s: expected a whole number, found %r" % (key, expect[key]))
    if "jurisdiction" in expect and not isinstance(expect["jurisdiction"], bool):
        module.fail_json(msg="expect.jurisdiction: expected true or false, found %r" % (expect["jurisdiction"],))
    try:
        finite_number(p["timeout"], "timeout", "seconds", minimum=0)
        finite_number(p["interval"], "interval", "seconds", above=0)
        finite_number(p["request_timeout"], "request_timeout", "seconds", above=0)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if module.check_mode:
        module.exit_json(changed=False, seen={}, elapsed_ms=0, attempts=0, reload="not sent (check mode)")
    client = gateway.Gateway(p["url"], request_timeout=p["request_timeout"])
    try:
        done = client.confirm(expect, timeout=p["timeout"], interval=p["interval"], reload=p["reload"],
                              store_path=p["flag_store"])
    except gateway.NotConfirmed as exc:
        module.fail_json(msg=str(exc), seen=exc.seen, attempts=exc.attempts, reload=exc.reload,
                         elapsed_ms=exc.elapsed_ms, cause=exc.cause, summary=exc.summary())
    module.exit_json(changed=False, seen=done["seen"], attempts=done["attempts"], reload=done["reload"],
                     elapsed_ms=done["elapsed_ms"])


if __name__ == "__main__":
    main()
