// Where a container's network namespace is: netns:NAME, pid:N, path:P,
// docker:NAME (Docker Engine API). Resolution opens the namespace and then
// re-checks that it is still the same container, so a restart in between
// cannot send the change to the wrong place.
#pragma once

#include <chrono>
#include <string>
#include <variant>

#include "model/topology.hpp"

namespace netlab::reconcile {

struct ResolvedNs {
    int fd = -1;            // open netns fd; the caller owns it
    std::string identity;   // e.g. "pid 1234 started 5678" or "netns test1 inode 4026532"
};

struct ResolverOptions {
    std::string docker_socket = "/var/run/docker.sock";
    std::string netns_dir = "/run/netns";
    // Bounds each Docker Engine API request (connect + answer).
    std::chrono::milliseconds docker_timeout = std::chrono::seconds(5);
};

// Either the open namespace or a message saying why not (missing, stopped,
// the host's own namespace, ...). Never throws for an absent container.
std::variant<ResolvedNs, std::string> resolve_netns(const model::NetnsTarget& target,
                                                    const ResolverOptions& opts = {});

}  // namespace netlab::reconcile
