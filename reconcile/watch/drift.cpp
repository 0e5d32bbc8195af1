// classify(): is a kernel event about netlab's objects, and does it leave them
// other than desired? Pure; the table of cases is tests/unit/reconcile/test_drift.cpp.
#include "reconcile/watch/drift.hpp"

#include <algorithm>

namespace netlab::reconcile {

namespace {

std::string route_text(const model::RouteState& r) {
    std::string s = "route " + (r.dst.is_default() ? std::string("default") : r.dst.str());
    if (r.via) s += " via " + r.via->str();
    if (!r.dev.empty()) s += " dev " + r.dev;
    if (r.metric) s += " metric " + std::to_string(r.metric);
    return s;
}

// The metric the kernel gives a desired route: IPv6 turns 0 into 1024
// (IP6_RT_PRIO_USER), so its events and dumps say 1024.
std::uint32_t kernel_metric(const RouteSpec& s) { return s.dst.addr.is_v6() && s.metric == 0 ? 1024 : s.metric; }

bool same_key(const RouteSpec& s, const model::RouteState& r) {
    return s.table == r.table && s.dst == r.dst && kernel_metric(s) == r.metric;
}

void add(std::string& s, const std::string& what) { s += (s.empty() ? "" : ", ") + what; }

// How a link the desired state names differs from it (only what is managed).
std::string link_drift(const LinkSpec& want, const model::LinkState& got) {
    const std::string& n = got.name;
    std::string s;
    if (want.up && *want.up != got.up) add(s, n + (got.up ? " set up" : " set down"));
    if (want.master && *want.master != got.master) {
        if (got.master.empty())
            add(s, n + " released from " + *want.master);
        else if (want.master->empty())
            add(s, n + " enslaved to " + got.master);
        else
            add(s, n + " moved from " + *want.master + " to " + got.master);
    }
    if (want.mtu && *want.mtu != got.mtu) add(s, n + " mtu set to " + std::to_string(got.mtu));
    if (want.promisc && *want.promisc != got.promisc) add(s, n + " promisc set " + (got.promisc ? "on" : "off"));
    if (want.mac && *want.mac != got.mac) add(s, n + " mac set to " + got.mac.str());
    return s;
}

DriftVerdict classify_link(const DesiredNs& d, const KernelEvent& e) {
    const model::LinkState& l = e.link;
    if (!e.renamed_from.empty() && d.links.count(e.renamed_from))
        return {true, e.renamed_from + " renamed to " + l.name};
    auto it = d.links.find(l.name);
    if (it == d.links.end()) {
        // netlab's mark on a link the topology no longer names: the next
        // reconcile deletes it. Its deletion is what netlab wants anyway.
        if (!l.owned()) return {};
        if (e.op == KernelEvent::Op::Del) return {true, ""};
        return {true, l.name + " (netlab's) is not in the topology"};
    }
    const LinkSpec& want = it->second;
    if (e.op == KernelEvent::Op::Del) {
        // A container's veth goes with the container's namespace when the
        // container stops; its return is the re-attach's business
        // (ContainerWatch), not a repair.
        if (!want.peer_ns.empty()) return {true, ""};
        return {true, l.name + " deleted"};
    }
    return {true, link_drift(want, l)};
}

DriftVerdict classify_address(const DesiredNs& d, const KernelEvent& e) {
    const model::AddressState& a = e.address;
    if (a.dev.empty() || a.prefix.addr.is_link_local_v6()) return {};
    auto it = d.links.find(a.dev);
    if (it == d.links.end() || !it->second.addresses) return {};  // addresses netlab does not manage
    const bool wanted = it->second.addresses->count(a.prefix) != 0;
    const std::string what = a.dev + " address " + a.prefix.str();
    if (e.op == KernelEvent::Op::New) return {true, wanted ? "" : what + " added"};
    return {true, wanted ? what + " deleted" : ""};
}

DriftVerdict classify_route(const DesiredNs& d, const KernelEvent& e) {
    const model::RouteState& r = e.route;
    if (r.table != model::kMainTable || r.type != 1 /* RTN_UNICAST */) return {};
    auto spec = std::find_if(d.routes.begin(), d.routes.end(), [&](const RouteSpec& s) { return same_key(s, r); });
    if (spec == d.routes.end()) {
        if (!r.owned()) return {};
        // netlab's protocol on a route the topology does not have: the next
        // reconcile deletes it; its deletion is what netlab wants.
        if (e.op == KernelEvent::Op::Del) return {true, ""};
        return {true, route_text(r) + " (netlab's) is not in the topology"};
    }
    const bool as_desired =
        spec->via == r.via && (spec->dev.empty() || spec->dev == r.dev) && spec->protocol == r.protocol;
    if (e.op == KernelEvent::Op::Del) return {true, as_desired ? route_text(r) + " deleted" : ""};
    return {true, as_desired ? "" : route_text(r) + " proto " + std::to_string(r.protocol) + " replaces the topology's"};
}

// An event classify() finds foreign whatever its unknown link is called: a
// link-local address, a route of another table or type, or of a key the
// topology does not have and not netlab's, a link the topology does not name
// and that is not netlab's.
bool foreign_by_any_name(const DesiredNs& d, const KernelEvent& e) {
    switch (e.object) {
    case KernelEvent::Object::Address: return e.address.prefix.addr.is_link_local_v6();
    case KernelEvent::Object::Route: {
        const model::RouteState& r = e.route;
        if (r.table != model::kMainTable || r.type != 1 /* RTN_UNICAST */) return true;
        return !r.owned() &&
               std::none_of(d.routes.begin(), d.routes.end(), [&](const RouteSpec& s) { return same_key(s, r); });
    }
    case KernelEvent::Object::Link:
        return !e.link.owned() && !d.links.count(e.link.name) && !d.links.count(e.renamed_from);
    }
    return false;
}

}  // namespace

std::string KernelEvent::str() const {
    std::string s = op == Op::New ? "New " : "Del ";
    switch (object) {
    case Object::Link:
        s += "link " + link.name + " (" + std::to_string(link.ifindex) + ")" + (link.up ? " up" : " down");
        if (!link.master.empty()) s += " master " + link.master;
        if (!link.alias.empty()) s += " alias " + link.alias;
        break;
    case Object::Address: s += "address " + address.dev + " " + address.prefix.str(); break;
    case Object::Route:
        s += route_text(route) + " table " + std::to_string(route.table) + " proto " + std::to_string(route.protocol);
        break;
    }
    if (unnamed) s += " (on a link not known by name)";
    return s;
}

DriftVerdict classify(const DesiredNs& desired, const KernelEvent& event) {
    switch (event.object) {
    case KernelEvent::Object::Link: return classify_link(desired, event);
    case KernelEvent::Object::Address: return classify_address(desired, event);
    case KernelEvent::Object::Route: return classify_route(desired, event);
    }
    return {};
}

std::string drift_of(const DesiredNs& desired, const KernelEvent& event) {
    if (event.unnamed) return foreign_by_any_name(desired, event) ? std::string() : event.str();
    return classify(desired, event).drift;
}

std::string drift_where(const NsId& ns, const std::string& drift) {
    if (ns.empty()) return drift;
    const std::string c = container_of(ns);
    return (c.empty() ? ns : "container " + c) + ": " + drift;
}

std::vector<std::string> drift_in(const DesiredNs& desired, const model::NetnsState& observed) {
    std::vector<std::string> out;
    auto judge = [&](KernelEvent::Op op, KernelEvent::Object object, auto fill) {
        KernelEvent e;
        e.op = op;
        e.object = object;
        fill(e);
        auto v = classify(desired, e);
        if (!v.drift.empty()) out.push_back(std::move(v.drift));
    };
    using Op = KernelEvent::Op;
    using Object = KernelEvent::Object;
    // Lambdas capture the bindings by an init-capture: clang 14 (the fuzz
    // build's) cannot capture a structured binding itself.
    for (const auto& [name, l] : observed.links)
        judge(Op::New, Object::Link, [&link = l](KernelEvent& e) { e.link = link; });
    for (const auto& [name, spec] : desired.links)
        if (!observed.links.count(name))
            judge(Op::Del, Object::Link, [&dev = name](KernelEvent& e) { e.link.name = dev; });
    for (const auto& a : observed.addresses) judge(Op::New, Object::Address, [&](KernelEvent& e) { e.address = a; });
    for (const auto& [name, spec] : desired.links) {
        if (!spec.addresses) continue;
        for (const auto& p : *spec.addresses)
            if (!observed.addresses.count(model::AddressState{name, p, false}))
                judge(Op::Del, Object::Address,
                      [&dev = name, &p](KernelEvent& e) { e.address = model::AddressState{dev, p, false}; });
    }
    for (const auto& r : observed.routes) judge(Op::New, Object::Route, [&](KernelEvent& e) { e.route = r; });
    for (const auto& spec : desired.routes) {
        model::RouteState want;
        want.table = spec.table;
        want.dst = spec.dst;
        want.metric = kernel_metric(spec);
        want.via = spec.via;
        want.dev = spec.dev;
        want.protocol = spec.protocol;
        want.scope = spec.scope;
        if (std::none_of(observed.routes.begin(), observed.routes.end(),
                         [&](const model::RouteState& r) { return r.same_key(want); }))
            judge(Op::Del, Object::Route, [&](KernelEvent& e) { e.route = want; });
    }
    return out;
}

}  // namespace netlab::reconcile
