#!/usr/bin/python
# netlab_topology: installs one topology file into netlabd's configuration
# directory, validated first, and applies it through netlabd with
# commit-confirmed, so a change that cuts the controller off rolls itself back.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: netlab_topology
short_description: Install a netlab topology and apply it with commit-confirmed
version_added: "0.1.0"
description:
  - Installs I(content) as a file of netlabd's configuration directory
    (C(topology.yaml) or a drop-in under C(topology.d/)).
  - Before the file is in place, the directory as it would be (the new file
    with the other files already there) is checked with C(netlabctl check);
    a topology that fails leaves the directory untouched and the task fails
    with the diagnostics (file:line:col of the real path).
  - The file is written to a temporary name in the same directory, synced
    and renamed over the old one, so netlabd never reads half a file.
  - netlabd applies it with C(netlabctl apply --confirm) I(confirm_timeout),
    the change is pending and netlabd rolls it back at the deadline unless
    M(netlab.host.netlab_confirm) keeps it. Run that only after the
    controller has reached the host again (for example
    M(ansible.builtin.wait_for_connection)); the role C(netlab.host.rollout)
    does exactly that.
  - netlabd also applies a file as soon as it lands in its directory, before
    C(apply --confirm) could put a deadline on it. So unless the content sets
    C(commit_confirmed) itself, the installed file gets
    C(commit_confirmed) set to I(confirm_timeout), which makes netlabd hold every
    change that moves the default route or removes an address for
    confirmation whatever triggered it.
  - In check mode nothing is written; C(netlabctl plan --json) on the
    directory as it would be gives C(changed) (true when the file differs or
    the plan has steps) and the plan, which C(--diff) shows after the
    file's diff.
  - Idempotent - a host whose file is already the same and whose kernel
    already matches reports C(changed=false) and netlabd is not asked to
    apply anything.
options:
  content:
    description:
      - The topology (YAML text, for example the result of
        C(lookup('template', ...))).
    type: str
    required: true
  dest:
    description:
      - Where the file goes, relative to I(config_dir) - C(topology.yaml) or
        C(topology.d/NAME.yaml).
    type: str
    default: topology.yaml
  confirm_timeout:
    description:
      - The commit-confirmed deadline (C(20s), C(5m), 1s to 24h). The
        controller must reach the host again and confirm within it.
    type: str
    default: 60s
  netlabctl:
    description: The netlabctl binary on the host (a name looked up in PATH, or a path).
    type: str
    default: netlabctl
  config_dir:
    description: netlabd's configuration directory (its C(--config-dir)).
    type: path
    default: /etc/netlab
  state_dir:
    description: netlabd's state directory (its C(--state-dir)), read by the plan.
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
    support: full
notes:
  - netlabd must be running on the host - commit-confirmed needs the daemon,
    which keeps the deadline and rolls back.
  - After a rollback at the deadline netlabd holds (applies nothing) until
    the next apply; the next run of this module is that apply.
seealso:
  - module: netlab.host.netlab_confirm
author:
  - netlab developers
'''

EXAMPLES = r'''
- name: Bridge takeover, pending for 20 s
  netlab.host.netlab_topology:
    content: "{{ lookup('ansible.builtin.template', 'takeover.yaml.j2') }}"
    confirm_timeout: 20s
  register: netlab

- name: The controller still reaches the host
  ansible.builtin.wait_for_connection:
    timeout: 15
  when: netlab.pending

- name: Keep the change
  netlab.host.netlab_confirm:
  when: netlab.pending

- name: A drop-in for a lab instance of netlabd with its own paths
  netlab.host.netlab_topology:
    content: "{{ lookup('ansible.builtin.file', 'br1.yaml') }}"
    dest: topology.d/10-br1.yaml
    netlabctl: /opt/netlab/bin/netlabctl
    config_dir: /srv/lab/etc
    state_dir: /srv/lab/run
    socket: /srv/lab/run/netlabd.sock
'''

RETURN = r'''
path:
  description: The installed file.
  returned: always
  type: str
  sample: /etc/netlab/topology.yaml
file_changed:
  description: Whether the file's content differs from what was there (in check mode - would differ).
  returned: always
  type: bool
steps:
  description: The steps of netlabctl's plan for the directory as it would be (one line each).
  returned: always
  type: list
  elements: str
  sample: ["ip link add br0 type bridge", "ip route replace default via 198.51.100.1 dev br0"]
plan:
  description: The plan as C(netlabctl plan --json) prints it.
  returned: always
  type: dict
pending:
  description: Whether netlabd holds a change for confirmation after this task.
  returned: always
  type: bool
deadline:
  description: The pending change's deadline (wall-clock time, UTC).
  returned: when pending
  type: str
  sample: "2026-12-02T17:50:01.123Z"
apply:
  description: netlabd's reply to the apply (C(netlabctl apply --confirm --json)).
  returned: when netlabd was asked to apply
  type: dict
