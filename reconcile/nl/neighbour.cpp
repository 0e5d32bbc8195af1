// Neighbour-table requests over raw netlink for the commit-confirmed probe
// (neighbour.hpp).
#include "reconcile/nl/neighbour.hpp"

#include <linux/neighbour.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>

#include <netlink/route/neighbour.h>

#include "reconcile/nl/error.hpp"
#include "reconcile/nl/libnl.hpp"

namespace netlab::reconcile::nl {

namespace {

struct NeighDeleter { void operator()(rtnl_neigh* p) const { rtnl_neigh_put(p); } };
using NeighPtr = std::unique_ptr<rtnl_neigh, NeighDeleter>;

std::string state_name(int s) {
    if (s & NUD_PERMANENT) return "PERMANENT";
    if (s & NUD_NOARP) return "NOARP";
    if (s & NUD_REACHABLE) return "REACHABLE";
    if (s & NUD_STALE) return "STALE";
    if (s & NUD_DELAY) return "DELAY";
    if (s & NUD_PROBE) return "PROBE";
    if (s & NUD_INCOMPLETE) return "INCOMPLETE";
    if (s & NUD_FAILED) return "FAILED";
    return "NONE";
}

}  // namespace

std::optional<NeighbourEntry> lookup_neighbour(const std::string& dev, const model::IpAddress& addr) {
    const unsigned ifindex = ::if_nametoindex(dev.c_str());
    if (ifindex == 0) throw NlError(errno ? errno : ENODEV, dev, "look up neighbour " + addr.str());
    SockPtr sock(nl_socket_alloc());
    if (!sock) throw NlError(ENOMEM, dev, "neighbour table: allocate socket");
    if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
        throw NlError(EIO, dev, "neighbour table: connect", nl_geterror(err));
    nl_cache* raw = nullptr;
    if (int err = rtnl_neigh_alloc_cache(sock.get(), &raw); err < 0)
        throw NlError(EIO, dev, "neighbour table: dump", nl_geterror(err));
    CachePtr cache(raw);
    NlAddrPtr dst(nl_addr_build(addr.is_v4() ? AF_INET : AF_INET6, addr.bytes.data(), addr.size()));
    if (!dst) throw NlError(ENOMEM, dev, "neighbour table: address");
    // rtnl_neigh_get hands out a reference of its own.
    NeighPtr n(rtnl_neigh_get(cache.get(), static_cast<int>(ifindex), dst.get()));
    if (!n) return std::nullopt;
    const int s = rtnl_neigh_get_state(n.get());
    NeighbourEntry e;
    e.state = state_name(s);
    e.answered = (s & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)) != 0;
    return e;
}

}  // namespace netlab::reconcile::nl
