// The pure kernel model: the kernel state of the namespaces in play
// (Observed) and what one Step does to it, with the side effects the real
// kernel has. The planner uses remove_link() to know what a link deletion
// takes with it; MemoryKernel (memory_kernel.hpp, the unit tests' Kernel)
// runs whole transactions on it.
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

#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "model/state.hpp"
#include "reconcile/plan/desired.hpp"
#include "reconcile/plan/plan.hpp"

namespace netlab::reconcile {

// The kernel state of every namespace in play.
using Observed = std::map<NsId, model::NetnsState>;

// IPv6 link-local addresses are the kernel's: never added, removed or compared.
inline bool link_local(const model::Prefix& p) { return p.addr.is_link_local_v6(); }

// The addresses of `dev` in `s`, but for IPv6 link-local ones.
std::set<model::Prefix> addresses_of(const model::NetnsState& s, const std::string& dev);

// A desired route as the kernel will report it: IPv6 has no route scopes
// (always universe) and turns metric 0 into 1024 (IP6_RT_PRIO_USER), so the
// comparison with observed routes must too, or nothing would ever converge.
model::RouteState as_reported(const RouteSpec& r, const std::string& dev);

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

}  // namespace netlab::reconcile
