// The commit-confirmed probe: after a change that is pending confirmation,
// does the host's default gateway answer on the new egress link? For each
// gateway: ICMP echo requests from a raw socket bound to the egress link
// (SO_BINDTODEVICE; netlabd needs CAP_NET_RAW), and the gateway's neighbour
// entry (ARP / ND answered or not), retried for a few seconds. Runs on the
// engine thread, in netlabd's own network namespace (the host's).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "model/net.hpp"
#include "reconcile/engine.hpp"

namespace netlab::daemon {

struct ProbeTarget {
    model::IpAddress gateway;
    std::string dev;  // the egress link of the default route
};

// ok when every gateway answered the echo and its neighbour entry resolved
// within `budget`; the text says, per gateway, what was seen.
reconcile::ProbeResult probe_gateways(const std::vector<ProbeTarget>& targets, std::chrono::milliseconds budget);

}  // namespace netlab::daemon
