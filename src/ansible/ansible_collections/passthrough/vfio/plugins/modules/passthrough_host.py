#!/usr/bin/python
# -*- coding: utf-8 -*-
# `passthrough setup apply --json [--check]` and `passthrough setup undo --json [--check]`.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: passthrough_host
short_description: Prepare a host for GPU passthrough, or undo it
description:
  - With C(state=present), applies the plan of C(passthrough setup) for a GPU slot and mode - kernel
    arguments for the bootloader actually in use, initramfs and modprobe files, vfio-pci binding at
    boot, libvirt limits - keeping a backup of every file it changes.
  - With C(state=absent), undoes the last apply byte for byte (C(passthrough setup undo)).
  - A host that already matches the plan reports no change. C(reboot_required) says when the new
    kernel arguments or initramfs need a reboot.
version_added: "0.1.0"
author:
  - Passthrough developers (@passthrough)
extends_documentation_fragment:
  - passthrough.vfio.common
options:
  slot:
    description:
      - The GPU's host slot, for example C(0000:03:00); every function of it is planned for.
      - Required with C(state=present).
    type: str
  mode:
    description:
      - C(static) binds vfio-pci at boot; C(dynamic) and C(single-gpu) leave the GPU to the host until a VM
        starts (the hook binds it then).
    type: str
    choices: [static, dynamic, single-gpu]
    default: static
  state:
    description:
      - C(present) applies the setup plan, C(absent) undoes the last apply.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode (nothing is written) and diff mode (each changed file before and after).
  - Reboot with M(ansible.builtin.reboot) when C(reboot_required) is true.
'''

EXAMPLES = r'''
- name: Keep the GPU on vfio-pci from boot
  passthrough.vfio.passthrough_host:
    slot: "0000:03:00"
    mode: static
  register: setup

- name: Reboot when the kernel arguments changed
  ansible.builtin.reboot:
  when: setup.reboot_required

- name: Undo the last setup
  passthrough.vfio.passthrough_host:
    state: absent
'''

RETURN = r'''
actions:
  description: What was done, or in check mode what would be, one line each.
  returned: always
  type: list
  elements: str
  sample: ["edit /etc/default/grub: add intel_iommu=on iommu=pt", "run dracut --force"]
reboot_required:
  description: Whether the change takes effect only after a reboot.
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.passthrough.vfio.plugins.module_utils.passthrough import (
    COMMON_ARGUMENT_SPEC,
    Passthrough,
    exit_with,
)


def main():
    argument_spec = dict(
        slot=dict(type='str'),
        mode=dict(type='str', choices=['static', 'dynamic', 'single-gpu'], default='static'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[('state', 'present', ['slot'])],
        supports_check_mode=True,
    )
    cli = Passthrough(module)
    if module.params['state'] == 'present':
        arguments = ['setup', 'apply', '--slot', module.params['slot'], '--mode', module.params['mode']]
    else:
        arguments = ['setup', 'undo']
    if not module.check_mode:
        arguments.append('--yes')
    exit_with(module, [cli.run_change(arguments)])


if __name__ == '__main__':
    main()
