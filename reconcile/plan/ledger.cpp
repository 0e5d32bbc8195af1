// The ledger's update after a successful plan (ledger.hpp).
#include "reconcile/plan/ledger.hpp"

#include <algorithm>
#include <iterator>

#include "reconcile/plan/compile.hpp"

namespace netlab::reconcile {

Ledger next_ledger(const Ledger& ledger, const model::Topology& topo, const Observed& before, const Plan& plan) {
    Ledger out = ledger;
    out.docker = docker::connected_by(docker::published(topo));
    auto record = [&](const NsId& ns, const std::string& name, const std::string& attribute) {
        auto s = before.find(ns);
        if (s == before.end()) return;
        auto l = s->second.links.find(name);
        if (l == s->second.links.end() || l->second.owned()) return;
        auto& entries = out.adopted[ns];
        auto [it, fresh] = entries.try_emplace(name);
        if (fresh) {
            it->second.link = l->second;
            it->second.addresses = addresses_of(s->second, name);
            for (const auto& a : s->second.addresses)
                if (a.dev == name && it->second.addresses.count(a.prefix)) it->second.address_attrs[a.prefix] = a.attrs;
            for (const auto& r : s->second.routes)
                if (r.dev == name && r.table == model::kMainTable && r.protocol != model::kProtoKernel)
                    it->second.routes.push_back(r);
        }
        if (!fresh && it->second.attributes.empty()) return;  // an old entry: all attributes already
        it->second.attributes.insert(attribute);
    };
    for (const auto& st : plan.steps) {
        const LinkSpec& l = st.link;
        switch (st.op) {
            case Step::Op::SetLink:
                if (l.master) record(st.ns, l.name, "master");
                if (l.up) record(st.ns, l.name, "up");
                if (l.promisc) record(st.ns, l.name, "promisc");
                if (l.mtu) record(st.ns, l.name, "mtu");
                if (l.mac || l.mac_from) record(st.ns, l.name, "mac");
                break;
            case Step::Op::AddAddress:
            case Step::Op::DelAddress:
                record(st.ns, st.address.dev, "addresses");
                break;
            case Step::Op::ReplaceRoute:
            case Step::Op::DelRoute: {
                // A route netlab took over: remembered with the link it went through.
                auto s = before.find(st.ns);
                if (s == before.end()) break;
                for (const auto& r : s->second.routes) {
                    if (!r.same_key(st.route) || r.owned() || r.protocol == model::kProtoKernel || r.dev.empty()) continue;
                    record(st.ns, r.dev, "routes");
                    // A foreign route re-homed off the link: the link's entry
                    // must hold it exactly, even when it is older than the route.
                    auto e = out.adopted.find(st.ns);
                    if (e == out.adopted.end() || !e->second.count(r.dev)) continue;
                    auto& routes = e->second.at(r.dev).routes;
                    if (std::none_of(routes.begin(), routes.end(), [&](const model::RouteState& x) { return x.same_key(r); }))
                        routes.push_back(r);
                }
                break;
            }
            default: break;
        }
    }
    // What the topology no longer names was given back by this plan.
    const Desired base = compile(topo, Ledger{});
    for (auto nsIt = out.adopted.begin(); nsIt != out.adopted.end();) {
        auto d = base.namespaces.find(nsIt->first);
        for (auto it = nsIt->second.begin(); it != nsIt->second.end();) {
            bool keep = false;
            if (d != base.namespaces.end()) {
                keep = d->second.links.count(it->first) != 0;
                for (const auto& r : it->second.routes)
                    for (const auto& t : d->second.routes)
                        keep = keep || (t.table == r.table && t.dst == r.dst && t.metric == r.metric);
            }
            it = keep ? std::next(it) : nsIt->second.erase(it);
        }
        nsIt = nsIt->second.empty() ? out.adopted.erase(nsIt) : std::next(nsIt);
    }
    return out;
}
}  // namespace netlab::reconcile
