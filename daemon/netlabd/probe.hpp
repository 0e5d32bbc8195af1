// The commit-confirmed probes: after a change that is pending confirmation,
// is the host still connected? Each default gateway is probed on its egress
// link (ICMP echo from a raw socket bound to the link with SO_BINDTODEVICE,
// and its neighbour entry: ARP/ND answered or not); each `probes:` target
// by a TCP connect, a DNS query or an ICMP echo routed as the kernel routes
// it. They run in rounds on the engine thread, in netlabd's own network
// namespace (the host's: the one the change touched), until the window's
// verdict (reconcile::ProbeWindow), the deadline, or a stop.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "model/net.hpp"
#include "reconcile/apply/commit_confirmed.hpp"

namespace netlab::daemon {

struct GatewayTarget {
    model::IpAddress gateway;
    std::string dev;  // the egress link of the default route
};

struct ProbeRun {
    std::vector<GatewayTarget> gateways;
    reconcile::ProbeSettings settings;
    std::chrono::system_clock::time_point deadline;  // probing ends there ("stopped")
    const std::atomic<bool>* stop = nullptr;           // set: probing ends at once ("stopped")
    // Called after every attempt with the result so far (engine thread).
    std::function<void(const reconcile::ProbeResult&)> progress;
};

// Rounds of one attempt per probe (each at most 1 s, a round every 0.5 s
// at most) until the verdict is "failed" or "passed", or the run stops.
reconcile::ProbeResult run_probes(const ProbeRun& run);

}  // namespace netlab::daemon
