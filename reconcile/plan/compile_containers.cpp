// Containers: networks' host shims, each container's macvlan children and
// veth pairs (host ends in ""), their addresses and routes.
#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "reconcile/plan/compile.hpp"

namespace netlab::reconcile {

namespace {

// FNV-1a: stable across builds and platforms (std::hash is not), because
// names and MACs derived from it must not change when netlab is rebuilt.
std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

std::string hex(std::uint64_t v, int digits) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%0*llx", digits, static_cast<unsigned long long>(v & ((1ull << (digits * 4)) - 1)));
    return buf;
}

std::string alnum(const std::string& s) {
    std::string out;
    for (char c : s)
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) out += c;
    return out;
}

constexpr std::size_t kIfNameMax = 15;  // IFNAMSIZ - 1

}  // namespace

std::string shim_name(const std::string& network) {
    std::string n = "nl-" + network;
    if (n.size() <= kIfNameMax) return n;
    return "nl-" + network.substr(0, 6) + "-" + hex(fnv1a(network), 5);
}

// Put before the routes via the gateway (the kernel wants the gateway
// reachable when they are added), removed after them.
RouteSpec host_route(const model::IpAddress& gw, const std::string& dev) {
    RouteSpec r;
    r.dst = model::Prefix{gw, static_cast<std::uint8_t>(gw.is_v4() ? 32 : 128)};
    r.dev = dev;
    r.scope = 253;
    return r;
}

namespace {

RouteSpec default_via(const model::IpAddress& gw, const std::string& dev) {
    RouteSpec r;
    r.dst = model::Prefix::default_route(gw.family);
    r.via = gw;
    r.dev = dev;
    return r;
}

// One route per (table, dst, metric): a later one with the same key wins.
void put_route(DesiredNs& ns, const RouteSpec& r) {
    for (auto& o : ns.routes)
        if (o.table == r.table && o.dst == r.dst && o.metric == r.metric) {
            o = r;
            return;
        }
    ns.routes.push_back(r);
}

}  // namespace

model::MacAddress derived_mac(const std::string& container, const std::string& ifname) {
    const std::uint64_t h = fnv1a("mac:" + container + "/" + ifname);
    model::MacAddress m;
    m.bytes[0] = 0x02;
    for (int i = 1; i < 6; ++i) m.bytes[i] = static_cast<std::uint8_t>(h >> (8 * (i - 1)));
    return m;
}

std::string veth_host_name(const std::string& container, const std::string& ifname) {
    std::string name = "nl" + hex(fnv1a(container + "/" + ifname), 8) + alnum(container);
    return name.substr(0, kIfNameMax);
}

