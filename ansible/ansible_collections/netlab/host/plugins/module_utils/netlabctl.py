# How the netlab.host modules run netlabctl on the managed host: one place
# that builds the command line from the common options and reads its JSON.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# The options every netlab.host module takes (merged into its argument_spec).
COMMON_ARGS = dict(
    netlabctl=dict(type='str', default='netlabctl'),
    config_dir=dict(type='path', default='/etc/netlab'),
    state_dir=dict(type='path', default='/run/netlab'),
    socket=dict(type='path', default='/run/netlab/netlabd.sock'),
)


def netlabctl_path(module):
    name = module.params['netlabctl']
    if '/' in name:
        return name
    return module.get_bin_path(name, required=True)


def run(module, args, ok_codes=(0,)):
    """Runs netlabctl ARGS; returns (rc, stdout, stderr); fails the module on
    an exit code outside ok_codes."""
    cmd = [netlabctl_path(module)] + list(args)
    # netlabd records who asked for each change it applies (its revisions):
    # NETLAB_CLIENT makes it "ansible" rather than a bare socket client.
    rc, out, err = module.run_command(cmd, environ_update={'NETLAB_CLIENT': 'ansible'})
    if rc not in ok_codes:
        module.fail_json(msg='%s failed (exit %d): %s' % (' '.join(cmd), rc, (err or out).strip()),
                         rc=rc, stdout=out, stderr=err, cmd=cmd)
    return rc, out, err


def daemon_args(module):
    return ['--socket', module.params['socket']]


def status(module):
    """netlabd's status as a dict (`netlabctl status --json`)."""
    _, out, _ = run(module, ['status', '--json', '--timeout', '30'] + daemon_args(module))
    return json.loads(out)
