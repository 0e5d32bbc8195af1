// Topology + ledger -> Desired. Pure: what the admin wrote, with the defaults
// of docs/plan.md filled in, plus the originals of adopted links that netlab
// no longer manages.
#include "reconcile/plan/compile.hpp"

#include <algorithm>

namespace netlab::reconcile {

namespace {

LinkKind link_kind(model::InterfaceKind k) {
    switch (k) {
        case model::InterfaceKind::Bridge: return LinkKind::Bridge;
        case model::InterfaceKind::Macvlan: return LinkKind::Macvlan;
        case model::InterfaceKind::Adopted: return LinkKind::Existing;
    }
    return LinkKind::Existing;
}

LinkSpec interface_spec(const model::Interface& i) {
    LinkSpec l;
    l.name = i.name;
    l.kind = link_kind(i.kind);
    l.up = i.up;
    l.promisc = i.promisc;
    l.mtu = i.mtu;
    l.mac = i.mac;
    l.mac_from = i.mac_from;
    if (i.addresses) l.addresses = std::set<model::Prefix>(i.addresses->begin(), i.addresses->end());
    l.address_attrs = broadcast_wants(i.broadcasts);
    if (l.creates()) {
        // What netlab creates it manages entirely: up unless told otherwise,
        // and exactly the listed addresses (none when none are listed).
        if (!l.up) l.up = true;
        if (!l.addresses) l.addresses.emplace();
    }
    if (i.kind == model::InterfaceKind::Bridge) l.stp = i.stp.value_or(false);
    if (i.kind == model::InterfaceKind::Macvlan) {
        l.parent = i.parent;
        l.mode = i.mode;
    }
    return l;
}

// The device whose desired addresses reach `via`, for a route without `dev:`.
std::string device_reaching(const DesiredNs& ns, const model::IpAddress& via) {
    for (const auto& [name, l] : ns.links)
        if (l.addresses)
            for (const auto& p : *l.addresses)
                if (p.contains(via)) return name;
    return "";
}

bool same_key(const RouteSpec& a, const RouteSpec& b) {
    return a.table == b.table && a.dst == b.dst && a.metric == b.metric;
}

bool restores(const AdoptedOriginal& o, const char* attribute) {
    return o.attributes.empty() || o.attributes.count(attribute) != 0;
}

// Can route `r` go through a link that has `addresses`? The kernel keeps no
// IPv4 route on a link without an IPv4 address, and wants a gateway on-link.
// (A ledger route that does not fit stays where netlab re-homed it, e.g. on
// the bridge that took the link's address, until the address comes back.)
bool fits(const RouteSpec& r, const std::set<model::Prefix>& addresses) {
    if (!r.dst.addr.is_v4()) return true;
    return std::any_of(addresses.begin(), addresses.end(), [&](const model::Prefix& p) {
        return p.addr.is_v4() && (!r.via || p.contains(*r.via));
    });
}

// Give an adopted link back what netlab changed and no longer manages.
void restore_originals(const Ledger& ledger, Desired& out) {
    for (const auto& [ns, entries] : ledger.adopted) {
        auto nsIt = out.namespaces.find(ns);
        // A namespace the topology no longer names cannot be reached (its
        // container is unknown); the host namespace always can.
        if (nsIt == out.namespaces.end()) {
            if (!ns.empty()) continue;
            nsIt = out.namespaces.emplace(ns, DesiredNs{}).first;
        }
        DesiredNs& dns = nsIt->second;
        const std::vector<RouteSpec> topologyRoutes = dns.routes;
        for (const auto& [name, orig] : entries) {
            auto it = dns.links.find(name);
            const bool named = it != dns.links.end();
            if (named && it->second.creates()) continue;  // the name now belongs to a link netlab creates
            LinkSpec& l = named ? it->second : dns.links[name];
            if (!named) l.name = name;
            if (restores(orig, "master") && !l.master) l.master = orig.link.master;
            if (restores(orig, "up") && !l.up) l.up = orig.link.up;
            if (restores(orig, "promisc") && !l.promisc) l.promisc = orig.link.promisc;
            if (restores(orig, "mtu") && !l.mtu && orig.link.mtu) l.mtu = orig.link.mtu;
            if (restores(orig, "mac") && !l.mac && !l.mac_from && !orig.link.mac.is_zero()) l.mac = orig.link.mac;
            bool addressesBack = false;
            if (restores(orig, "addresses") && !l.addresses) {
                l.addresses = orig.addresses;
                for (const auto& [p, a] : orig.address_attrs) l.address_attrs[p] = {a, true};
                addressesBack = true;
            }
            // The routes it had come back with its addresses (the kernel
            // flushed them when the addresses went), except where a topology
            // route now holds the same key.
            if (!named || addressesBack || restores(orig, "routes")) {
                for (const auto& r : orig.routes) {
                    RouteSpec s{r.dst, r.via, r.dev, r.metric, r.table, r.protocol, r.scope};
                    if (!fits(s, l.addresses ? *l.addresses : orig.addresses)) continue;
                    auto clash = [&](const RouteSpec& o) { return same_key(o, s); };
                    if (std::any_of(topologyRoutes.begin(), topologyRoutes.end(), clash)) continue;
                    if (std::any_of(dns.routes.begin(), dns.routes.end(), clash)) continue;
                    dns.routes.push_back(s);
                }
            }
        }
    }
}

}  // namespace

std::map<model::Prefix, AddressWant> broadcast_wants(const std::map<model::Prefix, std::optional<model::IpAddress>>& b) {
    std::map<model::Prefix, AddressWant> out;
    for (const auto& [p, brd] : b) out[p].attrs.broadcast = brd;
    return out;
}

Desired compile(const model::Topology& topo, const Ledger& ledger) {
    Desired out;
    DesiredNs& host = out.namespaces[""];
    for (const auto& [name, iface] : topo.interfaces) host.links[name] = interface_spec(iface);

    // Bridge ports: enslaved and up, and without addresses of their own (an
    // address on a port is dead: the bridge takes its traffic). The ledger
    // keeps what they had, for the day they leave the bridge.
    for (const auto& [name, iface] : topo.interfaces) {
        if (iface.kind != model::InterfaceKind::Bridge) continue;
        for (const auto& port : iface.ports) {
            LinkSpec& p = host.links[port];
            if (p.name.empty()) p.name = port;
            p.master = name;
            if (!p.up) p.up = true;
            if (!p.addresses) p.addresses.emplace();
        }
    }

    for (const auto& r : topo.routes) {
        if (r.on_link && r.via && !r.dev.empty()) {
            RouteSpec h = host_route(*r.via, r.dev);
            auto same = [&](const RouteSpec& o) { return same_key(o, h); };
            if (std::none_of(host.routes.begin(), host.routes.end(), same)) host.routes.push_back(h);
        }
        RouteSpec s;
        s.dst = r.to;
        s.via = r.via;
        s.dev = r.dev;
        s.metric = r.metric.value_or(0);
        if (s.dev.empty() && r.via) s.dev = device_reaching(host, *r.via);
        // Without a gateway the destination is on the link.
        if (!r.via) s.scope = 253;
        host.routes.push_back(s);
    }

    compile_containers(topo, out);
    restore_originals(ledger, out);
    return out;
}

}  // namespace netlab::reconcile
