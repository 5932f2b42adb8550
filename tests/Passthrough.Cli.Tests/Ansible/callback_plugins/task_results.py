# Test-only stdout callback: prints every task's result per host as one JSON document at the end, so the
# tests read what a module returned. (The json callback is in ansible.posix, which Debian's
# ansible-core does not ship.)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r'''
name: task_results
type: stdout
short_description: every task result as JSON, for Passthrough's tests
description: Prints {"tasks":[{"task":NAME,"host":HOST,"result":{...}}]} when the playbook ends.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'task_results'

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.results = []

    def _record(self, result, **extra):
        data = dict(result._result)
        data.update(extra)
        self.results.append(dict(task=result._task.get_name(), host=result._host.get_name(), result=data))

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True, failed=True)

    def v2_playbook_on_stats(self, stats):
        self._display.display(json.dumps(dict(tasks=self.results), default=str))
