# Boot a throwaway systemd as PID 1 for tests (docs/testing.md, "A throwaway
# systemd"): new pid/mount/net/uts namespaces, an overlay of / on a
# tmpfs, /proc /sys /dev bound in, fresh /run and /tmp, netlab installed into
# the overlay with `cmake --install`, pivot_root, exec systemd. Nothing outside
# the overlay changes; `kill -9` of its PID 1 ends it all.
#
# NEVER boot systemd on the real root: it runs systemd-tmpfiles (empties the
# real /tmp) and boot services that write /etc and /var.
#
#   sd_boot BUILD_DIR     boot; sets SD_PID (PID 1 of the instance, as seen here)
#   sd CMD...             run CMD inside (its namespaces and its root)
#   sd_teardown           kill -9 PID 1 and remove the work directory
#
# Source it; the caller installs `trap sd_teardown EXIT` (plus its own cleanup).
#
# Two additions to the plain recipe keep the host's cgroups untouched:
# booted with the host's /sys/fs/cgroup bound in, systemd remounts that tmpfs
# read-only (a superblock change: read-only for the host too) and creates
# init.scope, system.slice, ... at the root of every host hierarchy. So the
# instance gets a cgroup namespace rooted at a cgroup of its own (removed at
# teardown) and an empty /sys/fs/cgroup, where it mounts cgroup2 itself.

# shellcheck source=tests/kernel/check_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/check_lib.sh"

SD_DIR=
SD_UNSHARE=
SD_PID=
SD_CG=

# This machine's units that have no business in a test instance, or would
# reach outside it through the shared kernel (sysctl, modules, binfmt, swap,
# device nodes in the real /dev, uevents through the real /sys): masked.
SD_MASK=(
    systemd-sysctl.service systemd-modules-load.service systemd-binfmt.service
    proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
    systemd-tmpfiles-setup-dev.service kmod-static-nodes.service
    systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service
    systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-hwdb-update.service
    getty.target getty@tty1.service console-getty.service serial-getty@.service
    systemd-firstboot.service systemd-repart.service systemd-pcrphase.service
    systemd-pcrphase-sysinit.service systemd-random-seed.service systemd-pstore.service
    systemd-timesyncd.service systemd-networkd.service systemd-resolved.service
    systemd-journald-audit.socket systemd-remount-fs.service
    sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount
    sys-fs-fuse-connections.mount dev-hugepages.mount
    docker.service docker.socket containerd.service postgresql.service
    e2scrub_reap.service e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer
    dpkg-db-backup.timer fstrim.timer man-db.timer remote-fs.target
)
SD_MASK_GENERATORS=(
    systemd-gpt-auto-generator systemd-cryptsetup-generator systemd-hibernate-resume-generator
    systemd-integritysetup-generator systemd-veritysetup-generator postgresql-generator
)

sd() { nsenter -t "$SD_PID" -p -m -n -u -r -w "$@"; }

sd_boot() {
    local build=$1
    SD_DIR=$(mktemp -d /tmp/netlab-sd.XXXXXX)
    cat > "$SD_DIR/boot.sh" <<'BOOT'
set -eu
W=$1 BUILD=$2
shift 2
mount --make-rprivate /
mkdir -p "$W/mnt"
mount -t tmpfs -o mode=755 tmpfs "$W/mnt"
mkdir -p "$W/mnt/upper" "$W/mnt/work" "$W/mnt/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$W/mnt/upper,workdir=$W/mnt/work" "$W/mnt/root"
R=$W/mnt/root
mount --rbind /proc "$R/proc"
mount --rbind /sys "$R/sys"
umount -R "$R/sys/fs/cgroup"
# Read-only (this mount only): no uevent reaches the real devices.
mount -o remount,bind,ro "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
# netlab goes into the overlay the way a package would put it.
DESTDIR="$R" cmake --install "$BUILD" --prefix /usr >/dev/null
mkdir -p "$R/etc/systemd/system" "$R/etc/systemd/system-generators"
for u in "$@"; do
    case $u in
    *-generator) ln -sf /dev/null "$R/etc/systemd/system-generators/$u" ;;
    *) ln -sf /dev/null "$R/etc/systemd/system/$u" ;;
    esac
done
mkdir -p "$R/.oldroot"
cd "$R"
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot || true
export container=netlab-test
exec /lib/systemd/systemd --system --unit=multi-user.target systemd.unified_cgroup_hierarchy=1
BOOT
    local cg2 self
    cg2=$(findmnt -n -t cgroup2 -o TARGET | sed -n 1p)
    self=$(awk -F: '$1 == 0 {print $3}' /proc/self/cgroup)
    [ -n "$cg2" ] && [ -n "$self" ] || { echo "no cgroup2 hierarchy"; return 1; }
    SD_CG=$cg2${self%/}/$(basename "$SD_DIR")
    mkdir "$SD_CG"
    # shellcheck disable=SC2016
    bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$SD_CG" \
        unshare --cgroup --pid --fork --mount --mount-proc --net --uts \
        bash "$SD_DIR/boot.sh" "$SD_DIR" "$build" "${SD_MASK[@]}" "${SD_MASK_GENERATORS[@]}" \
        >"$SD_DIR/console.log" 2>&1 &
    SD_UNSHARE=$!
    local child=
    for _ in $(seq 300); do
        child=$(cat "/proc/$SD_UNSHARE/task/$SD_UNSHARE/children" 2>/dev/null | awk '{print $1}')
        if [ -n "$child" ] && [ "$(cat "/proc/$child/comm" 2>/dev/null)" = systemd ]; then
            SD_PID=$child
            break
        fi
        kill -0 "$SD_UNSHARE" 2>/dev/null || { echo "systemd did not boot:"; cat "$SD_DIR/console.log"; return 1; }
        sleep 0.1
    done
    [ -n "$SD_PID" ] || { echo "systemd did not exec:"; cat "$SD_DIR/console.log"; return 1; }
    # Boot ends in "running" or "degraded"; both will do. (Until PID 1 has
    # opened /run/systemd/private, systemctl cannot connect at all.)
    local state=
    for _ in $(seq 900); do
        state=$(sd systemctl is-system-running 2>&1 || true)
        case $state in
        running | degraded)
            echo "systemd booted (PID 1 is $SD_PID here): $state"
            return 0
            ;;
        esac
        kill -0 "$SD_PID" 2>/dev/null || break
        sleep 0.2
    done
    echo "boot did not finish: $state"
    cat "$SD_DIR/console.log"
    return 1
}

sd_teardown() {
    if [ -n "$SD_PID" ]; then
        kill -9 "$SD_PID" 2>/dev/null || true  # PID 1 of the namespace: everything in it dies
    fi
    if [ -n "$SD_UNSHARE" ]; then
        kill -9 "$SD_UNSHARE" 2>/dev/null || true
        wait "$SD_UNSHARE" 2>/dev/null || true
    fi
    # The tmpfs and overlay lived in the instance's mount namespace only.
    [ -n "$SD_DIR" ] && rm -rf "$SD_DIR"
    # Its cgroups: empty once every process in them has been reaped.
    if [ -n "$SD_CG" ] && [ -d "$SD_CG" ]; then
        for _ in $(seq 300); do
            find "$SD_CG" -depth -type d -exec rmdir {} + 2>/dev/null || true  # busy until reaped; set -e must not end the caller here
            [ -d "$SD_CG" ] || break
            sleep 0.1
        done
        [ -d "$SD_CG" ] && echo "warning: could not remove $SD_CG"
    fi
    SD_PID= SD_UNSHARE= SD_DIR= SD_CG=
}
