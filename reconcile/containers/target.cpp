// Container targets resolved to namespaces: parsing `netns:`, `pid:`, `path:`
// and `docker:`, opening the namespace, and the re-check that it is still
// the same container (target.hpp).
#include "reconcile/containers/target.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reconcile/containers/docker.hpp"
#include "reconcile/unique_fd.hpp"

namespace netlab::reconcile {

namespace {

using Result = std::variant<ResolvedNs, std::string>;

std::string errno_text(int e) { return std::strerror(e); }

// Opens `path` and checks it is a network namespace that is not our own.
// `what` names the target in messages ("netns test2", "container test1").
std::variant<UniqueFd, std::string> open_netns(const std::string& path, const std::string& what,
                                               struct stat* st_out = nullptr) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return what + ": " + path + ": " + errno_text(errno);
    // A file under /run/netns whose bind mount is gone, or a path to
    // something else: NS_GET_NSTYPE says what the fd really is.
    int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (type < 0) {
        int e = errno;
        if (e == ENOTTY || e == EINVAL)
            return what + ": " + path + " is not a namespace (a stale file whose mount is gone?)";
        return what + ": " + path + ": " + errno_text(e);
    }
    if (type != CLONE_NEWNET) return what + ": " + path + " is a namespace, but not a network namespace";
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) return what + ": " + path + ": " + errno_text(errno);
    struct stat self{};
    if (::stat("/proc/self/ns/net", &self) != 0) return "cannot stat /proc/self/ns/net: " + errno_text(errno);
    if (st.st_dev == self.st_dev && st.st_ino == self.st_ino)
        return what + ": " + path + " is the host's own network namespace";
    // netlab running in a lab namespace must not reach the machine's own
    // either (a test's PID that is not where the test meant it to be): no
    // container lives in PID 1's network namespace.
    struct stat init{};
    if (::stat("/proc/1/ns/net", &init) == 0 && st.st_dev == init.st_dev && st.st_ino == init.st_ino)
        return what + ": " + path + " is the machine's own network namespace (that of PID 1)";
    if (st_out) *st_out = st;
    return fd;
}

std::string ns_inode(const struct stat& st) { return std::to_string(st.st_ino); }

const std::string& boot_id() {
    static const std::string id = [] {
        std::ifstream in("/proc/sys/kernel/random/boot_id");
        std::string line;
        std::getline(in, line);
        return line;
    }();
    return id;
}

NsIdentity identity_of(const struct stat& st) {
    NsIdentity id;
    id.boot_id = boot_id();
    id.inode = st.st_ino;
    return id;
}

// Field 22 of /proc/PID/stat: the process's start time in clock ticks since
// boot. With the PID it names one process for the lifetime of the machine.
std::optional<unsigned long long> proc_start_time(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    auto paren = line.rfind(')');  // comm may contain spaces and ')'
    if (paren == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(paren + 1));
    std::string field;
    // After ')' come fields 3 (state) ... 22 (starttime).
    for (int i = 3; i <= 22; ++i)
        if (!(rest >> field)) return std::nullopt;
    try {
        return std::stoull(field);
    } catch (...) {
        return std::nullopt;
    }
}

bool valid_netns_name(const std::string& name) {
    if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
    for (char c : name)
        if (c == '/' || c == '\0' || c == '\n') return false;
    return true;
}

Result resolve_pid(int pid, const std::string& what) {
    auto before = proc_start_time(pid);
    if (!before) return what + ": no process " + std::to_string(pid);
    struct stat st{};
    auto opened = open_netns("/proc/" + std::to_string(pid) + "/ns/net", what, &st);
    if (auto* msg = std::get_if<std::string>(&opened)) return *msg;
    // The PID may have been reused between reading its start time and
    // opening its namespace; the same start time after the open rules it out.
    auto after = proc_start_time(pid);
    if (!after || *after != *before) return what + ": process " + std::to_string(pid) + " exited while resolving";
    ResolvedNs r;
    r.identity = "pid " + std::to_string(pid) + " started " + std::to_string(*after) + " netns inode " + ns_inode(st);
    r.id = identity_of(st);
    r.id.pid = pid;
    r.id.pid_start = *after;
    r.fd = std::get<UniqueFd>(opened).release();
    return r;
}

