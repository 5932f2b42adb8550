#!/usr/bin/python
# -*- coding: utf-8 -*-
# `passthrough xml add-gpu|remove-gpu|set --vm NAME --json [--check]` on a defined libvirt domain.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: passthrough_domain
short_description: Passthrough edits of a defined libvirt VM
description:
  - Reads a defined VM (C(virsh dumpxml --inactive)), makes the edits asked for through Passthrough's
    domain model, and defines it again only when something changed, after saving the previous
    definition (C(passthrough xml VERB --vm NAME)).
  - C(gpu_slot) with C(gpu_state=present) passes every function of that host GPU on one guest slot;
    C(gpu_state=absent) removes the hostdevs of that slot.
  - Everything the edits do not touch stays as it was.
version_added: "0.1.0"
author:
  - Passthrough developers (@passthrough)
extends_documentation_fragment:
  - passthrough.vfio.common
options:
  name:
    description:
      - The libvirt domain's name.
    type: str
    required: true
  uri:
    description:
      - The libvirt connection URI.
    type: str
    default: qemu:///system
  gpu_slot:
    description:
      - A GPU's host slot, for example C(0000:03:00).
    type: str
  gpu_state:
    description:
      - Whether the GPU in C(gpu_slot) is passed to the VM.
    type: str
    choices: [present, absent]
    default: present
  hyperv_vendor_id:
    description:
      - The Hyper-V vendor_id the guest sees (at most 12 characters), or C(off) to remove it.
    type: str
  kvm_hidden:
    description:
      - Hide the KVM signature from the guest.
    type: bool
  topoext:
    description:
      - Require topoext on the host-passthrough CPU (AMD SMT).
    type: bool
  mode:
    description:
      - How Passthrough's hook handles the VM's devices; C(off) leaves them to libvirt.
    type: str
    choices: [static, dynamic, single-gpu, 'off']
notes:
  - Supports check mode (nothing is defined) and diff mode (the domain XML before and after).
requirements:
  - virsh (libvirt-clients) on the managed host
'''

EXAMPLES = r'''
- name: Pass the GPU to the Windows VM, hidden from NVIDIA's driver checks
  passthrough.vfio.passthrough_domain:
    name: win11
    gpu_slot: "0000:01:00"
    hyperv_vendor_id: passthrough
    kvm_hidden: true
    mode: dynamic
'''

RETURN = r'''
actions:
  description: What was done, or in check mode what would be, one line each.
  returned: always
  type: list
  elements: str
  sample: ["pass 0000:01:00.0, 0000:01:00.1 on guest slot 0000:05:00"]
reboot_required:
  description: Always false for domain edits; the VM sees them at its next start.
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.passthrough.vfio.plugins.module_utils.passthrough import (
    COMMON_ARGUMENT_SPEC,
    Passthrough,
    exit_with,
)


def on_off(value):
    return 'on' if value else 'off'


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        uri=dict(type='str', default='qemu:///system'),
        gpu_slot=dict(type='str'),
        gpu_state=dict(type='str', choices=['present', 'absent'], default='present'),
        hyperv_vendor_id=dict(type='str'),
        kvm_hidden=dict(type='bool'),
        topoext=dict(type='bool'),
        mode=dict(type='str', choices=['static', 'dynamic', 'single-gpu', 'off']),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    cli = Passthrough(module)
    params = module.params
    target = ['--vm', params['name'], '--connect', params['uri']]
    reports = []

    if params['gpu_slot']:
        verb = 'add-gpu' if params['gpu_state'] == 'present' else 'remove-gpu'
        reports.append(cli.run_change(['xml', verb] + target + ['--slot', params['gpu_slot']]))

    features = []
    if params['hyperv_vendor_id'] is not None:
        features += ['--hyperv-vendor-id', params['hyperv_vendor_id']]
    if params['kvm_hidden'] is not None:
        features += ['--kvm-hidden', on_off(params['kvm_hidden'])]
    if params['topoext'] is not None:
        features += ['--topoext', on_off(params['topoext'])]
    if params['mode'] is not None:
        features += ['--passthrough-mode', params['mode']]
    if features:
        reports.append(cli.run_change(['xml', 'set'] + target + features))

    if not reports:
        module.fail_json(msg="Nothing to do for %s: give gpu_slot or a setting (hyperv_vendor_id, kvm_hidden, topoext, mode)."
                         % params['name'])
    exit_with(module, reports)


if __name__ == '__main__':
    main()
