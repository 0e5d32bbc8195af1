# shellcheck shell=bash
# shellcheck disable=SC2034  # results are globals read by the sourcing test
# A private Docker daemon for the container tests. Source it (after lib.sh if
# the test uses the lab: its EXIT trap is kept and runs after ours).
#
# The daemon never touches the machine's own Docker or network:
#   - its own data root, exec root, pidfile, config file and socket, all under
#     one directory /tmp/nlcPID-docker that the EXIT trap removes;
#   - --bridge=none --iptables=false --ip6tables=false --ip-forward=false
#     --ip-masq=false --storage-driver=vfs: no docker0, no firewall rules, no
#     sysctl, no kernel modules;
#   - it runs in a network namespace of its own (nlcPID-dockerd) and a private
#     mount namespace, so even what it would do anyway (loopback, netns bind
#     mounts) stays out of the host; there /run, /opt and /etc/docker are
#     empty tmpfs, so its default paths (key.json, /run/docker/plugins,
#     /run/containerd/s, /opt/containerd) are not the machine's;
#   - its containers' cgroups live under /nlcPID-docker (removed by the trap).
# Containers run with --net=none get a fresh network namespace each, found as
# /proc/$(docker inspect -f '{{.State.Pid}}' NAME)/ns/net.
#
#   docker_require              exit 77 with the reason when this cannot work
#   docker_up [NETNS]           start the daemon (in NETNS, an existing lab
#                               namespace, when given: its NICs are then the
#                               daemon's, e.g. a macvlan parent); sets DOCKER_SOCK
#   dk ARGS...                  the docker CLI talking to it
#   docker_image                build the busybox image offline -> DOCKER_IMAGE
#   docker_pid NAME             State.Pid of a container
#   docker_down                 stop everything and remove every file (the trap does it)
#   docker_host_untouched       fails if a default Docker path appeared on the machine

# shellcheck source=tests/kernel/check_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/check_lib.sh"

DOCKER_RUN_ID="nlc$$"
DOCKER_DIR="/tmp/$DOCKER_RUN_ID-docker"
DOCKER_SOCK="$DOCKER_DIR/docker.sock"
DOCKER_NETNS="$DOCKER_RUN_ID-dockerd"
DOCKER_OWN_NETNS=1  # 0: docker_up was given a lab namespace, the lab deletes it
DOCKER_CGROUP_PARENT="/$DOCKER_RUN_ID-docker"
DOCKER_IMAGE="netlab-busybox:$DOCKER_RUN_ID"
DOCKERD_PID=""
# The Debian client that matches the Debian daemon (another `docker` may come
# first in PATH).
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}
[ -x "$DOCKER_CLI" ] || DOCKER_CLI=$(command -v docker || echo docker)

dk() { "$DOCKER_CLI" -H "unix://$DOCKER_SOCK" "$@"; }

_docker_skip() { echo "SKIP: $*"; exit 77; }

docker_require() {
    [ "$(id -u)" = 0 ] || _docker_skip "needs root (dockerd, network namespaces)"
    local tool
    for tool in dockerd containerd runc containerd-shim-runc-v2 busybox unshare nsenter ip; do
        command -v "$tool" >/dev/null || _docker_skip "needs $tool (scripts/setup.sh installs docker.io and busybox-static)"
    done
    [ -x "$DOCKER_CLI" ] || _docker_skip "needs the docker CLI (docker.io)"
    busybox --list >/dev/null 2>&1 || _docker_skip "busybox cannot list its applets"
    has_line file -L "$(command -v busybox)" 2>/dev/null -- dynamic \
        && _docker_skip "busybox is dynamically linked: install busybox-static"
    return 0
}

# Processes whose command line names our private directory: dockerd, its
# containerd, the shims. Matched by our unique path, killed by PID.
_docker_our_pids() {
    local d cmd
    for d in /proc/[0-9]*; do
        cmd=$( { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null) || continue
        case "$cmd" in *"$DOCKER_DIR"*) printf '%s\n' "${d#/proc/}" ;; esac
    done
}

