#!/usr/bin/python
# -*- coding: utf-8 -*-
# Facts from `passthrough list --all --json`, `groups --json` and `doctor --json`.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: passthrough_facts
short_description: GPUs, IOMMU groups and passthrough readiness findings as facts
description:
  - Runs the installed C(passthrough) program and returns what it reads from sysfs and procfs as the
    fact C(passthrough)
  - C(passthrough.gpus) are the GPUs with all their functions (C(passthrough list --json)),
    C(passthrough.devices) every PCI function (C(passthrough list --all --json)),
    C(passthrough.groups) the IOMMU groups with their viability (C(passthrough groups --json)), and
    C(passthrough.findings) the readiness report (C(passthrough doctor --json)), each finding with its
    evidence and remedy.
  - Changes nothing on the host.
version_added: "0.1.0"
author:
  - Passthrough developers (@passthrough)
extends_documentation_fragment:
  - passthrough.vfio.common
options:
  gather:
    description:
      - Which parts to read. C(doctor) is the slowest (it reads the kernel log and the boot configuration).
    type: list
    elements: str
    choices: [inventory, groups, doctor]
    default: [inventory, groups, doctor]
  slot:
    description:
      - Limit the doctor findings to this GPU slot, for example C(0000:03:00).
    type: str
notes:
  - Supports check mode; it changes nothing in either mode.
'''

EXAMPLES = r'''
- name: Read the host's GPUs, IOMMU groups and readiness
  passthrough.vfio.passthrough_facts:

- name: Fail when the host is not ready for the VM's GPU
  ansible.builtin.assert:
    that: ansible_facts.passthrough.findings | selectattr('severity', 'equalto', 'error') | list | length == 0
    fail_msg: "{{ ansible_facts.passthrough.findings | selectattr('severity', 'equalto', 'error') | map(attribute='remedy') | list }}"
'''

RETURN = r'''
ansible_facts:
  description: The facts, under the key C(passthrough).
  returned: always
  type: complex
  contains:
    passthrough:
      description: What passthrough read.
      type: dict
      returned: always
      sample:
        gpus:
          - slot: "0000:01:00"
            bootVga: false
            functions:
              - address: "0000:01:00.0"
                driver: vfio-pci
        devices: []
        groups:
          - id: 12
            type: DMA-FQ
            devices: ["0000:01:00.0", "0000:01:00.1"]
            viable: true
        findings:
          - id: iommu-enabled
            severity: ok
            message: The IOMMU is on.
            remedy: null
ready:
  description: Whether doctor found no error (false when doctor was not gathered and could not tell).
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.passthrough.vfio.plugins.module_utils.passthrough import (
    COMMON_ARGUMENT_SPEC,
    Passthrough,
)


def main():
    argument_spec = dict(
        gather=dict(type='list', elements='str', choices=['inventory', 'groups', 'doctor'],
                    default=['inventory', 'groups', 'doctor']),
        slot=dict(type='str'),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    cli = Passthrough(module)
    gather = module.params['gather']
    facts = {}
    ready = False
    if 'inventory' in gather:
        facts['gpus'] = cli.run_json(['list', '--json'])[1]['gpus']
        facts['devices'] = cli.run_json(['list', '--all', '--json'])[1]['devices']
    if 'groups' in gather:
        facts['groups'] = cli.run_json(['groups', '--json'])[1]['groups']
    if 'doctor' in gather:
        arguments = ['doctor', '--json']
        if module.params['slot']:
            arguments += ['--slot', module.params['slot']]
        # doctor exits 1 when it has findings: that is its answer, not a failure of the task.
        rc, report = cli.run_json(arguments, ok_codes=(0, 1))
        facts['findings'] = report['findings']
        ready = not any(f.get('severity') == 'error' for f in report['findings'])
    module.exit_json(changed=False, ready=ready, ansible_facts=dict(passthrough=facts))


if __name__ == '__main__':
    main()
