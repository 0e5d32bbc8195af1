// The planner's link phases: links made again, the preflight, creation
// (parents and masters first), attributes and masters, and deletion
// (children and ports before their parents and masters).
#include <algorithm>

#include "reconcile/plan/planner_internal.hpp"

namespace netlab::reconcile::planning {

namespace {

std::string in_ns(const NsId& ns) { return ns.empty() ? std::string() : " in " + ns; }

std::string kind_name(const std::string& kind) { return kind.empty() ? "plain" : kind; }

std::string route_text(const RouteSpec& r) {
    std::string s = "route " + (r.dst.is_default() ? std::string("default") : r.dst.str());
    if (r.via) s += " via " + r.via->str();
    return s;
}

}  // namespace

// ---- phase 0: links that cannot be changed in place ----------------------
void Planner::recreate() {
    for (const auto& [ns, dns] : desired_.namespaces) {
        if (!reachable(ns)) continue;
        for (const auto& [name, spec] : dns.links) {
            if (!spec.creates()) continue;
            if (spec.kind == LinkKind::Veth && !reachable(spec.peer_ns)) continue;
            const LinkState* o = find(ns, name);
            if (!o) {
                // A leftover end would make the pair's creation fail.
                if (spec.kind == LinkKind::Veth)
                    if (const LinkState* p = find(spec.peer_ns, spec.peer_name)) {
                        if (owned(spec.peer_ns, *p))
                            drop(spec.peer_ns, spec.peer_name,
                                 is_kind(p->kind, LinkKind::Veth) ? "leftover end of a veth pair whose other end is gone"
                                                   : "netlab's " + kind_name(p->kind) + " link must become the end of a veth pair");
                        else refuse(spec.peer_name + in_ns(spec.peer_ns) + ": the name is taken by a link netlab does not own; the veth pair for " + name + " cannot be created");
                    }
                continue;
            }
            const std::string want(to_string(spec.kind == LinkKind::VethPeer ? LinkKind::Veth : spec.kind));
            std::string why;
            if (o->kind != want) {
                if (!owned(ns, *o)) {
                    refuse(name + in_ns(ns) + ": a " + kind_name(o->kind) + " link netlab does not own has this name; it cannot become a " + want,
                           "rename or delete the existing link, or choose another name");
                    continue;
                }
                why = "netlab's " + kind_name(o->kind) + " link must become a " + want;
            } else if (!owned(ns, *o)) {
                continue;  // a foreign link of the right kind: adopted, never deleted
            } else if (spec.kind == LinkKind::Macvlan && o->macvlan_mode != spec.mode) {
                why = std::string("macvlan mode changes to ") + model::to_string(spec.mode);
            } else if (spec.kind == LinkKind::Macvlan && spec.parent_ns == ns && !o->parent.empty() && o->parent != spec.parent) {
                why = "macvlan parent changes from " + o->parent + " to " + spec.parent;
            } else if (spec.kind == LinkKind::Veth && !spec.peer_name.empty() && !find(spec.peer_ns, spec.peer_name)) {
                why = "its peer " + spec.peer_name + in_ns(spec.peer_ns) + " is gone";
            } else if (spec.kind == LinkKind::VethPeer && !partner_exists(ns, name)) {
                why = "its host end is gone";
            }
            if (!why.empty()) drop(ns, name, why + ": delete and create again");
        }
    }
}

bool Planner::partner_exists(const NsId& ns, const std::string& name) const {
    if (auto p = partners_.find({ns, name}); p != partners_.end()) return find(p->second.ns, p->second.name) != nullptr;
    return host_end(ns, name) != nullptr;
}

void Planner::drop(const NsId& ns, const std::string& name, std::string why) {
    LinkSpec l;
    l.name = name;
    emit(kRecreate, Step::Op::DeleteLink, ns, l, std::move(why));
    remove_link(work_, ns, name);
}

void Planner::collect_creates_and_deletes() {
    for (const auto& [ns, dns] : desired_.namespaces) {
        if (!reachable(ns)) continue;
        for (const auto& [name, spec] : dns.links) {
            if (!spec.creates() || spec.kind == LinkKind::VethPeer || find(ns, name)) continue;
            if (spec.kind == LinkKind::Veth && !reachable(spec.peer_ns)) continue;
            creates_.insert({ns, name});
            if (spec.kind == LinkKind::Veth) creates_.insert({spec.peer_ns, spec.peer_name});
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
            if (is_kind(l.kind, LinkKind::Veth) && !l.parent.empty() && deletes_.count({ns, l.parent})) {
                dies_.insert({ns, name});
                continue;
            }
            deletes_.insert({ns, name});
            dies_.insert({ns, name});
        }
    }
}

// ---- preflight: what the kernel is certain to refuse ----------------------
void Planner::preflight() {
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
            if (spec.kind == LinkKind::Macvlan && !find(ns, name)) {
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
    bridge_ports();
}

// A bridge's ports once the plan ran: past kMaxBridgePorts the kernel
// refuses the next enslave (or a create with that master) with EXFULL,
// partway through the plan, and each such refused create costs an
// unregister. The validator counts the ports the files name; this counts
// what the kernel has too (ports netlab does not manage).
void Planner::bridge_ports() {
    std::map<LinkRef, std::size_t> now, after;  // (namespace, bridge) -> its ports
    for (const auto& [ns, s] : work_)
        for (const auto& [name, l] : s.links) {
            if (!l.master.empty()) ++now[{ns, l.master}];
            if (dies_.count({ns, name})) continue;
            if (const std::string m = master_after(ns, name); !m.empty()) ++after[{ns, m}];
        }
    for (const auto& r : creates_)
        if (!find(r.ns, r.name))
            if (const std::string m = master_after(r.ns, r.name); !m.empty()) ++after[{r.ns, m}];
    for (const auto& [bridge, n] : after)
        if (n > model::kMaxBridgePorts && n > now[bridge])
            refuse(bridge.name + in_ns(bridge.ns) + ": would hold " + std::to_string(n) + " ports after this plan (" +
                       std::to_string(now[bridge]) + " now); a Linux bridge holds at most " +
                       std::to_string(model::kMaxBridgePorts) + model::kBridgePortLimitWhy,
                   "ports the topology does not name count too: take some off " + bridge.name +
                       ", or spread the containers over more bridges");
}

std::vector<std::string> Planner::macvlan_children(const NsId& ns, const std::string& name) const {
    std::vector<std::string> out;
    if (auto s = work_.find(ns); s != work_.end())
        for (const auto& [n, l] : s->second.links)
            if (is_kind(l.kind, LinkKind::Macvlan) && l.parent == name && !dies_.count({ns, n})) out.push_back(n);
    for (const auto& [cns, dns] : desired_.namespaces)
        for (const auto& [n, spec] : dns.links)
            if (cns != ns && spec.kind == LinkKind::Macvlan && spec.parent_ns == ns && spec.parent == name && find(cns, n))
                out.push_back(n + in_ns(cns));
    return out;
}

// ---- creation, parents and masters first --------------------------------
void Planner::create() {
    std::vector<LinkRef> todo;
    for (const auto& [ns, dns] : desired_.namespaces)
        for (const auto& [name, spec] : dns.links)
            if (creates_.count({ns, name}) && spec.kind != LinkKind::VethPeer) todo.push_back({ns, name});
    std::set<LinkRef> done;
    while (!todo.empty()) {
        auto ready = std::stable_partition(todo.begin(), todo.end(), [&](const LinkRef& r) {
            const LinkSpec& s = *wanted(r.ns, r.name);
            auto waits = [&](const LinkRef& dep) { return creates_.count(dep) && !done.count(dep) && !(dep == r); };
            return !(s.kind == LinkKind::Macvlan && waits({s.parent_ns, s.parent})) &&
                   !(s.master && waits({r.ns, *s.master}));
        });
        if (ready == todo.begin()) ready = todo.end();  // a cycle: cannot happen with valid input
        for (auto it = todo.begin(); it != ready; ++it) {
            const LinkSpec& s = *wanted(it->ns, it->name);
            LinkSpec c;
            c.name = s.name;
            c.kind = s.kind;
            c.mtu = resolved_mtu(s);
            // What the kernel gives anyway needs no attribute: a macvlan
            // starts with its parent's MTU, a veth with 1500.
            if (!s.mtu && c.mtu && s.mtu_from &&
                (s.kind == LinkKind::Macvlan ? s.mtu_from == s.parent && s.parent_ns == s.mtu_from_ns : *c.mtu == 1500))
                c.mtu.reset();
            c.mac = resolved_mac(it->ns, s);
            c.promisc = s.promisc;
            if (s.group && *s.group != 0) c.group = s.group;
            if (s.master && !s.master->empty()) c.master = s.master;
            std::string why = "netlab creates it";
            if (s.kind == LinkKind::Bridge) {
                c.stp = s.stp;
                if (s.mac_from) why = "new bridge; takes the MAC of " + *s.mac_from + " so peers' ARP caches stay valid";
            } else if (s.kind == LinkKind::Macvlan) {
                c.parent = s.parent;
                c.parent_ns = s.parent_ns;
                c.mode = s.mode;
                why = "macvlan child of " + s.parent;
            } else if (s.kind == LinkKind::Veth) {
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
bool Planner::carries_traffic(const NsId& ns, const std::string& name, const LinkSpec& spec) const {
    if (spec.addresses && std::any_of(spec.addresses->begin(), spec.addresses->end(),
                                      [](const Prefix& p) { return !link_local(p); }))
        return true;
    const auto& dns = desired_.namespaces.at(ns);
    return std::any_of(dns.routes.begin(), dns.routes.end(),
                       [&](const RouteSpec& r) { return route_dev(ns, r) == name; });
}

void Planner::configure_links() {
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
            if (auto mtu = resolved_mtu(spec); mtu && *mtu != o->mtu) c.mtu = mtu, what.push_back("mtu");
            if (auto mac = resolved_mac(ns, spec); mac && *mac != o->mac) c.mac = mac, what.push_back("mac");
            if (spec.stp && is_kind(o->kind, LinkKind::Bridge) && o->stp && spec.stp != o->stp) c.stp = spec.stp, what.push_back("stp");
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

void Planner::configure_new(const NsId& ns, const LinkSpec& spec) {
    LinkSpec c;
    c.name = spec.name;
    if (spec.kind == LinkKind::VethPeer) {
        // Created by its partner's step with nothing but a name.
        c.mtu = resolved_mtu(spec);
        if (!spec.mtu && c.mtu == 1500u) c.mtu.reset();  // a new veth's own
        c.mac = resolved_mac(ns, spec);
        c.promisc = spec.promisc;
        if (spec.group && *spec.group != 0) c.group = spec.group;
        if (spec.master && !spec.master->empty()) c.master = spec.master;
    }
    if (spec.up && *spec.up && spec.kind != LinkKind::Veth) c.up = true;  // a veth is created up
    LinkSpec nothing;
    nothing.name = spec.name;
    if (c == nothing) return;
    emit(kConfigure, Step::Op::SetLink, ns, c,
         spec.kind == LinkKind::VethPeer ? "configure the new veth end" : "bring the new link up");
}

// ---- deletion, children and ports before their parents and masters -------
// Deleting a link makes the kernel wait in rcu_barrier() (~20 ms) once
// per request, however small. So the links one namespace loses go in one
// request: a group delete (Step::Op::DeleteGroup, one RTM_DELLINK with
// IFLA_GROUP), which the kernel unregisters as one batch. A lone link is
// deleted by name. Containers come first (their links may hang off the
// host's), each namespace in name order.
void Planner::remove_links() {
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
                if (is_kind(l->kind, LinkKind::Macvlan) && !l->parent.empty() && l->parent != other.name)
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
                 o && is_kind(o->kind, LinkKind::Veth) ? "netlab's veth, no longer desired (both ends go)"
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

std::uint32_t Planner::free_group(const NsId& ns) const {
    std::set<std::uint32_t> used;
    if (auto s = work_.find(ns); s != work_.end())
        for (const auto& [_, l] : s->second.links) used.insert(l.group);
    std::uint32_t g = kFirstDeleteGroup;
    while (used.count(g)) ++g;
    return g;
}
}  // namespace netlab::reconcile::planning