docker_down() {
    local pid i
    if [ -S "$DOCKER_SOCK" ] && [ -n "$DOCKERD_PID" ]; then
        # Containers first, so the shims and their mounts go away cleanly.
        local ids
        ids=$(dk ps -aq 2>/dev/null || true)
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086
            timeout 60 "$DOCKER_CLI" -H "unix://$DOCKER_SOCK" rm -f $ids >/dev/null 2>&1 || true
        fi
    fi
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        kill -TERM "$DOCKERD_PID" 2>/dev/null || true
        for i in $(seq 1 150); do
            kill -0 "$DOCKERD_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$DOCKERD_PID" 2>/dev/null || true
    fi
    DOCKERD_PID=""
    for pid in $(_docker_our_pids); do
        if [ "$pid" != "$$" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    # Container cgroups (cgroup v1: one directory per controller; v2: one).
    local cg
    for cg in /sys/fs/cgroup/*"$DOCKER_CGROUP_PARENT" /sys/fs/cgroup"$DOCKER_CGROUP_PARENT"; do
        [ -d "$cg" ] || continue
        find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    if [ "$DOCKER_OWN_NETNS" = 1 ]; then ip netns del "$DOCKER_NETNS" 2>/dev/null || true; fi
    # Mounts were made in dockerd's private mount namespace; they die with it.
    # Anything that leaked into ours is unmounted before the files go.
    local m
    while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done < <(awk -v d="$DOCKER_DIR" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    if [ -d "$DOCKER_DIR" ]; then
        # vfs layers may contain read-only directories.
        chmod -R u+w "$DOCKER_DIR" 2>/dev/null || true
        rm -rf "$DOCKER_DIR"
    fi
}

# Keep an EXIT trap the sourcing script (lib.sh) installed: ours runs first.
_docker_prev_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
# shellcheck disable=SC2064
trap "set +e; docker_down; ${_docker_prev_trap:-:}" EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Paths outside its roots that dockerd and its containerd write by default
# (trust key, plugin and shim-socket directories, containerd's /opt plugin
# dirs). In dockerd's private mount namespace each gets an empty tmpfs (mounted
# with -n: libmount would create /run/mount on the real /run first), so
# the machine's own are never written.
DOCKER_SHADOWED=(/run /opt /etc/docker)

# Paths under DOCKER_SHADOWED that exist now: docker_host_untouched compares.
_docker_host_paths() {
    local p
    for p in /etc/docker/key.json /opt/containerd /run/docker /run/containerd /run/mount /var/lib/docker /var/lib/containerd; do
        [ -e "$p" ] && printf '%s\n' "$p"
    done
    return 0
}

# Fails when a default Docker path appeared on the machine since docker_up.
docker_host_untouched() {
    local now
    now=$(_docker_host_paths)
    if [ "$now" != "$DOCKER_HOST_PATHS_BEFORE" ]; then
        echo "FAIL: dockerd wrote outside its private directory:" >&2
        diff <(printf '%s\n' "$DOCKER_HOST_PATHS_BEFORE") <(printf '%s\n' "$now") >&2 || true
        return 1
    fi
}

docker_up() {
    mkdir -p "$DOCKER_DIR"/{data,exec}
    echo '{}' >"$DOCKER_DIR/daemon.json"
    DOCKER_HOST_PATHS_BEFORE=$(_docker_host_paths)
    local p shadow=""
    for p in "${DOCKER_SHADOWED[@]}"; do
        [ -d "$p" ] || _docker_skip "$p does not exist: dockerd would create it on the machine"
        shadow+="mount -n -t tmpfs -o mode=755 nlc-shadow $p && "
    done
    if [ $# -gt 0 ]; then
        DOCKER_NETNS=$1
        DOCKER_OWN_NETNS=0
    else
        ip netns add "$DOCKER_NETNS" || _docker_skip "cannot create a network namespace for dockerd"
        ip -n "$DOCKER_NETNS" link set lo up
    fi
    # nsenter --net: the daemon's netns; unshare --mount --propagation slave:
    # it sees the host's mounts (cgroups, /proc) but its own stay private.
    # shellcheck disable=SC2016  # $0/$@ expand in the inner shell
    nsenter --net="/run/netns/$DOCKER_NETNS" \
        unshare --mount --propagation slave \
        sh -c "${shadow}exec \"\$0\" \"\$@\"" \
        dockerd \
        --config-file "$DOCKER_DIR/daemon.json" \
        --data-root "$DOCKER_DIR/data" \
        --exec-root "$DOCKER_DIR/exec" \
        --pidfile "$DOCKER_DIR/dockerd.pid" \
        -H "unix://$DOCKER_SOCK" \
        --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        --userland-proxy=false --storage-driver=vfs \
        --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent="$DOCKER_CGROUP_PARENT" \
        >"$DOCKER_DIR/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    local i
    for i in $(seq 1 300); do
        if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
            echo "dockerd exited; its log:" >&2
            tail -n 30 "$DOCKER_DIR/dockerd.log" >&2
            DOCKERD_PID=""
            _docker_skip "dockerd cannot start on this machine (log above)"
        fi
        if [ -S "$DOCKER_SOCK" ] && dk version >/dev/null 2>&1; then
            export DOCKER_SOCK
            return 0
        fi
        sleep 0.2
    done
    echo "dockerd does not answer on $DOCKER_SOCK; its log:" >&2
    tail -n 30 "$DOCKER_DIR/dockerd.log" >&2
    _docker_skip "dockerd did not come up (log above)"
}

# An image made offline: a static busybox and one symlink per applet, imported.
docker_image() {
    local root="$DOCKER_DIR/rootfs"
    mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root}
    cp "$(command -v busybox)" "$root/bin/busybox"
    local applet
    for applet in $(busybox --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
    tar -C "$root" -c . | dk import -c 'CMD ["/bin/sh"]' - "$DOCKER_IMAGE" >/dev/null \
        || { echo "docker import failed" >&2; return 1; }
    rm -rf "$root"
}

docker_pid() { dk inspect -f '{{.State.Pid}}' "$1"; }
docker_netns_inode() { stat -L -c %i "/proc/$(docker_pid "$1")/ns/net"; }
