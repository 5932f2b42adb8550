# -*- coding: utf-8 -*-
# The one bridge from these modules to the installed `passthrough` program. The modules hold no host
# logic: they run `passthrough ... --json` and report what it says, so the CLI and the collection can
# never disagree about what "changed" means. Contract: README "Machine interface".

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

# Options every module takes: the CLI's --root and the program to run.
COMMON_ARGUMENT_SPEC = dict(
    root=dict(type='path', default='/'),
    binary=dict(type='str', default='passthrough'),
)


class Passthrough(object):
    """Runs the passthrough CLI for one module invocation and turns its output into task results."""

    def __init__(self, module):
        self.module = module
        self.binary = self._locate(module.params['binary'])
        self.root = module.params['root']

    def _locate(self, binary):
        if os.sep in binary:
            if os.path.isfile(binary) and os.access(binary, os.X_OK):
                return binary
            self.module.fail_json(
                msg="%s is not an executable file: install passthrough there or set 'binary' to its path." % binary)
        found = self.module.get_bin_path(binary)
        if found is None:
            self.module.fail_json(
                msg="'%s' is not on the PATH: install the passthrough package (RPM or .deb) or set 'binary' to its path."
                % binary)
        return found

    def command(self, arguments):
        return [self.binary, '--root', self.root] + list(arguments)

    def run_json(self, arguments, ok_codes=(0,)):
        """Runs `passthrough --root ROOT ARGUMENTS` (ARGUMENTS include --json) and returns (rc, parsed JSON).
        Any other exit code fails the task with the CLI's own error lines, which say what to do."""
        cmd = self.command(arguments)
        # NO_COLOR: the CLI colours only terminals, but a module's output is never one.
        rc, out, err = self.module.run_command(cmd, check_rc=False, environ_update={'NO_COLOR': '1'})
        if rc not in ok_codes:
            message = (err or out).strip() or ('%s exited with %d and printed nothing' % (self.binary, rc))
            self.module.fail_json(msg=message, rc=rc, cmd=cmd, stdout=out, stderr=err)
        try:
            return rc, json.loads(out)
        except ValueError:
            self.module.fail_json(
                msg="%s did not print JSON for '%s': it may be older than this collection; upgrade passthrough."
                % (self.binary, ' '.join(arguments)),
                rc=rc, cmd=cmd, stdout=out, stderr=err)
        return rc, None

    def run_change(self, arguments):
        """Runs a mutating verb with --json (and --check in check mode) and returns its change report."""
        arguments = list(arguments) + ['--json']
        if self.module.check_mode:
            arguments.append('--check')
        report = self.run_json(arguments)[1]
        if not isinstance(report, dict) or 'changed' not in report:
            self.module.fail_json(
                msg="%s printed no change report for '%s': upgrade passthrough." % (self.binary, ' '.join(arguments)))
        return report


def diff_entries(report):
    """The report's changed files and domains in the shape Ansible's --diff shows."""
    return [
        dict(before_header=item['path'], after_header=item['path'], before=item['before'], after=item['after'])
        for item in report.get('diffs') or []
    ]


def merge_reports(reports):
    """One task result from several runs of the CLI (a module that makes more than one edit)."""
    result = dict(changed=False, actions=[], reboot_required=False, warnings=[], diff=[])
    for report in reports:
        result['changed'] = result['changed'] or bool(report.get('changed'))
        result['actions'].extend(report.get('actions') or [])
        result['reboot_required'] = result['reboot_required'] or bool(report.get('rebootRequired'))
        result['warnings'].extend(report.get('warnings') or [])
        result['diff'].extend(diff_entries(report))
    return result


def exit_with(module, reports, **extra):
    """Ends the task: changed, actions, reboot_required, diff (shown with --diff), warnings as Ansible warnings."""
    result = merge_reports(reports)
    for warning in result.pop('warnings'):
        module.warn(warning)
    if not module._diff:
        result.pop('diff')
    result.update(extra)
    module.exit_json(**result)
