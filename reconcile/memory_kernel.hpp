// An in-memory kernel: Steps applied to NetnsState values with the side
// effects the real kernel has, so plans can be run and rolled back without
// root. The planner uses remove_link() to know what a link deletion takes
// with it; unit tests (and engine tests) run whole transactions on
// MemoryKernel.
//
// Modelled (Linux, IPv4 rules; IPv6 alike where it matters here):
// - an address on an up link brings its prefix route (proto kernel, scope
//   link); setting a link up adds them, setting it down flushes its routes;
// - deleting an address removes its prefix route and routes via that link
//   whose gateway it covered; the last IPv4 address takes all routes via the
//   link with it;
// - an IPv4 address added to a link that has one in the same subnet (same
//   prefix length and network) is a secondary; deleting the primary deletes
//   its secondaries too, unless the link has promote_secondaries, which
//   makes one of them the primary (new links start with it off);
// - a route through a gateway needs an on-link route on that device covering
//   the gateway (ENETUNREACH) and an up device (ENETDOWN);
// - deleting a link takes its addresses and routes, releases its ports, and
//   a veth takes its peer (same namespace, or a container's end by name);
// - a link with macvlan children cannot be enslaved, a bridge port cannot
//   become a macvlan parent (EBUSY).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "reconcile/diff.hpp"
#include "reconcile/kernel.hpp"

namespace netlab::reconcile {

// The kernel refused a step; `code` is the errno it would answer.
class KernelRefusal : public std::runtime_error {
public:
    KernelRefusal(int err, const std::string& what) : std::runtime_error(what), code(err) {}
    int code;
};

// What deleting link `name` in `ns` does to `state` (see above).
void remove_link(Observed& state, const NsId& ns, const std::string& name);

// Apply one step as the kernel would; throws KernelRefusal.
void apply_step(Observed& state, const Step& step);

class MemoryKernel : public Kernel {
public:
    explicit MemoryKernel(Observed initial = {}) : state(std::move(initial)) {}
    model::NetnsState observe(const NsId& ns) override;
    void execute(const Step& step) override;
    void attach_namespace(const NsId& ns, int netns_fd) override;
    std::uint64_t writes() const override { return writes_; }

    Observed state;
    // Refuse the step with this 0-based index (counted over all execute()
    // calls) with EPERM, as NETLAB_FAIL_AT_STEP does on the real kernel.
    std::optional<std::uint64_t> fail_at;

private:
    std::uint64_t writes_ = 0;
};

}  // namespace netlab::reconcile
