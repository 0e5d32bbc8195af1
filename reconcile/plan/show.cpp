// Observed namespaces -> a Topology that compiles back to exactly them, and
// a note for every live object left out of it (reconcile/plan/show.hpp).
#include "reconcile/plan/show.hpp"

#include <set>

#include "reconcile/plan/compile.hpp"
#include "reconcile/plan/kernel_model.hpp"

namespace netlab::reconcile {

namespace {

using model::InterfaceKind;
using model::LinkState;
using model::NetnsState;
using model::Prefix;
using model::RouteState;

constexpr std::uint32_t kDefaultMtu = 1500;
const std::string kVethAlias = std::string(model::kOwnedAliasPrefix) + "veth";
const std::string kVethPeerAlias = std::string(model::kOwnedAliasPrefix) + "veth-peer";

// The addresses `addresses:` manages: fe80::/10 is the kernel's own.
std::vector<Prefix> addresses_of(const NetnsState& s, const std::string& dev) {
    std::vector<Prefix> out;
    for (const auto& a : s.addresses)
        if (a.dev == dev && !a.prefix.addr.is_link_local_v6()) out.push_back(a.prefix);
    return out;
}

// `broadcast:` entries for the IPv4 addresses on `dev` whose broadcast is not
// the one netlab gives by default (`none` included): `addresses:` then says
// exactly what `ip addr` shows, and a plan leaves them as they are.
std::map<Prefix, std::optional<model::IpAddress>> broadcasts_of(const NetnsState& s, const std::string& dev) {
    std::map<Prefix, std::optional<model::IpAddress>> out;
    for (const auto& a : s.addresses)
        if (a.dev == dev && a.prefix.addr.is_v4() && a.attrs.broadcast != model::default_broadcast(a.prefix))
            out[a.prefix] = a.attrs.broadcast;
    return out;
}

// `via` on `dev` is marked `on_link: true` when netlab's scope-link host
// route to it is there and no address of `dev` covers it (the only case the
// mark is valid). The host route is then the mark's, not a route of its own.
class OnLink {
public:
    explicit OnLink(const NetnsState& s) : s_(s) {}
    bool mark(const model::IpAddress& via, const std::string& dev) {
        for (const auto& a : s_.addresses)
            if (a.dev == dev && a.prefix.contains(via)) return false;
        for (const auto& r : s_.routes)
            if (is_host_route(r) && r.dev == dev && r.dst.addr == via) {
                used_.insert(r);
                return true;
            }
        return false;
    }
    bool used(const RouteState& r) const { return used_.count(r) != 0; }

private:
    // The route compile.cpp's host_route() makes for `r`'s destination, as
    // the kernel reports it: r is that route when the two agree.
    static bool is_host_route(const RouteState& r) {
        if (!r.owned() || r.via) return false;
        const RouteState want = as_reported(host_route(r.dst.addr, r.dev), r.dev);
        return r.dst == want.dst && r.scope == want.scope;
    }
    const NetnsState& s_;
    std::set<RouteState> used_;
};

// IPv6 turns metric 0 into 1024 (IP6_RT_PRIO_USER): both mean "not given".
bool default_metric(const RouteState& r) { return r.metric == (r.dst.addr.is_v6() ? 1024u : 0u); }

std::string proto_name(std::uint8_t p) {
    switch (p) {
        case 3: return "boot";
        case 4: return "static";
        case 9: return "ra";
        case 16: return "dhcp";
        default: return std::to_string(p);
    }
}

std::string describe(const RouteState& r) {
    std::string s = r.dst.is_default() ? std::string("default") : r.dst.str();
    if (r.via) s += " via " + r.via->str();
    if (!r.dev.empty()) s += " dev " + r.dev;
    if (!default_metric(r)) s += " metric " + std::to_string(r.metric);
    return s + " proto " + proto_name(r.protocol);
}

std::string kind_of(const LinkState& l) { return l.kind.empty() ? std::string("NIC") : l.kind; }

// Routes the kernel makes by itself with an address or a link: never written.
bool kernels_own(const RouteState& r) {
    return r.protocol == model::kProtoKernel || r.dst.addr.is_link_local_v6() ||
           (r.dst.addr.is_v6() && r.dst.addr.bytes[0] == 0xff);
}

model::Route route_of(const RouteState& r, bool withDev) {
    model::Route x;
    x.to = r.dst;
    x.via = r.via;
    if (withDev) x.dev = r.dev;
    if (!default_metric(r)) x.metric = r.metric;
    return x;
}

class Shower {
public:
    Shower(const NetnsState& host, Shown& out) : host_(host), out_(out) {}

