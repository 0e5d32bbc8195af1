// diff + plan (pure). The order of steps is decided in one place, make_plan(),
// by phases; docs/plan.md explains each phase and why it sits where it does.
#include "reconcile/diff.hpp"

#include <algorithm>
#include <array>
#include <tuple>

#include "reconcile/compile.hpp"
#include "reconcile/memory_kernel.hpp"

namespace netlab::reconcile {

namespace {

using model::AddressState;
using model::LinkState;
using model::NetnsState;
using model::Prefix;
using model::RouteState;

// IPv6 link-local addresses are the kernel's: never added, removed or compared.
bool link_local(const Prefix& p) { return p.addr.is_link_local_v6(); }

// The addresses are ordered by device first: only that device's range is
// read (a host with 1000 veth ends has 1000 link-local addresses).
std::set<Prefix> addresses_of(const NetnsState& s, const std::string& dev) {
    std::set<Prefix> out;
    for (auto it = s.addresses.lower_bound(AddressState{dev, Prefix{}}); it != s.addresses.end() && it->dev == dev; ++it)
        if (!link_local(it->prefix)) out.insert(it->prefix);
    return out;
}

std::string in_ns(const NsId& ns) { return ns.empty() ? std::string() : " in " + ns; }

std::string kind_name(const std::string& kind) { return kind.empty() ? "plain" : kind; }

// A desired route as the kernel will report it: IPv6 has no route scopes
// (always universe) and turns metric 0 into 1024 (IP6_RT_PRIO_USER), so the
// comparison with observed routes must too, or nothing would ever converge.
RouteState route_state(const RouteSpec& r, const std::string& dev) {
    RouteState s;
    s.table = r.table;
    s.dst = r.dst;
    s.metric = r.metric;
    s.via = r.via;
    s.dev = dev;
    s.protocol = r.protocol;
    s.scope = r.scope;
    if (r.dst.addr.is_v6()) {
        s.scope = 0;
        if (s.metric == 0) s.metric = 1024;
    }
    return s;
}

std::string route_text(const RouteSpec& r) {
    std::string s = "route " + (r.dst.is_default() ? std::string("default") : r.dst.str());
    if (r.via) s += " via " + r.via->str();
    return s;
}

struct LinkRef {
    NsId ns;
    std::string name;
    auto operator<=>(const LinkRef&) const = default;
};

// The phases, in execution order. Each step lands in exactly one.
enum Phase {
    kRecreate,       // owned links that must be made again (wrong kind, parent, mode, lost peer)
    kCreate,         // new links, parents and masters first, with mac/mtu/master/stp
    kConfigure,      // new links up; adopted links' own attributes (no master change)
    kAddAddresses,   // before anything leaves the link that holds them now
    kEnslave,        // master changes; a port's own attributes go with it
    kRoutes,         // AddRoute / ReplaceRoute (NLM_F_REPLACE: no gap)
    kDropRoutes,     // owned routes no longer desired, before the kernel could flush them
    kDropAddresses,  // last of the moves: removing an address flushes routes
    kSettle,         // promote_secondaries back to the link's own setting
    kRelease,        // ports leaving a bridge that carry nothing themselves
    kDelete,         // owned links no longer desired, children and ports first
    kPhases
};

class Planner {
public:
    Planner(const Desired& desired, const Observed& observed) : desired_(desired), work_(observed) {}

