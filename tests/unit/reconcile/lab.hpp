// Table-test helpers for the reconcile unit tests: literals, the bridge
// takeover lab (host1 of the kernel tests, as values) and a check that the
// host can still reach its gateway.
#pragma once

#include <string>
#include <vector>

#include "model/state.hpp"
#include "model/topology.hpp"
#include "reconcile/plan/ledger.hpp"
#include "reconcile/plan/planner.hpp"
#include "reconcile/plan/rollback_target.hpp"
#include "reconcile/memory_kernel.hpp"

namespace netlab::test {

inline model::IpAddress ip(const char* s) { return *model::IpAddress::parse(s); }
inline model::Prefix pfx(const char* s) { return *model::Prefix::parse(s, true); }
inline model::MacAddress mac(const char* s) { return *model::MacAddress::parse(s); }

inline model::LinkState nic(const std::string& name, int ifindex, const char* hw, std::string kind = "") {
    model::LinkState l;
    l.name = name;
    l.ifindex = ifindex;
    l.kind = std::move(kind);
    l.up = true;
    l.mtu = 1500;
    l.mac = mac(hw);
    return l;
}

inline model::RouteState route(const char* dst, const char* via, const std::string& dev, std::uint8_t proto,
                               std::uint32_t metric = 0) {
    model::RouteState r;
    r.dst = pfx(dst);
    if (via) r.via = ip(via);
    r.dev = dev;
    r.protocol = proto;
    r.metric = metric;
    r.scope = via ? 0 : 253;
    return r;
}

inline model::RouteState prefix_route(const char* dst, const std::string& dev) {
    return route(dst, nullptr, dev, model::kProtoKernel, pfx(dst).addr.is_v6() ? 256 : 0);
}

// host1: ens33 holds the address and the default route (proto boot); a
// foreign veth with its own route; an IPv6 link-local address on ens33.
inline model::NetnsState host1() {
    model::NetnsState s;
    s.links["ens33"] = nic("ens33", 2, "52:54:00:12:34:56");
    s.links["foreign0"] = nic("foreign0", 3, "52:54:00:aa:bb:cc", "veth");
    s.addresses.insert({"ens33", pfx("198.51.100.10/24")});
    s.addresses.insert({"ens33", pfx("fe80::5054:ff:fe12:3456/64")});
    s.addresses.insert({"foreign0", pfx("203.0.113.1/24")});
    s.routes.insert(prefix_route("198.51.100.0/24", "ens33"));
    s.routes.insert(prefix_route("203.0.113.0/24", "foreign0"));
    s.routes.insert(prefix_route("fe80::/64", "ens33"));
    s.routes.insert(route("0.0.0.0/0", "198.51.100.1", "ens33", 3));
    s.routes.insert(route("192.0.2.128/25", "203.0.113.2", "foreign0", 4));
    return s;
}

inline model::Topology takeover() {
    model::Topology t;
    model::Interface br;
    br.name = "br0";
    br.kind = model::InterfaceKind::Bridge;
    br.ports = {"ens33"};
    br.mac_from = "ens33";
    br.stp = false;
    br.addresses = std::vector<model::Prefix>{pfx("198.51.100.10/24")};
    t.interfaces["br0"] = br;
    model::Route r;
    r.to = model::Prefix::default_route(4);
    r.via = ip("198.51.100.1");
    r.dev = "br0";
    t.routes.push_back(r);
    return t;
}

inline std::vector<std::string> lines(const reconcile::Plan& p) {
    std::vector<std::string> out;
    for (const auto& s : p.steps) out.push_back(s.describe());
    return out;
}

inline std::vector<std::string> refusals(const reconcile::Plan& p) {
    std::vector<std::string> out;
    for (const auto& d : p.refusals) out.push_back(d.message);
    return out;
}

// Applies every step; returns the index of the first refused one, or -1.
inline int run(reconcile::Observed& state, const reconcile::Plan& p, std::string* error = nullptr) {
    for (std::size_t i = 0; i < p.steps.size(); ++i) {
        try {
            reconcile::apply_step(state, p.steps[i]);
        } catch (const reconcile::KernelRefusal& e) {
            if (error) *error = e.what();
            return static_cast<int>(i);
        }
    }
    return -1;
}

// Can the host send to `gw` and get the answer? The default route's device
// must be up and on-link with the gateway; a bridge needs an up port; a
// bridge port still transmits (its neighbour entry is warm) while the
// bridge, holding the address, receives.
inline bool reaches(const model::NetnsState& s, const char* gateway) {
    const model::IpAddress gw = ip(gateway);
    const model::RouteState* best = nullptr;
    for (const auto& r : s.routes)
        if (r.dst.is_default() && r.dst.addr.family == gw.family && (!best || r.metric < best->metric)) best = &r;
    if (!best || !best->via || !best->via->operator==(gw)) return false;
    auto d = s.links.find(best->dev);
    if (d == s.links.end() || !d->second.up) return false;
    auto onlink = [&](const std::string& dev) {
        for (const auto& a : s.addresses)
            if (a.dev == dev && a.prefix.contains(gw)) return true;
        return false;
    };
    if (!d->second.master.empty()) {
        auto m = s.links.find(d->second.master);
        return m != s.links.end() && m->second.up && onlink(m->first) && onlink(d->first);
    }
    if (!onlink(d->first)) return false;
    if (d->second.kind != "bridge") return true;
    for (const auto& [n, l] : s.links)
        if (l.master == d->first && l.up) return true;
    return false;
}

}  // namespace netlab::test
