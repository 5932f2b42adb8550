#!/usr/bin/python
# -*- coding: utf-8 -*-
# `passthrough hooks install|uninstall --json [--check]`.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: passthrough_hooks
short_description: Install or remove Passthrough's libvirt QEMU hook
description:
  - Installs the libvirt QEMU hook (C(/etc/libvirt/hooks/qemu)) that binds a VM's GPU functions to
    vfio-pci before it starts and gives them back after it stops, or removes it
    (C(passthrough hooks install) and C(passthrough hooks uninstall)).
  - A hook that is already as wanted reports no change.
version_added: "0.1.0"
author:
  - Passthrough developers (@passthrough)
extends_documentation_fragment:
  - passthrough.vfio.common
options:
  state:
    description:
      - C(present) installs the hook, C(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode (C(--check)) and diff mode (the hook files before and after).
'''

EXAMPLES = r'''
- name: Install the libvirt QEMU hook
  passthrough.vfio.passthrough_hooks:
    state: present

- name: Remove it
  passthrough.vfio.passthrough_hooks:
    state: absent
'''

RETURN = r'''
actions:
  description: What was done, or in check mode what would be, one line each.
  returned: always
  type: list
  elements: str
  sample: ["write /etc/libvirt/hooks/qemu"]
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
    argument_spec = dict(state=dict(type='str', choices=['present', 'absent'], default='present'))
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    cli = Passthrough(module)
    verb = 'install' if module.params['state'] == 'present' else 'uninstall'
    exit_with(module, [cli.run_change(['hooks', verb])])


if __name__ == '__main__':
    main()
