// RAII owners for libnl objects. Included only by reconcile/nl/*.cpp.
//
// Every owner is a unique_ptr whose deleter is the matching *_put/*_free.
// libnl getters that hand out a borrowed pointer (rtnl_route_get_dst,
// rtnl_addr_get_local, ...) are wrapped with hold(), which takes a reference
// first, so nothing outlives the object or cache it came from by accident.
#pragma once

#include <memory>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

namespace netlab::reconcile::nl {

struct SockDeleter { void operator()(nl_sock* p) const { nl_socket_free(p); } };
struct LinkDeleter { void operator()(rtnl_link* p) const { rtnl_link_put(p); } };
struct AddrDeleter { void operator()(rtnl_addr* p) const { rtnl_addr_put(p); } };
struct RouteDeleter { void operator()(rtnl_route* p) const { rtnl_route_put(p); } };
struct CacheDeleter { void operator()(nl_cache* p) const { nl_cache_free(p); } };
struct NlAddrDeleter { void operator()(nl_addr* p) const { nl_addr_put(p); } };
struct MsgDeleter { void operator()(nl_msg* p) const { nlmsg_free(p); } };
struct CbDeleter { void operator()(nl_cb* p) const { nl_cb_put(p); } };

using SockPtr = std::unique_ptr<nl_sock, SockDeleter>;
using LinkPtr = std::unique_ptr<rtnl_link, LinkDeleter>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrDeleter>;
using RoutePtr = std::unique_ptr<rtnl_route, RouteDeleter>;
using CachePtr = std::unique_ptr<nl_cache, CacheDeleter>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrDeleter>;
using MsgPtr = std::unique_ptr<nl_msg, MsgDeleter>;
using CbPtr = std::unique_ptr<nl_cb, CbDeleter>;

// Take a reference on a borrowed pointer and own it.
inline NlAddrPtr hold(nl_addr* a) { return NlAddrPtr(a ? nl_addr_get(a) : nullptr); }
inline LinkPtr hold(rtnl_link* l) {
    if (l) nl_object_get(OBJ_CAST(l));
    return LinkPtr(l);
}

}  // namespace netlab::reconcile::nl
