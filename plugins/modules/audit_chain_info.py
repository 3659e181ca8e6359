#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nexus COS platform team
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: audit_chain_info
short_description: Verify the Nexus COS audit chain on a host
version_added: "1.0.0"
description:
  - Walks every record of every chain file in O(audit_dir) and checks the hash chain,
    the sequence numbers and the order of records in each file, in one module execution.
  - With O(head), the chain head exported to the controller at the end of a run, a
    trail cut short after that run is caught too.
  - Fails naming the file and line of the first edited, removed, inserted or reordered
    record. Reads only.
  - A file named like a chain file whose lines carry none of the chain's fields (C(run=),
    C(seq=), C(prev=), C(chain=)) is another tool's, such as the console log the platform's own
    deploy script writes to the same directory. It is listed in RV(foreign), kept as it is,
    and never counted as tampering. A file named as this collection names its chain files is
    always verified.
author: Nexus COS platform team (@nexus-cos)
options:
  audit_dir:
    description: The audit trail on the host (the plays pass C(nexus_audit_dir)).
    type: path
    required: true
  head:
    description: An exported chain head, C({seq, chain}) at least.
    type: dict
  tail:
    description:
      - Also return the last O(tail) records, by seq across all chain files, in RV(tail)
        (C(nexusctl audit tail -i)). With O(tail), a trail that does not verify does not fail the
        module, so its records can still be read; RV(problems) says what is wrong.
    type: int
    default: 0
    version_added: "2.1.0"
extends_documentation_fragment:
  - nexus_cos.launch.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Verify the trail against the head the controller kept
  nexus_cos.launch.audit_chain_info:
    audit_dir: "{{ nexus_audit_dir }}"
    head: "{{ lookup('ansible.builtin.file', 'artifacts/audit-heads/' ~ inventory_hostname ~ '.json') | from_json }}"
'''

RETURN = r'''
records:
  description: Number of records walked.
  returned: always
  type: int
head:
  description: The trail's last record, C({seq, chain, file, line}).
  returned: always
  type: dict
problems:
  description: Every problem found, earliest first, each naming the file and line.
  returned: always
  type: list
  elements: str
time_problems:
  description:
    - Records dated more than a few seconds before the record before them (a host clock that went
      backwards), each naming file, line, seq and both times. Not tampering, but the module fails.
  returned: always
  type: list
  elements: str
report:
  description: What C(nexusctl audit verify) says, a line each; the foreign files last.
  returned: always
  type: list
  elements: str
tail:
  description: The last O(tail) records, oldest first, one line each as C(nexusctl audit tail) prints them.
  returned: when O(tail) is above 0
  type: list
  elements: str
  version_added: "2.1.0"
foreign:
  description: Files not part of the chain, C({file, size, reason}), kept as they are.
  returned: always
  type: list
  elements: dict
  sample:
    - file: deployment-20250101-101010.log
      size: 3800
      reason: >-
        console log of the platform's deploy script (deploy-phase-4-full-launch.sh): no line carries
        run=, seq=, prev= or chain= (41 lines, 15 unchained [AUDIT] records)
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nexus_cos.launch.plugins.module_utils import audit_log


def main():
    module = AnsibleModule(argument_spec=dict(
        audit_dir=dict(type="path", required=True),
        head=dict(type="dict"),
        tail=dict(type="int", default=0),
    ), supports_check_mode=True)
    if module.params["tail"] < 0:
        module.fail_json(msg="tail: %d; expected a number of records, 0 or more" % module.params["tail"])
    try:
        head = audit_log.validate_head(module.params["head"], "head") if module.params["head"] else None
        result = audit_log.verify_dir(module.params["audit_dir"], head)
    except FileNotFoundError:
        module.fail_json(msg="audit directory %s does not exist: no run has written an audit trail on this host "
                         "(playbooks/phase4.yml starts one)" % module.params["audit_dir"])
    except (OSError, ValueError) as exc:
        module.fail_json(msg="audit_chain_info: %s" % exc)
    problems = [str(p) for p in result.problems]
    verdict = ("%d records intact up to seq %d" % (result.records, result.head["seq"]) if result.ok else
               "audit trail %s is not intact: %d problem(s)" % (module.params["audit_dir"], len(problems)))
    out = dict(changed=False, records=result.records, head=result.head, problems=problems,
               foreign=[dict(item._asdict()) for item in result.foreign],
               time_problems=[str(p) for p in result.time_problems],
               report=[verdict] + audit_log.time_lines(result.time_problems) + audit_log.foreign_lines(result.foreign))
    if module.params["tail"]:
        try:
            entries, dummy = audit_log.read_trail(module.params["audit_dir"])
        except OSError as exc:
            module.fail_json(msg="audit_chain_info: %s" % exc, **out)
        out["tail"] = [audit_log.entry_line(entry) for entry in entries[-module.params["tail"]:]]
        module.exit_json(**out)
    if problems:
        module.fail_json(msg="audit trail %s is not intact: %s" % (module.params["audit_dir"], problems[0]), **out)
    if result.time_problems:
        # Fails as nexusctl audit verify --dir exits 1, told apart from tampering.
        module.fail_json(msg="audit trail %s: hash chain intact, but record times go backwards: %s"
                         % (module.params["audit_dir"], result.time_problems[0]), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
