// The planner: make_plan() and the one place that decides the order of
// steps — phases, run in a fixed sequence (docs/plan.md explains each phase
// and why it sits where it does) — plus the queries every phase asks.
#include "reconcile/plan/planner.hpp"

#include "reconcile/plan/compile.hpp"
#include "reconcile/plan/planner_internal.hpp"

namespace netlab::reconcile {

namespace planning {


Plan Planner::run() {
    for (const auto& [ns, dns] : desired_.namespaces)
        for (const auto& [name, spec] : dns.links)
            if (spec.kind == LinkKind::Veth) partners_.try_emplace(LinkRef{spec.peer_ns, spec.peer_name}, LinkRef{ns, name});
    recreate();
    collect_creates_and_deletes();
    preflight();
    if (!plan_.refusals.empty()) return std::move(plan_);
    create();
    configure_links();
    addresses();
    routes();
    remove_links();
    for (auto& phase : phases_)
        for (auto& s : phase) plan_.steps.push_back(std::move(s));
    return std::move(plan_);
}
const LinkState* Planner::find(const NsId& ns, const std::string& name) const {
    auto s = work_.find(ns);
    if (s == work_.end()) return nullptr;
    auto l = s->second.links.find(name);
    return l == s->second.links.end() ? nullptr : &l->second;
}

const LinkSpec* Planner::wanted(const NsId& ns, const std::string& name) const {
    auto d = desired_.namespaces.find(ns);
    if (d == desired_.namespaces.end()) return nullptr;
    auto l = d->second.links.find(name);
    return l == d->second.links.end() ? nullptr : &l->second;
}

bool Planner::will_exist(const NsId& ns, const std::string& name) const {
    return creates_.count({ns, name}) || (find(ns, name) && !dies_.count({ns, name}));
}

const LinkState* Planner::host_end(const NsId& ns, const std::string& name) const {
    const std::string c = container_of(ns);
    if (c.empty()) return nullptr;
    const LinkState* h = find("", veth_host_name(c, name));
    return h && is_kind(h->kind, LinkKind::Veth) ? h : nullptr;
}

bool Planner::owned(const NsId& ns, const LinkState& l) const {
    if (l.owned()) return true;
    if (!is_kind(l.kind, LinkKind::Veth)) return false;
    const LinkState* h = host_end(ns, l.name);
    return h && h->owned();
}

void Planner::refuse(std::string message, std::string hint) {
    model::Diagnostic d;
    d.message = std::move(message);
    d.hint = std::move(hint);
    plan_.refusals.push_back(std::move(d));
}

void Planner::emit(Phase p, Step::Op op, const NsId& ns, LinkSpec link, std::string why) {
    Step s;
    s.op = op;
    s.ns = ns;
    s.link = std::move(link);
    s.why = std::move(why);
    phases_[p].push_back(std::move(s));
}

std::string Planner::master_after(const NsId& ns, const std::string& name) const {
    if (const LinkSpec* w = wanted(ns, name); w && w->master) return *w->master;
    if (const LinkState* o = find(ns, name)) return o->master;
    return "";
}

std::optional<model::MacAddress> Planner::resolved_mac(const NsId& ns, const LinkSpec& l) const {
    if (l.mac) return l.mac;
    if (!l.mac_from) return std::nullopt;
    if (const LinkState* o = find(ns, *l.mac_from)) return o->mac;
    if (const LinkSpec* w = wanted(ns, *l.mac_from); w && w->mac) return w->mac;
    return std::nullopt;
}

std::optional<std::uint32_t> Planner::resolved_mtu(const LinkSpec& l) const {
    if (l.mtu || !l.mtu_from) return l.mtu;
    if (const LinkSpec* w = wanted(l.mtu_from_ns, *l.mtu_from); w && w->mtu) return w->mtu;
    if (const LinkState* o = find(l.mtu_from_ns, *l.mtu_from); o && o->mtu) return o->mtu;
    return std::nullopt;
}

std::string Planner::route_dev(const NsId& ns, const RouteSpec& r) const {
    if (!r.dev.empty() || !r.via) return r.dev;
    auto s = work_.find(ns);
    if (s == work_.end()) return "";
    for (const auto& a : s->second.addresses)
        if (a.prefix.contains(*r.via) && !dies_.count({ns, a.dev})) return a.dev;
    return "";
}
}  // namespace planning

Plan make_plan(const Desired& desired, const Observed& observed) { return planning::Planner(desired, observed).run(); }

}  // namespace netlab::reconcile
