#!/usr/bin/python
# netlab_confirm: keeps netlabd's pending commit-confirmed change, once the
# controller has shown it still reaches the host.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: netlab_confirm
short_description: Keep netlabd's pending commit-confirmed change
version_added: "0.1.0"
description:
  - Runs C(netlabctl confirm) when netlabd holds a change for confirmation
    (after M(netlab.host.netlab_topology) or C(netlabctl apply --confirm)).
  - That this module runs at all is the proof that the controller reaches the
    host over the network the change made; run it after
    M(ansible.builtin.wait_for_connection).
  - netlabd refuses a confirm while its probe of the gateway still runs
    (up to 3.5 s after the apply); the module waits for the probe, at most
    I(probe_wait) seconds.
  - A probe that failed (the new gateway did not answer) makes the confirm
    fail unless I(force); the change then rolls back at its deadline.
  - Nothing pending - C(changed=false).
options:
  force:
    description: Keep the change even if netlabd's probe of the gateway failed.
    type: bool
    default: false
  deadline:
    description:
      - The deadline M(netlab.host.netlab_topology) returned. Given, the
        module fails when that change is no longer pending and netlabd says
        it was rolled back (the controller took longer than the deadline),
        instead of reporting success for a change that is gone.
    type: str
  probe_wait:
    description: Seconds to wait for a running probe before giving up.
    type: int
    default: 10
  netlabctl:
    description: The netlabctl binary on the host (a name looked up in PATH, or a path).
    type: str
    default: netlabctl
  config_dir:
    description: netlabd's configuration directory (unused; accepted so both modules take the same paths).
    type: path
    default: /etc/netlab
  state_dir:
    description: netlabd's state directory (unused; accepted so both modules take the same paths).
    type: path
    default: /run/netlab
  socket:
    description: netlabd's control socket (its C(--socket)).
    type: path
    default: /run/netlab/netlabd.sock
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: netlab.host.netlab_topology
author:
  - netlab developers
'''

EXAMPLES = r'''
- name: Keep the change now that the controller is back
  netlab.host.netlab_confirm:
    socket: /run/netlab/netlabd.sock
'''

RETURN = r'''
confirmed:
  description: Whether a pending change was confirmed (in check mode - would be).
  returned: always
  type: bool
probe:
  description: netlabd's probe of the gateway for the pending change (C(ok), C(text)).
  returned: when a change was pending
  type: dict
message:
  description: netlabd's answer to the confirm.
  returned: when a change was confirmed
  type: str
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netlab.host.plugins.module_utils import netlabctl as ctl


def main():
    spec = dict(
        force=dict(type='bool', default=False),
        probe_wait=dict(type='int', default=10),
        deadline=dict(type='str'),
    )
    spec.update(ctl.COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    end = time.time() + module.params['probe_wait']
    while True:
        st = ctl.status(module)
        pending = st.get('pending')
        if not isinstance(pending, dict):
            settled = st.get('settled') or {}
            if module.params['deadline'] and settled.get('status') != 'confirmed':
                module.fail_json(msg='the change pending until %s is no longer pending: %s by %s at %s'
                                 % (module.params['deadline'], settled.get('status'), settled.get('trigger'),
                                    settled.get('at')), settled=settled)
            module.exit_json(changed=False, confirmed=False, settled=settled)
        probe = pending.get('probe')
        if probe != 'running' or time.time() >= end:
            break
        time.sleep(0.2)
    if module.check_mode:
        module.exit_json(changed=True, confirmed=True, probe=probe)
    args = ['confirm'] + ctl.daemon_args(module)
    if module.params['force']:
        args.append('--force')
    rc, out, err = ctl.run(module, args, ok_codes=(0, 1))
    if rc != 0:
        module.fail_json(msg='netlabctl confirm refused: %s' % (err or out).strip(), probe=probe,
                         deadline=pending.get('deadline'))
    module.exit_json(changed=True, confirmed=True, probe=probe, message=out.strip())


if __name__ == '__main__':
    main()
