// The neighbour table (ARP / IPv6 ND) over netlink, for netlabd's
// commit-confirmed probe: did the gateway answer address resolution? Free of
// libnl headers.
#pragma once

#include <optional>
#include <string>

#include "model/net.hpp"

namespace netlab::reconcile::nl {

struct NeighbourEntry {
    std::string state;      // NUD state as ip-neigh(8) prints it: REACHABLE, STALE, INCOMPLETE, FAILED, ...
    bool answered = false;  // resolution succeeded: REACHABLE, STALE, DELAY, PROBE, PERMANENT, NOARP
};

// The entry for `addr` on link `dev` in the network namespace of the calling
// thread; nullopt when the table has none. Throws NlError when netlink fails.
std::optional<NeighbourEntry> lookup_neighbour(const std::string& dev, const model::IpAddress& addr);

}  // namespace netlab::reconcile::nl
