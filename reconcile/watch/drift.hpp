// Drift: a kernel change, made by someone else, to what netlab manages.
// reconcile/nl/events.cpp turns rtnetlink notifications into KernelEvents;
// classify() (pure) tells, against the desired state of the namespace, whether
// an event concerns netlab's objects at all and whether it leaves them other
// than desired. netlabd decides what to do about it (daemon/netlabd/drift.*).
#pragma once

#include <string>
#include <vector>

#include "model/state.hpp"
#include "reconcile/plan/desired.hpp"

namespace netlab::reconcile {

// One rtnetlink notification (RTM_NEWLINK/DELLINK, NEWADDR/DELADDR,
// NEWROUTE/DELROUTE), in the values observe() uses. Names are resolved in the
// event's namespace; an ifindex the reader did not know gives "" and
// `unnamed`.
struct KernelEvent {
    enum class Op { New, Del };
    enum class Object { Link, Address, Route };
    Op op = Op::New;
    Object object = Object::Link;
    model::LinkState link;        // Object::Link (master by name)
    std::string renamed_from;     // Object::Link: the name it had until this event
    model::AddressState address;  // Object::Address
    model::RouteState route;      // Object::Route (any table and type)
    // The address's or route's link (or the link's master) had an ifindex
    // the reader could not name: the event may be about one of netlab's.
    bool unnamed = false;
    std::string str() const;      // "Del address br0 198.51.100.10/24", for debug logs
};

// An event of another namespace (NETLINK_LISTEN_ALL_NSID), tagged with the
// nsid that namespace has in the reader's; its names are resolved in it.
struct PeerEvent {
    int nsid = -1;
    KernelEvent event;
};

// What one read of an event socket returned.
struct KernelEvents {
    std::vector<KernelEvent> events;  // the reader's own namespace
    // The socket overflowed (ENOBUFS): events were lost, and only a full
    // observe tells what the kernel looks like now.
    bool lost = false;
    // Other namespaces' link, address and route events, in the order seen.
    std::vector<PeerEvent> peers;
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

// Whether an event leaves something netlab manages in a namespace other than
// `desired` wants it, in the admin's words: classify()'s drift, or, for an
// event whose link could not be named (KernelEvent::unnamed), what it was,
// since it may be about one of netlab's. "" when it does not: a foreign
// object's event, the kernel's follow-ups (IPv6 DAD ending, a link-local
// address and its routes, carrier, operstate) and the echo of netlab's own
// writes. What marks a namespace dirty for the fast reload
// (reconcile/watch/dirty.hpp), in the host and in containers alike.
std::string drift_of(const DesiredNs& desired, const KernelEvent& event);

// The drift a whole observed state shows, in classify()'s terms: every
// object there as if it had just been added or changed, every desired one
// missing as if it had just been deleted. Empty after a successful reconcile
// (the unit tests hold the engine to that), so a non-empty answer then means
// someone changed something while the reconcile ran.
std::vector<std::string> drift_in(const DesiredNs& desired, const model::NetnsState& observed);

// A drift's words with where it happened, for the log and `status`: as it
// is for the host (""), "container c1: eth1 set down" inside a container.
std::string drift_where(const NsId& ns, const std::string& drift);

}  // namespace netlab::reconcile
