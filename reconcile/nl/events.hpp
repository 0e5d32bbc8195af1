// An rtnetlink event socket: link, address and route notifications of one
// network namespace (the one the constructing thread is in), read without
// blocking into plain values (reconcile/watch/drift.hpp). No libnl type leaks out.
//
// With NETLINK_LISTEN_ALL_NSID it also hears the link, address and route
// events of every other namespace that has an nsid in this one (the kernel
// tags each with that nsid): how netlabd sees changes inside containers
// without a socket in each (a socket would keep the namespace alive; an
// nsid does not). RTNLGRP_NSID tells when such a namespace dies.
#pragma once

#include <memory>
#include <string>

#include "reconcile/watch/drift.hpp"

namespace netlab::reconcile::nl {

class EventSocket {
public:
    // Subscribes to RTNLGRP_LINK, IPV4_IFADDR, IPV6_IFADDR, IPV4_ROUTE,
    // IPV6_ROUTE and NSID, asks for every peer's events (listen_all_nsid();
    // without it, only this namespace's), then learns the names of the links there are (addresses and
    // routes name their link by ifindex only). Throws NlError.
    EventSocket();
    ~EventSocket();
    EventSocket(const EventSocket&) = delete;
    EventSocket& operator=(const EventSocket&) = delete;

    // Non-blocking; readable when events are pending. Owned by the socket:
    // a boost::asio descriptor on it must release() it before the socket dies.
    int fd() const;

    // Peer namespaces' events are heard (NETLINK_LISTEN_ALL_NSID was
    // accepted); false on a kernel or a capability set that refuses it, and
    // the reason in listen_all_nsid_error().
    bool listen_all_nsid() const;
    const std::string& listen_all_nsid_error() const;

    // Every event pending now, in the kernel's order; never blocks. Another
    // namespace's events name links as they are called there: learnt from
    // its link events, or, for one that came before its nsid, asked of the
    // kernel once per read (RTM_GETLINK with IFLA_TARGET_NETNSID); a link
    // still unknown gives KernelEvent::unnamed. After ENOBUFS (`lost`) the
    // link names are learnt again. Throws NlError on any other socket error.
    KernelEvents read();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace netlab::reconcile::nl