    Plan run() {
        for (const auto& [ns, dns] : desired_.namespaces)
            for (const auto& [name, spec] : dns.links)
                if (spec.kind == "veth") partners_.try_emplace(LinkRef{spec.peer_ns, spec.peer_name}, LinkRef{ns, name});
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

private:
    const Desired& desired_;
    Observed work_;  // observed, minus what the recreate phase deletes
    Plan plan_;
    std::array<std::vector<Step>, kPhases> phases_;
    std::set<LinkRef> creates_;  // links this plan creates (veth peers included)
    std::set<LinkRef> deletes_;  // owned links this plan deletes at the end
    std::set<LinkRef> dies_;     // those and the veth ends that go with them
    std::map<LinkRef, LinkRef> partners_;  // desired veth peer -> the end that creates the pair

    bool reachable(const NsId& ns) const { return work_.count(ns) != 0; }

    const LinkState* find(const NsId& ns, const std::string& name) const {
        auto s = work_.find(ns);
        if (s == work_.end()) return nullptr;
        auto l = s->second.links.find(name);
        return l == s->second.links.end() ? nullptr : &l->second;
    }

    const LinkSpec* wanted(const NsId& ns, const std::string& name) const {
        auto d = desired_.namespaces.find(ns);
        if (d == desired_.namespaces.end()) return nullptr;
        auto l = d->second.links.find(name);
        return l == d->second.links.end() ? nullptr : &l->second;
    }

    // Will the link exist once the plan ran?
    bool will_exist(const NsId& ns, const std::string& name) const {
        return creates_.count({ns, name}) || (find(ns, name) && !dies_.count({ns, name}));
    }

    // The host end of a container's veth, when it is there.
    const LinkState* host_end(const NsId& ns, const std::string& name) const {
        const std::string c = container_of(ns);
        if (c.empty()) return nullptr;
        const LinkState* h = find("", veth_host_name(c, name));
        return h && h->kind == "veth" ? h : nullptr;
    }

    // netlab's mark; a container's veth end is netlab's when its host end is.
    bool owned(const NsId& ns, const LinkState& l) const {
        if (l.owned()) return true;
        if (l.kind != "veth") return false;
        const LinkState* h = host_end(ns, l.name);
        return h && h->owned();
    }

    void refuse(std::string message, std::string hint = "") {
        model::Diagnostic d;
        d.message = std::move(message);
        d.hint = std::move(hint);
        plan_.refusals.push_back(std::move(d));
    }

    void emit(Phase p, Step::Op op, const NsId& ns, LinkSpec link, std::string why) {
        Step s;
        s.op = op;
        s.ns = ns;
        s.link = std::move(link);
        s.why = std::move(why);
        phases_[p].push_back(std::move(s));
    }

    // What the link's master is once the plan ran.
    std::string master_after(const NsId& ns, const std::string& name) const {
        if (const LinkSpec* w = wanted(ns, name); w && w->master) return *w->master;
        if (const LinkState* o = find(ns, name)) return o->master;
        return "";
    }

    std::optional<model::MacAddress> resolved_mac(const NsId& ns, const LinkSpec& l) const {
        if (l.mac) return l.mac;
        if (!l.mac_from) return std::nullopt;
        if (const LinkState* o = find(ns, *l.mac_from)) return o->mac;
        if (const LinkSpec* w = wanted(ns, *l.mac_from); w && w->mac) return w->mac;
        return std::nullopt;
    }

    std::string route_dev(const NsId& ns, const RouteSpec& r) const {
        if (!r.dev.empty() || !r.via) return r.dev;
        auto s = work_.find(ns);
        if (s == work_.end()) return "";
        for (const auto& a : s->second.addresses)
            if (a.prefix.contains(*r.via) && !dies_.count({ns, a.dev})) return a.dev;
        return "";
    }

    // ---- phase 0: links that cannot be changed in place ----------------------
    void recreate() {
        for (const auto& [ns, dns] : desired_.namespaces) {
            if (!reachable(ns)) continue;
            for (const auto& [name, spec] : dns.links) {
                if (!spec.creates()) continue;
                if (spec.kind == "veth" && !reachable(spec.peer_ns)) continue;
                const LinkState* o = find(ns, name);
                if (!o) {
                    // A leftover end would make the pair's creation fail.
                    if (spec.kind == "veth")
                        if (const LinkState* p = find(spec.peer_ns, spec.peer_name)) {
                            if (owned(spec.peer_ns, *p))
                                drop(spec.peer_ns, spec.peer_name,
                                     p->kind == "veth" ? "leftover end of a veth pair whose other end is gone"
                                                       : "netlab's " + kind_name(p->kind) + " link must become the end of a veth pair");
                            else refuse(spec.peer_name + in_ns(spec.peer_ns) + ": the name is taken by a link netlab does not own; the veth pair for " + name + " cannot be created");
                        }
                    continue;
                }
                const std::string want = spec.kind == "veth-peer" ? "veth" : spec.kind;
                std::string why;
                if (o->kind != want) {
                    if (!owned(ns, *o)) {
                        refuse(name + in_ns(ns) + ": a " + kind_name(o->kind) + " link netlab does not own has this name; it cannot become a " + spec.kind,
                               "rename or delete the existing link, or choose another name");
                        continue;
                    }
                    why = "netlab's " + kind_name(o->kind) + " link must become a " + spec.kind;
                } else if (!owned(ns, *o)) {
                    continue;  // a foreign link of the right kind: adopted, never deleted
                } else if (spec.kind == "macvlan" && o->macvlan_mode != spec.mode) {
                    why = std::string("macvlan mode changes to ") + model::to_string(spec.mode);
                } else if (spec.kind == "macvlan" && spec.parent_ns == ns && !o->parent.empty() && o->parent != spec.parent) {
                    why = "macvlan parent changes from " + o->parent + " to " + spec.parent;
                } else if (spec.kind == "veth" && !spec.peer_name.empty() && !find(spec.peer_ns, spec.peer_name)) {
                    why = "its peer " + spec.peer_name + in_ns(spec.peer_ns) + " is gone";
                } else if (spec.kind == "veth-peer" && !partner_exists(ns, name)) {
                    why = "its host end is gone";
                }
                if (!why.empty()) drop(ns, name, why + ": delete and create again");
            }
        }
    }

    bool partner_exists(const NsId& ns, const std::string& name) const {
        if (auto p = partners_.find({ns, name}); p != partners_.end()) return find(p->second.ns, p->second.name) != nullptr;
        return host_end(ns, name) != nullptr;
    }

    void drop(const NsId& ns, const std::string& name, std::string why) {
        LinkSpec l;
        l.name = name;
        emit(kRecreate, Step::Op::DeleteLink, ns, l, std::move(why));
        remove_link(work_, ns, name);
    }

    void collect_creates_and_deletes() {
        for (const auto& [ns, dns] : desired_.namespaces) {
            if (!reachable(ns)) continue;
            for (const auto& [name, spec] : dns.links) {
                if (!spec.creates() || spec.kind == "veth-peer" || find(ns, name)) continue;
                if (spec.kind == "veth" && !reachable(spec.peer_ns)) continue;
                creates_.insert({ns, name});
                if (spec.kind == "veth") creates_.insert({spec.peer_ns, spec.peer_name});
            }
        }
        for (const auto& [ns, s] : work_) {
            for (const auto& [name, l] : s.links) {
                if (wanted(ns, name) || !owned(ns, l)) continue;
                // Deleting one end of a veth deletes both: only one is named.
                if (const LinkState* h = host_end(ns, name); h && deletes_.count({"", h->name})) {
                    dies_.insert({ns, name});
                    continue;
                }
                if (l.kind == "veth" && !l.parent.empty() && deletes_.count({ns, l.parent})) {
                    dies_.insert({ns, name});
                    continue;
                }
                deletes_.insert({ns, name});
                dies_.insert({ns, name});
            }
        }
    }

    // ---- preflight: what the kernel is certain to refuse ----------------------
    void preflight() {
        for (const auto& [ns, dns] : desired_.namespaces) {
            if (!reachable(ns)) continue;
            for (const auto& [name, spec] : dns.links) {
                const std::string where = name + in_ns(ns);
                if (!spec.creates() && !find(ns, name)) {
                    refuse(where + ": no such interface",
                           "an adopted interface must exist; netlab creates only bridges, macvlans and veths");
                    continue;
                }
                if (spec.mac_from && !spec.mac && !resolved_mac(ns, spec))
                    refuse(where + ": cannot take the MAC of " + *spec.mac_from + ": no such interface");
                if (spec.kind == "macvlan" && !find(ns, name)) {
                    if (!will_exist(spec.parent_ns, spec.parent)) {
                        refuse(where + ": macvlan parent " + spec.parent + in_ns(spec.parent_ns) + " does not exist");
                    } else if (const std::string m = master_after(spec.parent_ns, spec.parent); !m.empty()) {
                        refuse(spec.parent + ": cannot be the parent of macvlan " + name + in_ns(ns) + ": it is a port of " + m +
                                   " (the kernel answers EBUSY)",
                               "use the bridge as the parent, or take " + spec.parent + " out of " + m);
                    }
                }
                if (spec.master && !spec.master->empty()) {
                    const std::string& m = *spec.master;
                    if (!will_exist(ns, m)) {
                        refuse(where + ": master " + m + " does not exist");
                    } else if (const LinkState* o = find(ns, name); o && o->master != m) {
                        for (const auto& child : macvlan_children(ns, name))
                            refuse(name + ": cannot be enslaved to " + m + ": it is the parent of macvlan " + child +
                                       " (the kernel answers EBUSY)",
                                   "remove the macvlan devices on " + name + ", or make " + m + " their parent");
                    }
                }
            }
            for (const auto& r : dns.routes) {
                const std::string dev = route_dev(ns, r);
                if (dev.empty())
                    refuse(route_text(r) + in_ns(ns) + ": no interface reaches the gateway", "name the device with dev:");
                else if (!will_exist(ns, dev))
                    refuse(route_text(r) + in_ns(ns) + ": device " + dev + " does not exist");
            }
        }
    }

    // Existing macvlan children of a link, in its namespace or (as named by
    // the desired state) in a container's.
    std::vector<std::string> macvlan_children(const NsId& ns, const std::string& name) const {
        std::vector<std::string> out;
        if (auto s = work_.find(ns); s != work_.end())
            for (const auto& [n, l] : s->second.links)
                if (l.kind == "macvlan" && l.parent == name && !dies_.count({ns, n})) out.push_back(n);
        for (const auto& [cns, dns] : desired_.namespaces)
            for (const auto& [n, spec] : dns.links)
                if (cns != ns && spec.kind == "macvlan" && spec.parent_ns == ns && spec.parent == name && find(cns, n))
                    out.push_back(n + in_ns(cns));
        return out;
    }

    // ---- creation, parents and masters first --------------------------------
    void create() {
        std::vector<LinkRef> todo;
        for (const auto& [ns, dns] : desired_.namespaces)
            for (const auto& [name, spec] : dns.links)
                if (creates_.count({ns, name}) && spec.kind != "veth-peer") todo.push_back({ns, name});
        std::set<LinkRef> done;
        while (!todo.empty()) {
            auto ready = std::stable_partition(todo.begin(), todo.end(), [&](const LinkRef& r) {
                const LinkSpec& s = *wanted(r.ns, r.name);
                auto waits = [&](const LinkRef& dep) { return creates_.count(dep) && !done.count(dep) && !(dep == r); };
                return !(s.kind == "macvlan" && waits({s.parent_ns, s.parent})) &&
                       !(s.master && waits({r.ns, *s.master}));
            });
            if (ready == todo.begin()) ready = todo.end();  // a cycle: cannot happen with valid input
            for (auto it = todo.begin(); it != ready; ++it) {
                const LinkSpec& s = *wanted(it->ns, it->name);
                LinkSpec c;
                c.name = s.name;
                c.kind = s.kind;
                c.mtu = s.mtu;
                c.mac = resolved_mac(it->ns, s);
                c.promisc = s.promisc;
                if (s.group && *s.group != 0) c.group = s.group;
                if (s.master && !s.master->empty()) c.master = s.master;
                std::string why = "netlab creates it";
                if (s.kind == "bridge") {
                    c.stp = s.stp;
                    if (s.mac_from) why = "new bridge; takes the MAC of " + *s.mac_from + " so peers' ARP caches stay valid";
                } else if (s.kind == "macvlan") {
                    c.parent = s.parent;
                    c.parent_ns = s.parent_ns;
                    c.mode = s.mode;
                    why = "macvlan child of " + s.parent;
                } else if (s.kind == "veth") {
                    // The end netlab names is created up (one request less
                    // per container); only the peer cannot be (ENOTCONN).
                    if (s.up && *s.up) c.up = true;
                    c.peer_name = s.peer_name;
                    c.peer_ns = s.peer_ns;
                    why = "veth pair, peer " + s.peer_name + " created directly in " +
                          (s.peer_ns.empty() ? std::string("the host") : s.peer_ns);
                }
                emit(kCreate, Step::Op::CreateLink, it->ns, c, why);
                done.insert(*it);
            }
            todo.erase(todo.begin(), ready);
        }
    }

    // ---- attributes and masters ---------------------------------------------
    bool carries_traffic(const NsId& ns, const std::string& name, const LinkSpec& spec) const {
        if (spec.addresses && std::any_of(spec.addresses->begin(), spec.addresses->end(),
                                          [](const Prefix& p) { return !link_local(p); }))
            return true;
        const auto& dns = desired_.namespaces.at(ns);
        return std::any_of(dns.routes.begin(), dns.routes.end(),
                           [&](const RouteSpec& r) { return route_dev(ns, r) == name; });
    }

    void configure_links() {
        for (const auto& [ns, dns] : desired_.namespaces) {
            if (!reachable(ns)) continue;
            for (const auto& [name, spec] : dns.links) {
                if (creates_.count({ns, name})) {
                    configure_new(ns, spec);
                    continue;
                }
                const LinkState* o = find(ns, name);
                if (!o) continue;
                LinkSpec c;
                c.name = name;
                std::vector<std::string> what;
                if (spec.up && *spec.up != o->up) c.up = spec.up, what.push_back(*spec.up ? "up" : "down");
                if (spec.promisc && *spec.promisc != o->promisc) c.promisc = spec.promisc, what.push_back("promisc");
                if (spec.mtu && *spec.mtu != o->mtu) c.mtu = spec.mtu, what.push_back("mtu");
                if (auto mac = resolved_mac(ns, spec); mac && *mac != o->mac) c.mac = mac, what.push_back("mac");
                if (spec.stp && o->kind == "bridge" && o->stp && spec.stp != o->stp) c.stp = spec.stp, what.push_back("stp");
                if (spec.group && *spec.group != o->group) c.group = spec.group, what.push_back("group");
                const bool masterChanges = spec.master && *spec.master != o->master;
                if (masterChanges) c.master = spec.master;
                if (!masterChanges && what.empty()) continue;
                std::string why;
                for (const auto& w : what) why += (why.empty() ? "" : ", ") + w;
                if (!masterChanges) {
                    emit(kConfigure, Step::Op::SetLink, ns, c, why + " as desired");
                } else if (!spec.master->empty()) {
                    emit(kEnslave, Step::Op::SetLink, ns, c,
                         "becomes a port of " + *spec.master + " after the addresses it carried are on the bridge");
                } else if (carries_traffic(ns, name, spec)) {
                    emit(kEnslave, Step::Op::SetLink, ns, c,
                         "leaves " + o->master + " before routes return to it (its address is back already)");
                } else {
                    emit(kRelease, Step::Op::SetLink, ns, c, "no longer a port of " + o->master);
                }
            }
        }
    }

    void configure_new(const NsId& ns, const LinkSpec& spec) {
        LinkSpec c;
        c.name = spec.name;
        if (spec.kind == "veth-peer") {
            // Created by its partner's step with nothing but a name.
            c.mtu = spec.mtu;
            c.mac = resolved_mac(ns, spec);
            c.promisc = spec.promisc;
            if (spec.group && *spec.group != 0) c.group = spec.group;
            if (spec.master && !spec.master->empty()) c.master = spec.master;
        }
        if (spec.up && *spec.up && spec.kind != "veth") c.up = true;  // a veth is created up
        LinkSpec nothing;
        nothing.name = spec.name;
        if (c == nothing) return;
        emit(kConfigure, Step::Op::SetLink, ns, c,
             spec.kind == "veth-peer" ? "configure the new veth end" : "bring the new link up");
    }

    // ---- addresses ------------------------------------------------------------
    void addresses() {
        for (const auto& [ns, dns] : desired_.namespaces) {
            if (!reachable(ns)) continue;
            const NetnsState& s = work_.at(ns);
            for (const auto& [name, spec] : dns.links) {
                if (!spec.addresses || !will_exist(ns, name)) continue;
                const std::set<Prefix> have = creates_.count({ns, name}) ? std::set<Prefix>{} : addresses_of(s, name);
                for (const auto& p : *spec.addresses) {
                    if (link_local(p) || have.count(p)) continue;
                    std::string why = "address wanted here";
                    for (const auto& a : s.addresses)
                        if (a.prefix == p && a.dev != name) why = "added before it leaves " + a.dev + ": no gap";
                    Step st;
                    st.op = Step::Op::AddAddress;
                    st.ns = ns;
                    st.address = {name, p};
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
    void promote_secondaries(const NsId& ns, const std::string& name, const LinkSpec& spec, bool replaced) {
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
    void routes() {
        for (const auto& [ns, s] : work_) {
            auto d = desired_.namespaces.find(ns);
            static const DesiredNs kNone;
            const DesiredNs& dns = d == desired_.namespaces.end() ? kNone : d->second;
            std::vector<RouteState> want;
            for (const auto& r : dns.routes) {
                RouteState w = route_state(r, route_dev(ns, r));
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
                    return route_state(u, u.dev).same_key(o) && u.dev == o.dev && u.via == o.via && u.protocol == o.protocol;
                });
                if (!o.owned() && !unwanted) continue;
                Step st;
                st.op = Step::Op::DelRoute;
                st.ns = ns;
                st.route = o;
                st.why = unwanted ? "added by the failed plan" : "netlab's route, no longer desired";
                phases_[kDropRoutes].push_back(st);
            }
            rehome(ns, s, dns, want);
        }
    }

    // The IPv4 addresses a link has once the plan ran.
    std::set<Prefix> v4_after(const NsId& ns, const std::string& name) const {
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
    void rehome(const NsId& ns, const NetnsState& s, const DesiredNs& dns, const std::vector<RouteState>& want) {
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

    // ---- deletion, children and ports before their parents and masters -------
    // Deleting a link makes the kernel wait in rcu_barrier() (~20 ms) once
    // per request, however small. So the links one namespace loses go in one
    // request: a group delete (Step::Op::DeleteGroup, one RTM_DELLINK with
    // IFLA_GROUP), which the kernel unregisters as one batch. A lone link is
    // deleted by name. Containers come first (their links may hang off the
    // host's), each namespace in name order.
    void remove_links() {
        std::vector<LinkRef> todo(deletes_.begin(), deletes_.end());
        std::vector<LinkRef> order;
        // Containers first: their links may hang off the host's.
        std::stable_partition(todo.begin(), todo.end(), [](const LinkRef& r) { return !r.ns.empty(); });
        while (!todo.empty()) {
            // Links still waiting for a port or child of theirs to go first.
            std::set<LinkRef> waiting;
            for (const auto& other : todo)
                if (const LinkState* l = find(other.ns, other.name)) {
                    if (!l->master.empty() && l->master != other.name) waiting.insert({other.ns, l->master});
                    if (l->kind == "macvlan" && !l->parent.empty() && l->parent != other.name)
                        waiting.insert({other.ns, l->parent});
                }
            auto ready = std::stable_partition(todo.begin(), todo.end(), [&](const LinkRef& r) { return !waiting.count(r); });
            if (ready == todo.begin()) ready = todo.end();
            order.insert(order.end(), todo.begin(), ready);
            todo.erase(todo.begin(), ready);
        }
        std::vector<NsId> spaces;
        std::map<NsId, std::vector<std::string>> by_ns;
        for (const auto& r : order) {
            if (!by_ns.count(r.ns)) spaces.push_back(r.ns);
            by_ns[r.ns].push_back(r.name);
        }
        std::stable_partition(spaces.begin(), spaces.end(), [](const NsId& ns) { return !ns.empty(); });
        for (const auto& ns : spaces) {
            const auto& names = by_ns.at(ns);
            if (names.size() == 1) {
                LinkSpec l;
                l.name = names.front();
                const LinkState* o = find(ns, l.name);
                emit(kDelete, Step::Op::DeleteLink, ns, l,
                     o && o->kind == "veth" ? "netlab's veth, no longer desired (both ends go)"
                                            : "netlab's link, no longer desired");
                continue;
            }
            Step st;
            st.op = Step::Op::DeleteGroup;
            st.ns = ns;
            st.group = free_group(ns);
            st.members = names;
            st.why = std::to_string(names.size()) +
                     " netlab links no longer desired (a veth takes its other end along): one request, "
                     "one rcu_barrier() wait instead of one per link";
            phases_[kDelete].push_back(std::move(st));
        }
    }

    // A link group number no link of the namespace has (they start at 0,
    // the default; netlab's start at kFirstDeleteGroup).
    std::uint32_t free_group(const NsId& ns) const {
        std::set<std::uint32_t> used;
        if (auto s = work_.find(ns); s != work_.end())
            for (const auto& [_, l] : s->second.links) used.insert(l.group);
        std::uint32_t g = kFirstDeleteGroup;
        while (used.count(g)) ++g;
        return g;
    }
};

}  // namespace

Plan make_plan(const Desired& desired, const Observed& observed) { return Planner(desired, observed).run(); }

// ---- rollback target ---------------------------------------------------------

Desired restore_target(const Observed& snapshot, const Plan& plan) {
    // Links the plan created are not in the snapshot, so they are not
    // desired and, being netlab's, get deleted.
    std::set<LinkRef> touched;
    for (const auto& s : plan.steps) {
        switch (s.op) {
            case Step::Op::CreateLink:
            case Step::Op::DeleteLink:
            case Step::Op::SetLink:
                touched.insert({s.ns, s.link.name});
                break;
            case Step::Op::AddAddress:
            case Step::Op::DelAddress:
                touched.insert({s.ns, s.address.dev});
                break;
            case Step::Op::AddRoute:
            case Step::Op::ReplaceRoute:
            case Step::Op::DelRoute:
                touched.insert({s.ns, s.route.dev});
                break;
            case Step::Op::DeleteGroup:
                for (const auto& m : s.members) touched.insert({s.ns, m});
                break;
        }
    }

    Desired out;
    for (const auto& [ns, s] : snapshot) {
        DesiredNs& dns = out.namespaces[ns];
        for (const auto& [name, l] : s.links) {
            if (!touched.count({ns, name}) && !l.owned()) continue;
            LinkSpec spec;
            spec.name = name;
            // Owned links can be made again; anything else is only adjusted.
            spec.kind = l.owned() ? l.kind : "";
            spec.master = l.master;
            spec.up = l.up;
            spec.promisc = l.promisc;
            if (l.mtu) spec.mtu = l.mtu;
            spec.mac = l.mac;
            if (l.kind == "bridge") spec.stp = l.stp;
            spec.promote_secondaries = l.promote_secondaries;
            spec.group = l.group;
            spec.addresses = addresses_of(s, name);
            if (l.kind == "macvlan") {
                spec.parent = l.parent;
                spec.parent_ns = "";  // the host: containers' macvlans hang off host links
                spec.mode = l.macvlan_mode;
            }
            if (l.kind == "veth" && spec.kind == "veth") {
                if (!l.parent.empty()) {
                    spec.peer_name = l.parent;
                    spec.peer_ns = ns;
                } else if (ns.empty()) {
                    // A host end: its container end is found by netlab's naming.
                    for (const auto& [cns, cs] : snapshot) {
                        const std::string c = container_of(cns);
                        if (c.empty()) continue;
                        for (const auto& [n, cl] : cs.links)
                            if (cl.kind == "veth" && veth_host_name(c, n) == name) {
                                spec.peer_name = n;
                                spec.peer_ns = cns;
                            }
                    }
                } else {
                    spec.kind = "veth-peer";
                }
            }
            dns.links[name] = spec;
        }
        // Same-namespace veth pairs: one end creates, the other is its peer.
        for (auto& [name, spec] : dns.links)
            if (spec.kind == "veth" && spec.peer_ns == ns && !spec.peer_name.empty() && spec.peer_name < name)
                if (auto p = dns.links.find(spec.peer_name); p != dns.links.end()) spec.kind = "veth-peer";
        std::set<std::tuple<std::uint32_t, Prefix, std::uint32_t>> keys;
        for (const auto& r : s.routes) {
            if (r.table != model::kMainTable || r.protocol == model::kProtoKernel) continue;
            dns.routes.push_back(RouteSpec{r.dst, r.via, r.dev, r.metric, r.table, r.protocol, r.scope});
            keys.insert({r.table, r.dst, r.metric});
        }
        // Routes the plan added that netlab does not own (restored from the
        // ledger) would otherwise stay.
        for (const auto& st : plan.steps)
            if (st.ns == ns && st.op == Step::Op::AddRoute && !st.route.owned() &&
                !keys.count({st.route.table, st.route.dst, st.route.metric})) {
                const auto& r = st.route;
                dns.unwanted_routes.push_back(RouteSpec{r.dst, r.via, r.dev, r.metric, r.table, r.protocol, r.scope});
            }
    }
    return out;
}

// ---- ledger ---------------------------------------------------------------------

Ledger next_ledger(const Ledger& ledger, const model::Topology& topo, const Observed& before, const Plan& plan) {
    Ledger out = ledger;
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
                    if (std::none_of(routes.begin(), routes.end(), [&](const RouteState& x) { return x.same_key(r); }))
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
