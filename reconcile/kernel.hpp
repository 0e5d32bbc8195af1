// The seam between the pure engine and netlink. reconcile/nl implements it
// with libnl; unit tests implement it in memory.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "model/state.hpp"
#include "reconcile/desired.hpp"
#include "reconcile/plan.hpp"

namespace netlab::reconcile {

class Kernel {
public:
    virtual ~Kernel() = default;
    // Dump links, addresses and routes (main table) of a namespace.
    virtual model::NetnsState observe(const NsId& ns) = 0;
    // Send the one netlink request a step stands for; throws NlError on refusal.
    virtual void execute(const Step& step) = 0;
    // Make a namespace other than the current one reachable as `ns`; the
    // kernel object takes ownership of `netns_fd` (an open /proc/PID/ns/net,
    // /run/netns/NAME, ...).
    virtual void attach_namespace(const NsId& ns, int netns_fd) = 0;
    // Netlink write requests sent so far (idempotence is measured with it).
    virtual std::uint64_t writes() const = 0;
};

}  // namespace netlab::reconcile
