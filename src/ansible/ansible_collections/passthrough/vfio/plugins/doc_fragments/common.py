# -*- coding: utf-8 -*-
# The options every module of the collection takes (module_utils/passthrough.py COMMON_ARGUMENT_SPEC).

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options:
  root:
    description:
      - Treat this directory as C(/) for every host path (the CLI's C(--root)), for captured host snapshots
        and test trees. Commands such as initramfs rebuilds run only on the live root.
    type: path
    default: /
  binary:
    description:
      - The passthrough program to run, a name on the PATH or an absolute path.
    type: str
    default: passthrough
requirements:
  - passthrough (the RPM or .deb of the Passthrough project) on the managed host
'''
