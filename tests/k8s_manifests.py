#!/usr/bin/env python3
"""Checks deploy/kubernetes/ on paper: there is no cluster here, so nothing is
deployed. Every manifest parses as YAML; the DaemonSet runs netlabd in the
host's network and PID namespaces with exactly the capabilities netlab needs
(NET_ADMIN, SYS_ADMIN, SYS_PTRACE, NET_RAW; ALL dropped first), not
privileged, and only the host paths it needs (/run/netlab, /run/netns,
/var/run/docker.sock); its config volume comes from the ConfigMaps, mounted
whole (no subPath, which the kubelet never updates); readiness asks
`netlabctl status`. With NETLABCTL set, the ConfigMaps' topology is checked
with `netlabctl check` as netlabd would see it."""
import os
import subprocess
import sys
import tempfile

import yaml

CAPS = {"NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE", "NET_RAW"}
HOST_PATHS = {"/run/netlab", "/run/netns", "/var/run/docker.sock"}

src = os.environ.get("NETLAB_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..")
kdir = os.path.join(src, "deploy", "kubernetes")
errors = []


def err(msg):
    errors.append(msg)
    print("FAIL: " + msg)


docs = []
for name in sorted(os.listdir(kdir)):
    if name.endswith(".yaml"):
        with open(os.path.join(kdir, name)) as f:
            for d in yaml.safe_load_all(f):
                if d:
                    docs.append((name, d))
print("parsed: " + ", ".join("%s %s/%s" % (n, d["kind"], d["metadata"]["name"]) for n, d in docs))
cms = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "ConfigMap"}
dss = [d for _, d in docs if d["kind"] == "DaemonSet"]
if not dss:
    err("no DaemonSet")
for ds in dss:
    n = ds["metadata"]["name"]
    spec = ds["spec"]["template"]["spec"]
    if spec.get("hostNetwork") is not True:
        err("%s: not hostNetwork" % n)
    if spec.get("hostPID") is not True:
        err("%s: no hostPID (pid: targets need the host's /proc)" % n)
    if spec.get("hostIPC") or spec.get("hostUsers") is False:
        err("%s: asks for host IPC or user namespaces" % n)
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    paths = {v["hostPath"]["path"] for v in vols.values() if "hostPath" in v}
    if paths != HOST_PATHS:
        err("%s: host paths %s, want exactly %s" % (n, sorted(paths), sorted(HOST_PATHS)))
    for c in spec["containers"] + spec.get("initContainers", []):
        sc = c.get("securityContext", {})
        if sc.get("privileged"):
            err("%s/%s: privileged" % (n, c["name"]))
        caps = sc.get("capabilities", {})
        if caps.get("drop") != ["ALL"]:
            err("%s/%s: capabilities not dropped to none first" % (n, c["name"]))
        if set(caps.get("add", [])) != CAPS:
            err("%s/%s: capabilities %s, want exactly %s" % (n, c["name"], caps.get("add"), sorted(CAPS)))
        for m in c.get("volumeMounts", []):
            if "subPath" in m or "subPathExpr" in m:
                err("%s/%s: %s is a subPath mount (never updated by the kubelet)" % (n, c["name"], m["name"]))
        probe = " ".join(c.get("readinessProbe", {}).get("exec", {}).get("command", []))
        if "netlabctl status" not in probe:
            err("%s/%s: readiness is not `netlabctl status`" % (n, c["name"]))
        print("%s/%s: caps %s; host paths %s; readiness: %s" % (n, c["name"], ", ".join(caps.get("add", [])),
                                                               ", ".join(sorted(paths)), probe))
    cfg = vols.get("config", {})
    sources = cfg.get("projected", {}).get("sources", []) or ([{"configMap": cfg["configMap"]}] if "configMap" in cfg else [])
    if not sources:
        err("%s: the config volume is not from ConfigMaps" % n)
    # The directory netlabd would see, checked with netlabctl when it is built.
    with tempfile.TemporaryDirectory() as tmp:
        for s in sources:
            cm = cms.get(s["configMap"]["name"])
            if cm is None:
                err("%s: ConfigMap %s is not in deploy/kubernetes" % (n, s["configMap"]["name"]))
                continue
            for it in s["configMap"].get("items", [{"key": k, "path": k} for k in cm["data"]]):
                path = os.path.join(tmp, it["path"])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(cm["data"][it["key"]])
        ctl = os.environ.get("NETLABCTL")
        if ctl and os.access(ctl, os.X_OK):
            r = subprocess.run([ctl, "check", tmp], capture_output=True, text=True)
            print("%s: netlabctl check of its config: exit %d %s" % (n, r.returncode, (r.stdout + r.stderr).strip()))
            if r.returncode != 0:
                err("%s: the ConfigMaps' topology fails netlabctl check" % n)
        else:
            print("netlabctl not built: the ConfigMaps' topology is not checked")
if errors:
    sys.exit(1)
print("PASS: deploy/kubernetes (parsed and checked on paper; no cluster here)")
