// The seam between the pure engine and netlink. reconcile/nl implements it
// with libnl; unit tests implement it in memory.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/state.hpp"
#include "reconcile/plan/desired.hpp"
#include "reconcile/plan/plan.hpp"

namespace netlab::reconcile {

// An address to announce on its link (Kernel::announce): ifindex and MAC as
// the verified state after the apply shows them in `ns`.
struct Announcement {
    NsId ns;
    std::string dev;
    int ifindex = 0;
    model::MacAddress mac;
    model::IpAddress addr;
    auto operator<=>(const Announcement&) const = default;
};

class Kernel {
public:
    virtual ~Kernel() = default;
    // Dump links, addresses and routes (main table) of a namespace.
    virtual model::NetnsState observe(const NsId& ns) = 0;
    // Send the one netlink request a step stands for; throws NlError on refusal.
    virtual void execute(const Step& step) = 0;
    // The first step of a run that failed, and why (what execute() threw).
    struct RunFailure {
        std::size_t step;
        std::exception_ptr error;
    };
    // execute() of every step in order, `before(i)` called just before step i
    // is handed over; stops at the first failure. A kernel may send the
    // requests of several steps at once (NlKernel does, one sendmsg() per
    // namespace): after a refusal, requests of later steps may have been
    // carried out too, which the engine's snapshot-based rollback undoes.
    virtual std::optional<RunFailure> execute_steps(const std::vector<Step>& steps,
                                                    const std::function<void(std::size_t)>& before) {
        for (std::size_t i = 0; i < steps.size(); ++i) {
            before(i);
            try {
                execute(steps[i]);
            } catch (...) {
                return RunFailure{i, std::current_exception()};
            }
        }
        return std::nullopt;
    }
    // Make a namespace other than the current one reachable as `ns`; the
    // kernel object takes ownership of `netns_fd` (an open /proc/PID/ns/net,
    // /run/netns/NAME, ...).
    virtual void attach_namespace(const NsId& ns, int netns_fd) = 0;
    // attach_namespace for several at once; a namespace that cannot be
    // attached is left out and named in the answer with the reason (its fd
    // is closed). NlKernel opens all their sockets from one short-lived thread.
    virtual std::map<NsId, std::string> attach_namespaces(const std::vector<std::pair<NsId, int>>& fds) {
        std::map<NsId, std::string> failed;
        for (const auto& [ns, fd] : fds) {
            try {
                attach_namespace(ns, fd);
            } catch (const std::exception& e) {
                failed[ns] = e.what();
            }
        }
        return failed;
    }
    // Let go of a namespace attach_namespace made reachable: close its fd
    // and socket; nothing in it changes. The engine detaches every container
    // namespace at the end of each run, so a long-lived kernel object (the
    // daemon's) never pins a stopped container's namespace alive, and a
    // restarted container is never confused with its old namespace. A kernel
    // that holds nothing per namespace has nothing to do.
    virtual void detach_namespace(const NsId& /*ns*/) {}
    // The attached namespace's cookie (SO_NETNS_COOKIE: unique per boot);
    // 0 when unknown. Part of the namespace's identity in the journal.
    virtual std::uint64_t namespace_cookie(const NsId& /*ns*/) const { return 0; }
    // The nsid (in the kernel object's own namespace) of each namespace it
    // attached so far, as of its last attach: the tag the events of that
    // namespace carry on an event socket that listens to all nsids
    // (reconcile/nl/events.hpp). Empty when the kernel has no such thing.
    virtual std::map<NsId, int> peer_nsids() const { return {}; }
    // Tell each address's link-layer neighbours where it lives now
    // (gratuitous ARP, unsolicited neighbour advertisement), best effort:
    // a send that fails is reported, not thrown; only a resource the
    // process lacks (a thread, memory) throws. Per announcement, in the
    // order given: empty when it went out, else why not (the address still
    // tentative, the error of the send), for the caller to report.
    virtual std::vector<std::string> announce(const std::vector<Announcement>& what) {
        return std::vector<std::string>(what.size(), "this kernel has no link layer to send on");
    }
    // Netlink write requests sent so far (idempotence is measured with it).
    virtual std::uint64_t writes() const = 0;
};

}  // namespace netlab::reconcile
