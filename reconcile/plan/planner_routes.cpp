// The planner's address and route phases: addresses added before they leave
// another link and removed last, promote_secondaries around a replaced
// address, routes swapped in place, and foreign routes moved off a link
// before the kernel would flush them.
#include <algorithm>

#include "reconcile/plan/planner_internal.hpp"

namespace netlab::reconcile::planning {


// ---- addresses ------------------------------------------------------------

// An address moving from one link to `dev` keeps what `ip addr` shows of
// it: broadcast, flags (noprefixroute...), scope, and its label re-based on
// `dev` ("ens33:1" -> "br0:1"; the kernel wants a label that starts with the
// device's name). A lease (finite lifetimes) becomes static: the DHCP
// client's lease timer stays with the link it runs on, and the kernel would
// otherwise delete the moved address when the lease ran out there.
model::AddressAttrs Planner::carried(const AddressState& from, const std::string& dev) {
    model::AddressAttrs a = from.attrs;
    a.valid_lft = a.preferred_lft = model::AddressAttrs::kForever;
    if (!a.label.empty()) {
        std::string suffix = a.label.rfind(from.dev, 0) == 0 ? a.label.substr(from.dev.size()) : std::string();
        a.label = suffix.empty() ? std::string() : (dev + suffix).substr(0, 15);
    }
    return a;
}

// The kernel cannot change an address's broadcast, label or flags in place
// (RTM_NEWADDR with NLM_F_REPLACE updates lifetimes and metric only), so an
// address whose asked-for attributes differ is deleted and added again. The
// delete flushes routes through it: the working state learns that from the
// kernel model, and the route phase adds the wanted ones back.
void Planner::readd_if_changed(const NsId& ns, const std::string& dev, const Prefix& p, const AddressWant& want) {
    NetnsState& s = work_.at(ns);
    auto it = std::find_if(s.addresses.begin(), s.addresses.end(),
                           [&](const AddressState& a) { return a.dev == dev && a.prefix == p; });
    if (it == s.addresses.end()) return;
    const bool differs = want.exact ? !it->attrs.same(want.attrs) : it->attrs.broadcast != want.attrs.broadcast;
    if (!differs) return;
    Step del;
    del.op = Step::Op::DelAddress;
    del.ns = ns;
    del.address = *it;
    del.why = "its attributes change (the kernel cannot change them in place)";
    Step add = del;
    add.op = Step::Op::AddAddress;
    add.address.secondary = false;
    if (want.exact) add.address.attrs = want.attrs;
    else add.address.attrs.broadcast = want.attrs.broadcast;
    add.why = "added back with " + (add.address.attrs.broadcast ? "broadcast " + add.address.attrs.broadcast->str()
                                                                 : std::string("no broadcast"));
    apply_step(work_, del);
    apply_step(work_, add);
    phases_[kAddAddresses].push_back(std::move(del));
    phases_[kAddAddresses].push_back(std::move(add));
}
void Planner::addresses() {
    for (const auto& [ns, dns] : desired_.namespaces) {
        if (!reachable(ns)) continue;
        const NetnsState& s = work_.at(ns);
        for (const auto& [name, spec] : dns.links) {
            if (!spec.addresses || !will_exist(ns, name)) continue;
            const std::set<Prefix> have = creates_.count({ns, name}) ? std::set<Prefix>{} : addresses_of(s, name);
            for (const auto& p : *spec.addresses) {
                if (link_local(p)) continue;
                auto want = spec.address_attrs.find(p);
                if (have.count(p)) {
                    if (want != spec.address_attrs.end()) readd_if_changed(ns, name, p, want->second);
                    continue;
                }
                std::string why = "address wanted here";
                Step st;
                st.op = Step::Op::AddAddress;
                st.ns = ns;
                st.address = {name, p};
                st.address.attrs.broadcast = model::default_broadcast(p);
                for (const auto& a : s.addresses)
                    if (a.prefix == p && a.dev != name) {
                        why = "added before it leaves " + a.dev + ": no gap";
                        st.address.attrs = carried(a, name);
                        if (a.attrs.leased()) why += " (a DHCP lease there: moved as a static address)";
                    }
                if (want != spec.address_attrs.end()) {
                    if (want->second.exact) st.address.attrs = want->second.attrs;
                    else st.address.attrs.broadcast = want->second.attrs.broadcast;
                }
                st.why = why;
                phases_[kAddAddresses].push_back(st);
            }
            bool replaced = false;  // an IPv4 address goes while another in its subnet stays or comes
            for (const auto& p : have) {
                if (spec.addresses->count(p)) continue;
                Step st;
                st.op = Step::Op::DelAddress;
                st.ns = ns;
                st.address = {name, p};
                st.why = "removed last: the kernel flushes routes through it";
                for (const auto& q : *spec.addresses)
                    if (p.addr.is_v4() && q.addr.is_v4() && q.network() == p.network()) {
                        replaced = true;
                        st.why = "removed last; " + q.str() + " is promoted to primary and keeps the routes";
                    }
                phases_[kDropAddresses].push_back(st);
            }
            promote_secondaries(ns, name, spec, replaced);
        }
    }
}

// The kernel keeps one primary IPv4 address per subnet on a link; one
// added later in the same subnet is a secondary, and deleting the primary
// deletes its secondaries with it (and, with the link's last address, the
// routes through it). So when an address is replaced by another in its
// subnet (198.51.100.10/24 -> .11/24), promote_secondaries is turned on
// before the old one goes, which makes the new one the primary instead,
// and set back to the link's own value afterwards.
void Planner::promote_secondaries(const NsId& ns, const std::string& name, const LinkSpec& spec, bool replaced) {
    const LinkState* o = creates_.count({ns, name}) ? nullptr : find(ns, name);
    if (!o) return;
    const bool now = o->promote_secondaries.value_or(false);
    bool current = now;
    LinkSpec c;
    c.name = name;
    if (replaced && !now) {
        c.promote_secondaries = true;
        emit(kConfigure, Step::Op::SetLink, ns, c,
             "an address is replaced in its subnet: the new one must become primary, not go with the old one");
        current = true;
    }
    const bool want = spec.promote_secondaries.value_or(now);
    if (want == current) return;
    c.promote_secondaries = want;
    emit(replaced ? kSettle : kConfigure, Step::Op::SetLink, ns, c,
         replaced ? "back to the link's own setting" : "promote_secondaries as before");
}

// ---- routes ---------------------------------------------------------------
void Planner::routes() {
    for (const auto& [ns, s] : work_) {
        auto d = desired_.namespaces.find(ns);
        static const DesiredNs kNone;
        const DesiredNs& dns = d == desired_.namespaces.end() ? kNone : d->second;
        std::vector<RouteState> want;
        for (const auto& r : dns.routes) {
            RouteState w = as_reported(r, route_dev(ns, r));
            if (std::none_of(want.begin(), want.end(), [&](const RouteState& o) { return o.same_key(w); }))
                want.push_back(w);
        }
        for (const auto& w : want) {
            bool same = false, key = false;
            for (const auto& o : s.routes) {
                if (!o.same_key(w)) continue;
                key = true;
                same = same || (o.via == w.via && o.dev == w.dev && o.protocol == w.protocol && o.scope == w.scope);
            }
            if (same) continue;
            Step st;
            st.op = key ? Step::Op::ReplaceRoute : Step::Op::AddRoute;
            st.ns = ns;
            st.route = w;
            st.why = key ? "swapped in place (NLM_F_REPLACE): no moment without the route" : "route wanted";
            phases_[kRoutes].push_back(st);
        }
        for (const auto& o : s.routes) {
            if (std::any_of(want.begin(), want.end(), [&](const RouteState& w) { return w.same_key(o); })) continue;
            if (dies_.count({ns, o.dev})) continue;  // goes with its device
            const bool unwanted = std::any_of(dns.unwanted_routes.begin(), dns.unwanted_routes.end(), [&](const RouteSpec& u) {
                return as_reported(u, u.dev).same_key(o) && u.dev == o.dev && u.via == o.via && u.protocol == o.protocol;
            });
            if (!o.owned() && !unwanted) continue;
            Step st;
            st.op = Step::Op::DelRoute;
            st.ns = ns;
            st.route = o;
            st.why = unwanted ? "added by the failed plan" : "netlab's route, no longer desired";
            phases_[kDropRoutes].push_back(st);
        }
        // An on-link gateway's host route goes after the routes via that
        // gateway: the reverse of the order they came in.
        auto& drops = phases_[kDropRoutes];
        // `here` by name: clang 14 (the fuzz build's) cannot capture the
        // structured binding `ns` itself.
        auto gateway_route = [&, &here = ns](const Step& h) {
            return h.ns == here && !h.route.via && h.route.dst.len == (h.route.dst.addr.is_v4() ? 32 : 128) &&
                   std::any_of(drops.begin(), drops.end(), [&](const Step& v) {
                       return v.ns == here && v.route.via == h.route.dst.addr && v.route.dev == h.route.dev;
                   });
        };
        std::vector<Step> first, last;
        for (auto& st : drops) (gateway_route(st) ? last : first).push_back(st);
        first.insert(first.end(), last.begin(), last.end());
        drops = std::move(first);
        rehome(ns, s, dns, want);
    }
}

std::set<Prefix> Planner::v4_after(const NsId& ns, const std::string& name) const {
    std::set<Prefix> out;
    if (!will_exist(ns, name)) return out;
    const LinkSpec* w = wanted(ns, name);
    const std::set<Prefix> all = w && w->addresses ? *w->addresses
                                 : creates_.count({ns, name}) ? std::set<Prefix>{}
                                                              : addresses_of(work_.at(ns), name);
    for (const auto& p : all)
        if (p.addr.is_v4()) out.insert(p);
    return out;
}

// A link that loses its last IPv4 address takes every IPv4 route through
// it along: the kernel flushes them (fib_disable_ip), foreign ones too.
// Before that happens (kRoutes runs before kDropAddresses), a foreign
// route moves, unchanged but for its device, to the link that takes over
// the subnet: the one whose addresses after the plan hold its gateway,
// or, for an on-link route, the one the departing address moves to.
// NLM_F_REPLACE swaps it in place, so it never disappears. Routes the
// desired state names (or netlab owns) are not foreign: routes() above
// decides about them. A route with nowhere to go is left to the kernel.
void Planner::rehome(const NsId& ns, const NetnsState& s, const DesiredNs& dns, const std::vector<RouteState>& want) {
    std::map<std::string, std::set<Prefix>> losing;  // link -> the IPv4 addresses it gives up
    for (const auto& [name, spec] : dns.links) {
        if (!spec.addresses || creates_.count({ns, name}) || dies_.count({ns, name})) continue;
        std::set<Prefix> had;
        for (const auto& p : addresses_of(s, name))
            if (p.addr.is_v4()) had.insert(p);
        if (!had.empty() && v4_after(ns, name).empty()) losing[name] = had;
    }
    if (losing.empty()) return;
    for (const auto& o : s.routes) {
        auto lost = losing.find(o.dev);
        if (lost == losing.end() || !o.dst.addr.is_v4() || o.protocol == model::kProtoKernel || o.owned()) continue;
        if (std::any_of(want.begin(), want.end(), [&](const RouteState& w) { return w.same_key(o); })) continue;
        if (std::any_of(dns.unwanted_routes.begin(), dns.unwanted_routes.end(),
                        [&](const RouteSpec& u) { return u.dst == o.dst && u.metric == o.metric && u.table == o.table; }))
            continue;
        std::string home;
        for (const auto& [name, spec] : dns.links) {
            if (name == o.dev || losing.count(name) || !master_after(ns, name).empty()) continue;
            const LinkState* now = find(ns, name);
            if (!(spec.up ? *spec.up : now && now->up)) continue;  // ENETDOWN
            const std::set<Prefix> after = v4_after(ns, name);
            const bool fits = o.via ? std::any_of(after.begin(), after.end(), [&](const Prefix& p) { return p.contains(*o.via); })
                                    : std::any_of(lost->second.begin(), lost->second.end(), [&](const Prefix& p) { return after.count(p) != 0; });
            if (fits) {
                home = name;
                break;
            }
        }
        if (home.empty()) continue;
        Step st;
        st.op = Step::Op::ReplaceRoute;
        st.ns = ns;
        st.route = o;
        st.route.dev = home;
        st.why = "foreign route moves with the subnet before " + o.dev +
                 " loses its last IPv4 address (the kernel would flush it)";
        phases_[kRoutes].push_back(st);
    }
}
}  // namespace netlab::reconcile::planning
