// Where a container's network namespace is: netns:NAME, pid:N, path:P,
// docker:NAME (Docker Engine API). Resolution opens the namespace and then
// re-checks that it is still the same container, so a restart in between
// cannot send the change to the wrong place.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>

#include "model/topology.hpp"

namespace netlab::reconcile {

// Which namespace a target led to, as far as it can be told apart from the
// ones that come after it. The journal records it, so crash recovery restores
// a container's snapshot only into the namespace it was taken from: a
// container restarted meanwhile has a new, empty namespace.
//
// The nsfs inode alone does not tell namespaces apart over time (the kernel
// gives a freed namespace's number to the next one); what does: the boot,
// the container's id and its process (PID + start time, for docker: and
// pid:), and the namespace's cookie (SO_NETNS_COOKIE, never reused during a
// boot), which the kernel object reads from its socket in the namespace.
struct NsIdentity {
    std::string boot_id;              // /proc/sys/kernel/random/boot_id
    std::string container_id;         // docker: the container's Id
    std::string started_at;           // docker: State.StartedAt
    int pid = 0;                      // docker:, pid:
    unsigned long long pid_start = 0; // the PID's start time, clock ticks since boot
    unsigned long long inode = 0;     // nsfs inode of the namespace
    std::uint64_t cookie = 0;         // netns cookie; 0 = unknown

    bool operator==(const NsIdentity&) const = default;
};

// Why `now` is not the namespace `then` named ("" when nothing says so).
std::string identity_mismatch(const NsIdentity& then, const NsIdentity& now);

struct ResolvedNs {
    int fd = -1;            // open netns fd; the caller owns it
    std::string identity;   // e.g. "pid 1234 started 5678" or "netns test1 inode 4026532"
    NsIdentity id;
};

// Where the Docker Engine API listens unless told otherwise.
inline constexpr const char* kDefaultDockerSocket = "/var/run/docker.sock";

// The socket netlabctl and netlabd use when no --docker-socket is given:
// $NETLAB_DOCKER_SOCKET if set and not empty, else kDefaultDockerSocket.
std::string docker_socket_from_env();

struct ResolverOptions {
    std::string docker_socket = kDefaultDockerSocket;
    std::string netns_dir = "/run/netns";
    // Bounds each Docker Engine API request (connect + answer).
    std::chrono::milliseconds docker_timeout = std::chrono::seconds(5);
};

// Either the open namespace or a message saying why not (missing, stopped,
// the host's own namespace, ...). Never throws for an absent container.
std::variant<ResolvedNs, std::string> resolve_netns(const model::NetnsTarget& target,
                                                    const ResolverOptions& opts = {});

}  // namespace netlab::reconcile