    void container(const ShownContainer& c);
    void host_links();
    void host_routes();

private:
    void note(std::string s) { out_.notes.push_back(std::move(s)); }
    const LinkState* host_link(const std::string& name) const {
        auto it = host_.links.find(name);
        return it == host_.links.end() ? nullptr : &it->second;
    }
    model::Interface bridge(const LinkState& l) const;

    const NetnsState& host_;
    Shown& out_;
    std::set<std::string> consumed_;  // host links written as part of a container
    std::set<std::string> used_bridges_;  // bridges the shown containers' host ends are ports of
    std::set<std::string> shims_;     // netlab macvlans on the host left out with their network
};

void Shower::container(const ShownContainer& c) {
    model::Container ct;
    ct.name = c.name;
    ct.netns = c.netns;
    const std::string who = "container " + c.name + " (" + c.netns.str() + "): ";
    OnLink onlink(c.state);
    for (const auto& [ifname, l] : c.state.links) {
        if (ifname == "lo") continue;
        if (!l.owned()) {
            note(who + ifname + " (" + kind_of(l) + ") is not netlab's: left alone");
            continue;
        }
        if (l.alias != kVethPeerAlias) {
            note(who + ifname + " is a netlab " + l.kind +
                 " on a macvlan network: `show` does not write networks; keep the container's entry from your file");
            continue;
        }
        const std::string hostEnd = veth_host_name(c.name, ifname);
        const LinkState* h = host_link(hostEnd);
        if (!h || h->master.empty()) {
            note(who + ifname + " is a netlab veth whose host end " + hostEnd +
                 " is not on a bridge here: was the container called otherwise in the topology? (--netns NAME=TARGET)");
            continue;
        }
        consumed_.insert(hostEnd);
        used_bridges_.insert(h->master);
        model::ContainerInterface ci;
        ci.name = ifname;
        ci.bridge = h->master;
        ci.addresses = addresses_of(c.state, ifname);
        ci.broadcasts = broadcasts_of(c.state, ifname);
        if (l.mac != derived_mac(c.name, ifname)) ci.mac = l.mac;
        if (const LinkState* br = host_link(h->master); br && l.mtu != br->mtu) ci.mtu = l.mtu;
        for (const auto& r : c.state.routes) {
            if (!r.owned() || r.dev != ifname || !r.via) continue;
            if (r.dst.is_default() && default_metric(r) && !ci.gateway) {
                ci.gateway = r.via;
                ci.gateway_on_link = onlink.mark(*r.via, ifname);
            } else {
                ci.routes.push_back(route_of(r, false));
                ci.routes.back().dev = ifname;  // a container route's device is its interface
                ci.routes.back().on_link = onlink.mark(*r.via, ifname);
            }
        }
        for (const auto& r : c.state.routes)
            if (r.owned() && r.dev == ifname && !r.via && !onlink.used(r) && !kernels_own(r)) {
                ci.routes.push_back(route_of(r, false));
                ci.routes.back().dev = ifname;
            }
        ct.interfaces[ifname] = ci;
    }
    for (const auto& r : c.state.routes) {
        if (kernels_own(r) || onlink.used(r)) continue;
        if (!r.owned())
            note(who + "route " + describe(r) + " is not netlab's: left alone");
        else if (!ct.interfaces.count(r.dev))
            note(who + "route " + describe(r) + " is netlab's but goes through an interface not written above");
    }
    out_.topology.containers[c.name] = ct;
}

model::Interface Shower::bridge(const LinkState& l) const {
    model::Interface i;
    i.name = l.name;
    i.kind = InterfaceKind::Bridge;
    for (const auto& [name, p] : host_.links)
        if (p.master == l.name && p.alias != kVethAlias) i.ports.push_back(name);
    i.stp = l.stp;
    for (const auto& port : i.ports)
        if (const LinkState* p = host_link(port); p && p->mac == l.mac) {
            i.mac_from = port;  // the bridge carries this port's MAC (a takeover keeps the NIC's)
            break;
        }
    if (!i.mac_from) i.mac = l.mac;
    return i;
}

void Shower::host_links() {
    for (const auto& [name, l] : host_.links) {
        if (name == "lo" || consumed_.count(name)) continue;
        model::Interface i;
        i.name = name;
        if (l.owned()) {
            if (l.alias == kVethAlias) {
                note(name + " is the host end of a netlab container's veth (on " + l.master +
                     "): name the container with --netns NAME=TARGET, or `netlabctl plan` with this file removes it");
                continue;
            }
            if (is_kind(l.kind, LinkKind::Bridge)) {
                i = bridge(l);
            } else if (is_kind(l.kind, LinkKind::Macvlan) && name.rfind("nl-", 0) == 0) {
                shims_.insert(name);
                note(name + " is the host shim of a netlab macvlan network (on " + l.parent +
                     "): `show` does not write networks; keep the networks: section from your file");
                continue;
            } else if (is_kind(l.kind, LinkKind::Macvlan) && !l.parent.empty()) {
                i.kind = InterfaceKind::Macvlan;
                i.parent = l.parent;
                i.mode = l.macvlan_mode;
                i.mac = l.mac;
            } else {
                note(name + " is a netlab " + kind_of(l) + " this view cannot express: left out");
                continue;
            }
        } else {
            if (const LinkState* m = l.master.empty() ? nullptr : host_link(l.master); !l.master.empty() && !(m && m->owned())) {
                note(name + " (" + kind_of(l) + ") is a port of " + l.master + ", which is not netlab's: left alone");
                continue;
            }
            if (is_kind(l.kind, LinkKind::Bridge) && used_bridges_.count(name)) {
                // Named so the containers' `bridge:` resolves; without
                // `addresses:` or other keys netlab takes nothing of it over.
                note(name + " is a bridge netlab did not create: written as an adopted interface with no keys, "
                            "because a container shown here is attached to it; netlab manages none of it");
                out_.topology.interfaces[name] = i;
                continue;
            }
            if (is_kind(l.kind, LinkKind::Bridge)) {
                note(name + " is a bridge netlab did not create: left alone");
                continue;
            }
            if (l.promisc) i.promisc = true;
        }
        if (l.mtu != kDefaultMtu) i.mtu = l.mtu;
        if (!l.up) i.up = false;
        i.addresses = addresses_of(host_, name);
        i.broadcasts = broadcasts_of(host_, name);
        out_.topology.interfaces[name] = i;
    }
}

void Shower::host_routes() {
    OnLink onlink(host_);
    std::vector<model::Route> routes;
    for (const auto& r : host_.routes)
        if (!kernels_own(r) && r.owned() && r.via && !shims_.count(r.dev)) {
            routes.push_back(route_of(r, true));
            routes.back().on_link = onlink.mark(*r.via, r.dev);
        }
    for (const auto& r : host_.routes) {
        if (kernels_own(r) || onlink.used(r)) continue;
        if (!r.owned()) {
            note("route " + describe(r) + " is not netlab's: left alone (write it under routes: for netlab to own it)");
        } else if (shims_.count(r.dev)) {
            note("route " + describe(r) + " belongs to the macvlan network of " + r.dev + ": left out with it");
        } else if (!r.via) {
            routes.push_back(route_of(r, true));
        }
    }
    out_.topology.routes = std::move(routes);
}

}  // namespace

Shown show(const NetnsState& host, const std::vector<ShownContainer>& containers) {
    Shown out;
    Shower s(host, out);
    for (const auto& c : containers) s.container(c);
    s.host_links();
    s.host_routes();
    return out;
}

}  // namespace netlab::reconcile
