// An rtnetlink event socket: link, address and route notifications of one
// network namespace (the one the constructing thread is in), read without
// blocking into plain values (reconcile/drift.hpp). No libnl type leaks out.
#pragma once

#include <memory>

#include "reconcile/drift.hpp"

namespace netlab::reconcile::nl {

class EventSocket {
public:
    // Subscribes to RTNLGRP_LINK, IPV4_IFADDR, IPV6_IFADDR, IPV4_ROUTE and
    // IPV6_ROUTE, then learns the names of the links there are (addresses and
    // routes name their link by ifindex only). Throws NlError.
    EventSocket();
    ~EventSocket();
    EventSocket(const EventSocket&) = delete;
    EventSocket& operator=(const EventSocket&) = delete;

    // Non-blocking; readable when events are pending. Owned by the socket:
    // a boost::asio descriptor on it must release() it before the socket dies.
    int fd() const;

    // Every event pending now, in the kernel's order; never blocks. After
    // ENOBUFS (`lost`) the link names are learnt again. Throws NlError on
    // any other socket error.
    KernelEvents read();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace netlab::reconcile::nl