Result resolve_docker(const std::string& name, const ResolverOptions& opts) {
    const std::string what = "container " + name;
    if (!docker::valid_container_ref(name)) return "docker:" + name + ": not a valid container name";
    docker::Client client(opts.docker_socket, opts.docker_timeout);

    // A container restarting between the inspect and the open would give us
    // the namespace of a dying process, or (PID reused) of a stranger. So:
    // inspect, open, inspect again and accept only when the container's id,
    // PID and start are unchanged and the PID still names the same process.
    // A restart in that window is rare; retry a couple of times.
    std::string last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto first = client.inspect(name);
        if (auto* e = std::get_if<docker::Error>(&first)) {
            if (e->kind == docker::Error::Kind::NotFound) return what + " not found";
            return what + ": " + e->message;
        }
        const auto c = std::get<docker::ContainerState>(first);
        if (!c.running || c.pid <= 0)
            return what + " is stopped" + (c.status.empty() || c.status == "exited" ? "" : " (" + c.status + ")");

        auto start_before = proc_start_time(c.pid);
        struct stat st{};
        auto opened = start_before ? open_netns("/proc/" + std::to_string(c.pid) + "/ns/net", what, &st)
                                   : std::variant<UniqueFd, std::string>(what + ": its process " +
                                                                         std::to_string(c.pid) + " is gone");
        auto start_after = proc_start_time(c.pid);
        auto again = client.inspect(name);
        if (auto* e = std::get_if<docker::Error>(&again)) {
            if (e->kind == docker::Error::Kind::NotFound) return what + " not found (removed while resolving)";
            return what + ": " + e->message;
        }
        const auto& c2 = std::get<docker::ContainerState>(again);
        bool same = c2.id == c.id && c2.pid == c.pid && c2.started_at == c.started_at && c2.running &&
                    start_before && start_after && *start_before == *start_after;
        if (!same) {
            last_error = what + " restarted while resolving";
            if (!c2.running) return what + " is stopped";
            continue;
        }
        if (auto* msg = std::get_if<std::string>(&opened)) return *msg;
        ResolvedNs r;
        r.identity = "docker " + name + " id " + c.id.substr(0, 12) + " pid " + std::to_string(c.pid) +
                     " started " + c.started_at + " netns inode " + ns_inode(st);
        r.id = identity_of(st);
        r.id.container_id = c.id;
        r.id.started_at = c.started_at;
        r.id.pid = c.pid;
        r.id.pid_start = *start_after;
        r.fd = std::get<UniqueFd>(opened).release();
        return r;
    }
    return last_error;
}

}  // namespace

std::string identity_mismatch(const NsIdentity& then, const NsIdentity& now) {
    if (!then.boot_id.empty() && !now.boot_id.empty() && then.boot_id != now.boot_id)
        return "the machine has restarted since";
    if (then.container_id != now.container_id)
        return "the container was replaced (id " + then.container_id.substr(0, 12) + " -> " +
               now.container_id.substr(0, 12) + ")";
    if (then.pid != now.pid || then.pid_start != now.pid_start || then.started_at != now.started_at)
        return "restarted (pid " + std::to_string(then.pid) + " started " + std::to_string(then.pid_start) +
               " -> pid " + std::to_string(now.pid) + " started " + std::to_string(now.pid_start) + ")";
    if (then.cookie && now.cookie && then.cookie != now.cookie)
        return "a new namespace (netns cookie " + std::to_string(then.cookie) + " -> " + std::to_string(now.cookie) +
               ")";
    if (then.inode != now.inode)
        return "a new namespace (inode " + std::to_string(then.inode) + " -> " + std::to_string(now.inode) + ")";
    return {};
}

std::string docker_socket_from_env() {
    const char* v = std::getenv("NETLAB_DOCKER_SOCKET");
    return v && *v ? v : kDefaultDockerSocket;
}

std::variant<ResolvedNs, std::string> resolve_netns(const model::NetnsTarget& target, const ResolverOptions& opts) {
    using Kind = model::NetnsTarget::Kind;
    switch (target.kind) {
        case Kind::Netns: {
            if (!valid_netns_name(target.value))
                return "netns:" + target.value + ": not a valid namespace name (no '/', not '.' or '..')";
            const std::string what = "netns " + target.value;
            struct stat st{};
            auto opened = open_netns(opts.netns_dir + "/" + target.value, what, &st);
            if (auto* msg = std::get_if<std::string>(&opened)) return *msg;
            ResolvedNs r;
            r.identity = "netns " + target.value + " inode " + ns_inode(st);
            r.id = identity_of(st);
            r.fd = std::get<UniqueFd>(opened).release();
            return r;
        }
        case Kind::Pid: {
            int pid = 0;
            try {
                std::size_t used = 0;
                auto v = std::stoll(target.value, &used);
                if (used != target.value.size() || v <= 0 || v > 0x3fffffff) throw std::out_of_range("pid");
                pid = static_cast<int>(v);
            } catch (...) {
                return "pid:" + target.value + ": not a process id";
            }
            return resolve_pid(pid, "pid " + target.value);
        }
        case Kind::Path: {
            if (target.value.empty() || target.value.front() != '/')
                return "path:" + target.value + ": not an absolute path";
            const std::string what = "path " + target.value;
            struct stat st{};
            auto opened = open_netns(target.value, what, &st);
            if (auto* msg = std::get_if<std::string>(&opened)) return *msg;
            ResolvedNs r;
            r.identity = "path " + target.value + " inode " + ns_inode(st);
            r.id = identity_of(st);
            r.fd = std::get<UniqueFd>(opened).release();
            return r;
        }
        case Kind::Docker: return resolve_docker(target.value, opts);
    }
    return "unknown target kind";
}

}  // namespace netlab::reconcile