'''

import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.netlab.host.plugins.module_utils import netlabctl as ctl

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

import json


def with_deadline(content, timeout):
    """The content netlabd gets: with commit_confirmed when it sets none."""
    if HAS_YAML:
        try:
            doc = yaml.safe_load(content)
        except yaml.YAMLError:
            return content  # netlabctl check says where and why
        if isinstance(doc, dict) and 'commit_confirmed' in doc:
            return content
    elif 'commit_confirmed:' in content:
        return content
    return (content.rstrip('\n') + '\n\n'
            '# netlab.host.netlab_topology: netlabd applies this file as soon as it lands,\n'
            '# so a change that could cut the host off carries its own deadline.\n'
            'commit_confirmed: %s\n' % timeout)


def stage(config_dir, dest, content):
    """A copy of the configuration directory with the new file in place;
    returns its path (the caller removes it)."""
    tmp = tempfile.mkdtemp(prefix='netlab-candidate.')
    cand = os.path.join(tmp, 'etc')
    os.mkdir(cand)
    main = os.path.join(config_dir, 'topology.yaml')
    if os.path.isfile(main):
        shutil.copyfile(main, os.path.join(cand, 'topology.yaml'))
    drop = os.path.join(config_dir, 'topology.d')
    if os.path.isdir(drop):
        os.mkdir(os.path.join(cand, 'topology.d'))
        for name in os.listdir(drop):
            src = os.path.join(drop, name)
            if not name.startswith('.') and name.endswith('.yaml') and os.path.isfile(src):
                shutil.copyfile(src, os.path.join(cand, 'topology.d', name))
    target = os.path.join(cand, dest)
    if not os.path.isdir(os.path.dirname(target)):
        os.makedirs(os.path.dirname(target))
    with open(target, 'wb') as f:
        f.write(to_bytes(content))
    return tmp, cand


def install(path, content):
    """Temporary file in the same directory (a name netlabd's watch ignores),
    fsync, rename over the old file, fsync of the directory."""
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.makedirs(d, 0o755)
    fd, tmp = tempfile.mkstemp(prefix='.netlab-', suffix='.tmp', dir=d)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(to_bytes(content))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dfd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def main():
    spec = dict(
        content=dict(type='str', required=True),
        dest=dict(type='str', default='topology.yaml'),
        confirm_timeout=dict(type='str', default='60s'),
    )
    spec.update(ctl.COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    dest = os.path.normpath(p['dest'])
    if dest != 'topology.yaml' and not (dest.startswith('topology.d/') and dest.endswith('.yaml')
                                        and dest.count('/') == 1):
        module.fail_json(msg="dest must be topology.yaml or topology.d/NAME.yaml, not %r" % p['dest'])
    path = os.path.join(p['config_dir'], dest)
    content = with_deadline(p['content'], p['confirm_timeout'])
    old = None
    if os.path.exists(path):
        with open(path, 'rb') as f:
            old = f.read().decode('utf-8', 'replace')
    file_changed = old != content

    tmp, cand = stage(p['config_dir'], dest, content)
    try:
        rc, out, err = ctl.run(module, ['check', cand], ok_codes=(0, 1))
        if rc != 0:
            text = (out + err).replace(cand, p['config_dir']).strip()
            module.fail_json(msg='the topology fails netlabctl check; %s is unchanged:\n%s' % (path, text),
                             diagnostics=text.splitlines(), path=path, changed=False)
        rc, out, err = ctl.run(module, ['plan', cand, '--json', '--state-dir', p['state_dir']], ok_codes=(0, 2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    plan = json.loads(out.replace(cand, p['config_dir']))
    steps = [s.get('text', '') for s in plan.get('steps', [])]
    result = dict(path=path, file_changed=file_changed, steps=steps, plan=plan, pending=False)
    result['changed'] = file_changed or bool(steps)
    if module._diff:
        result['diff'] = [
            dict(before_header=path, after_header=path, before=old or '', after=content),
            dict(prepared='netlabctl plan: %d step(s)\n%s' % (len(steps), ''.join('  %s\n' % s for s in steps))),
        ]
    if module.check_mode:
        module.exit_json(**result)

    if file_changed:
        install(path, content)
    if result['changed']:
        # netlabd's watch may have applied the file already (with the
        # deadline the file carries): then the apply is refused because a
        # change is pending, which is the state we want.
        rc, out, err = ctl.run(module, ['apply', '--confirm', p['confirm_timeout'], '--json']
                               + ctl.daemon_args(module), ok_codes=(0, 1, 3, 4))
        try:
            reply = json.loads(out)
        except ValueError:
            reply = dict(ok=False, error=(err or out).strip())
        result['apply'] = reply
        if not reply.get('ok', False) and 'pending' not in json.dumps(reply.get('error', '')):
            module.fail_json(msg='netlabd did not apply %s: %s' % (path, reply.get('error') or
                                                                  (reply.get('result') or {}).get('status')),
                             **result)
    pending = ctl.status(module).get('pending')
    if isinstance(pending, dict):
        result['pending'] = True
        result['deadline'] = pending.get('deadline')
        result['changed'] = True
    module.exit_json(**result)


if __name__ == '__main__':
    main()
