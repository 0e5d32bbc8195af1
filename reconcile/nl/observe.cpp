// observe(): links (raw RTM_NEWLINK dump, see socket.cpp), addresses and
// routes (libnl caches) of one namespace, as model values.
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <unordered_map>

#include "reconcile/nl/error.hpp"
#include "reconcile/nl/impl.hpp"

namespace netlab::reconcile::nl {

namespace {

std::optional<model::IpAddress> to_ip(nl_addr* a) {
    if (!a) return std::nullopt;
    model::IpAddress ip;
    int fam = nl_addr_get_family(a);
    unsigned len = nl_addr_get_len(a);
    if (fam == AF_INET && len == 4)
        ip.family = 4;
    else if (fam == AF_INET6 && len == 16)
        ip.family = 6;
    else
        return std::nullopt;
    std::memcpy(ip.bytes.data(), nl_addr_get_binary_addr(a), len);
    return ip;
}

}  // namespace

model::NetnsState NlKernel::Impl::observe(const NsId& id) {
    Netns& ns = get(id);
    const std::string who = id.empty() ? "host" : id;
    model::NetnsState out;

    std::unordered_map<int, std::string> names;
    std::vector<RawLink> raw = dump_links(ns);
    for (const auto& l : raw) names[l.state.ifindex] = l.state.name;
    for (auto& l : raw) {
        if (l.master_index) {
            auto it = names.find(l.master_index);
            if (it != names.end()) l.state.master = it->second;
        }
        // macvlan parent / veth peer, named only when it lives in this namespace
        if (l.link_index && !l.link_elsewhere && (l.state.kind == "macvlan" || l.state.kind == "veth")) {
            auto it = names.find(l.link_index);
            if (it != names.end()) l.state.parent = it->second;
        }
        out.links.emplace(l.state.name, std::move(l.state));
    }

    nl_cache* raw_cache = nullptr;
    int err = rtnl_addr_alloc_cache(ns.sock.get(), &raw_cache);
    if (err < 0) throw_libnl(err, who, "dump addresses");
    CachePtr addrs(raw_cache);
    for (nl_object* o = nl_cache_get_first(addrs.get()); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        auto it = names.find(rtnl_addr_get_ifindex(a));
        if (it == names.end()) continue;
        NlAddrPtr local = hold(rtnl_addr_get_local(a));
        auto ip = to_ip(local.get());
        if (!ip) continue;
        out.addresses.insert(model::AddressState{
            it->second, model::Prefix{*ip, static_cast<std::uint8_t>(rtnl_addr_get_prefixlen(a))},
            (rtnl_addr_get_flags(a) & IFA_F_SECONDARY) != 0});
    }

    raw_cache = nullptr;
    err = rtnl_route_alloc_cache(ns.sock.get(), AF_UNSPEC, 0, &raw_cache);
    if (err < 0) throw_libnl(err, who, "dump routes");
    CachePtr routes(raw_cache);
    for (nl_object* o = nl_cache_get_first(routes.get()); o; o = nl_cache_get_next(o)) {
        auto* r = reinterpret_cast<rtnl_route*>(o);
        if (rtnl_route_get_table(r) != model::kMainTable || rtnl_route_get_type(r) != RTN_UNICAST) continue;
        int fam = rtnl_route_get_family(r);
        if (fam != AF_INET && fam != AF_INET6) continue;
        model::RouteState rs;
        rs.table = rtnl_route_get_table(r);
        rs.type = rtnl_route_get_type(r);
        rs.protocol = rtnl_route_get_protocol(r);
        rs.scope = rtnl_route_get_scope(r);
        rs.metric = rtnl_route_get_priority(r);
        NlAddrPtr dst = hold(rtnl_route_get_dst(r));
        std::uint8_t family = fam == AF_INET ? 4 : 6;
        if (auto ip = to_ip(dst.get()))
            rs.dst = model::Prefix{*ip, static_cast<std::uint8_t>(nl_addr_get_prefixlen(dst.get()))};
        else
            rs.dst = model::Prefix::default_route(family);
        if (rtnl_route_get_nnexthops(r) > 0) {
            rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);  // owned by the route; multipath: first hop
            NlAddrPtr gw = hold(rtnl_route_nh_get_gateway(nh));
            rs.via = to_ip(gw.get());
            auto it = names.find(rtnl_route_nh_get_ifindex(nh));
            if (it != names.end()) rs.dev = it->second;
        }
        out.routes.insert(std::move(rs));
    }
    return out;
}

}  // namespace netlab::reconcile::nl
