// Drift: a kernel change, made by someone else, to what netlab manages.
// reconcile/nl/events.cpp turns rtnetlink notifications into KernelEvents;
// classify() (pure) tells, against the desired state of the namespace, whether
// an event concerns netlab's objects at all and whether it leaves them other
// than desired. netlabd decides what to do about it (daemon/netlabd/drift.*).
#pragma once

#include <string>
#include <vector>

#include "model/state.hpp"
#include "reconcile/desired.hpp"

namespace netlab::reconcile {

// One rtnetlink notification (RTM_NEWLINK/DELLINK, NEWADDR/DELADDR,
// NEWROUTE/DELROUTE), in the values observe() uses. Names are resolved in the
// event's namespace; an ifindex the reader did not know gives "".
struct KernelEvent {
    enum class Op { New, Del };
    enum class Object { Link, Address, Route };
    Op op = Op::New;
    Object object = Object::Link;
    model::LinkState link;        // Object::Link (master by name)
    std::string renamed_from;     // Object::Link: the name it had until this event
    model::AddressState address;  // Object::Address
    model::RouteState route;      // Object::Route (any table and type)
    std::string str() const;      // "Del address br0 198.51.100.10/24", for debug logs
};

// What one read of an event socket returned.
struct KernelEvents {
    std::vector<KernelEvent> events;
    // The socket overflowed (ENOBUFS): events were lost, and only a full
    // observe tells what the kernel looks like now.
    bool lost = false;
    // Other namespaces (NETLINK_LISTEN_ALL_NSID): the nsid, in the reader's
    // namespace, of each one that had a link, address or route event, in the
    // order seen (repeats kept). Not parsed further: their ifindexes are not
    // the reader's.
    std::vector<int> peers;
    // RTM_NEWNSID / RTM_DELNSID of the reader's namespace: an nsid given to
    // another namespace, or taken back because that namespace died.
    std::vector<int> nsids_new, nsids_del;
};

struct DriftVerdict {
    // The event concerns something netlab manages: a link the desired state
    // names or that carries netlab's mark, a managed address of such a link,
    // a route the desired state has or with netlab's protocol. Everything
    // else is foreign and ignored.
    bool owned = false;
    // Non-empty when the event leaves an owned object other than desired,
    // saying how in the admin's words ("br0 set down", "ens33 released from
    // br0", "br0 address 198.51.100.10/24 deleted"). Empty for owned events
    // that agree with the desired state: the kernel's own follow-ups (a
    // carrier or DAD change, the link-local address) and the echo of
    // netlab's writes.
    std::string drift;
};

// `desired` is the namespace's part of compile(topology in force, ledger).
DriftVerdict classify(const DesiredNs& desired, const KernelEvent& event);

// The drift a whole observed state shows, in classify()'s terms: every
// object there as if it had just been added or changed, every desired one
// missing as if it had just been deleted. Empty after a successful reconcile
// (the unit tests hold the engine to that), so a non-empty answer then means
// someone changed something while the reconcile ran.
std::vector<std::string> drift_in(const DesiredNs& desired, const model::NetnsState& observed);

}  // namespace netlab::reconcile