void compile_containers(const model::Topology& topo, Desired& out) {
    DesiredNs& host = out.namespaces[""];

    for (const auto& [cname, c] : topo.containers) {
        const NsId ns = container_ns(cname);
        DesiredNs& cns = out.namespaces[ns];
        for (const auto& [ifname, ci] : c.interfaces) {
            LinkSpec l;
            l.name = ifname;
            l.up = true;
            l.mtu = ci.mtu;
            l.mac = ci.mac ? *ci.mac : derived_mac(cname, ifname);
            l.addresses = std::set<model::Prefix>(ci.addresses.begin(), ci.addresses.end());
            l.address_attrs = broadcast_wants(ci.broadcasts);
            if (ci.network) {
                auto net = topo.networks.find(*ci.network);
                if (net == topo.networks.end()) continue;  // the validator reports it
                // Published to Docker: Docker connects a docker: target
                // itself (docker_network.cpp), netlab's macvlan is not made.
                if (net->second.docker && c.netns.kind == model::NetnsTarget::Kind::Docker) continue;
                l.kind = LinkKind::Macvlan;
                l.parent = net->second.parent;
                if (!l.mtu) l.mtu_from = l.parent;
                l.parent_ns = "";
                l.mode = net->second.mode;
                if (ci.default_route)
                    for (const auto& gw : net->second.gateways) put_route(cns, default_via(gw, ifname));
            } else if (ci.bridge) {
                l.kind = LinkKind::VethPeer;
                LinkSpec h;
                h.name = veth_host_name(cname, ifname);
                h.kind = LinkKind::Veth;
                h.peer_name = ifname;
                h.peer_ns = ns;
                h.master = *ci.bridge;
                h.up = true;
                h.mtu = ci.mtu;  // both ends alike, or the bridge drops what the container sends
                if (!ci.mtu) h.mtu_from = l.mtu_from = *ci.bridge;
                h.addresses.emplace();
                host.links[h.name] = h;
            } else {
                continue;
            }
            // pipework's @GW: the container's default route goes through here.
            if (ci.gateway && ci.gateway_on_link) put_route(cns, host_route(*ci.gateway, ifname));
            if (ci.gateway) put_route(cns, default_via(*ci.gateway, ifname));
            for (const auto& r : ci.routes) {
                if (r.on_link && r.via) put_route(cns, host_route(*r.via, ifname));
                RouteSpec s;
                s.dst = r.to;
                s.via = r.via;
                s.dev = r.dev.empty() ? ifname : r.dev;
                s.metric = r.metric.value_or(0);
                if (!r.via) s.scope = 253;
                put_route(cns, s);
            }
            cns.links[ifname] = l;
        }
    }

    for (const auto& [nname, n] : topo.networks) {
        if (n.host_access.empty()) continue;
        // The families the shim has an address of: only their subnets and
        // container addresses are reached through it.
        const auto& has = n.host_access;  // a structured binding cannot be captured in C++20
        auto shim_has = [&has](const model::IpAddress& a) {
            return std::any_of(has.begin(), has.end(),
                               [&](const model::Prefix& h) { return h.addr.family == a.family; });
        };
        LinkSpec shim;
        shim.name = shim_name(nname);
        shim.kind = LinkKind::Macvlan;
        shim.parent = n.parent;
        shim.mode = model::MacvlanMode::Bridge;
        shim.mtu_from = n.parent;
        shim.up = true;
        shim.addresses = std::set<model::Prefix>(n.host_access.begin(), n.host_access.end());
        host.links[shim.name] = shim;
        if (n.docker) {
            // Published to Docker: Docker hands out addresses netlab never
            // hears of (`docker run --net=NAME`), so the whole subnet is
            // reached through the shim, as two halves (more specific than
            // the parent's prefix route, which the kernel owns).
            for (const auto& sub : n.subnets) {
                const std::uint8_t max = sub.addr.is_v4() ? 32 : 128;
                if (!shim_has(sub.addr) || sub.len >= max) continue;
                model::Prefix lo = sub.network();
                lo.len = static_cast<std::uint8_t>(sub.len + 1);
                model::Prefix hi = lo;
                hi.addr.bytes[sub.len / 8] |= static_cast<std::uint8_t>(0x80u >> (sub.len % 8));
                for (const auto& half : {lo, hi}) {
                    RouteSpec r;
                    r.dst = half;
                    r.dev = shim.name;
                    r.scope = 253;
                    put_route(host, r);
                }
            }
            continue;
        }
        // Each container address on this network is reached through the shim
        // (a host route beats the parent's prefix route).
        for (const auto& [cname, c] : topo.containers)
            for (const auto& [ifname, ci] : c.interfaces) {
                if (ci.network != nname) continue;
                for (const auto& a : ci.addresses) {
                    if (!shim_has(a.addr)) continue;
                    RouteSpec r;
                    r.dst = model::Prefix{a.addr, static_cast<std::uint8_t>(a.addr.is_v4() ? 32 : 128)};
                    r.dev = shim.name;
                    r.scope = 253;
                    put_route(host, r);
                }
            }
    }
}

}  // namespace netlab::reconcile
