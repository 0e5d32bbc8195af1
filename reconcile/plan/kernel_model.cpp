// The pure kernel model: Steps applied to NetnsState values with the
// kernel's side effects (kernel_model.hpp lists what is modelled).
#include "reconcile/plan/kernel_model.hpp"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "reconcile/plan/compile.hpp"

namespace netlab::reconcile {

model::RouteState as_reported(const RouteSpec& r, const std::string& dev) {
    model::RouteState s;
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

namespace {

using model::AddressState;
using model::LinkState;
using model::NetnsState;
using model::RouteState;

[[noreturn]] void refuse(int code, const NsId& ns, const std::string& what) {
    throw KernelRefusal(code, (ns.empty() ? std::string() : ns + "/") + what);
}

NetnsState& namespace_of(Observed& state, const NsId& ns) {
    auto it = state.find(ns);
    if (it == state.end()) refuse(EBADF, ns, "no such namespace");
    return it->second;
}

LinkState& link_of(NetnsState& s, const NsId& ns, const std::string& name) {
    auto it = s.links.find(name);
    if (it == s.links.end()) refuse(ENODEV, ns, name + ": no such device");
    return it->second;
}

template <class Set, class Pred>
void erase_if_set(Set& s, Pred p) {
    for (auto it = s.begin(); it != s.end();) it = p(*it) ? s.erase(it) : std::next(it);
}

bool has_macvlan_children(const NetnsState& s, const std::string& name) {
    return std::any_of(s.links.begin(), s.links.end(),
                       [&](const auto& kv) { return is_kind(kv.second.kind, LinkKind::Macvlan) && kv.second.parent == name; });
}


RouteState prefix_route(const AddressState& a) {
    RouteState r;
    r.dst = a.prefix.network();
    r.dev = a.dev;
    r.protocol = model::kProtoKernel;
    r.scope = 253;
    r.metric = a.prefix.addr.is_v6() ? 256 : 0;
    return r;
}

bool has_prefix_route(const AddressState& a) {
    constexpr std::uint32_t kNoPrefixRoute = 0x200;  // IFA_F_NOPREFIXROUTE
    return a.prefix.len < (a.prefix.addr.is_v4() ? 32 : 128) && !(a.attrs.flags & kNoPrefixRoute);
}

void add_prefix_routes(NetnsState& s, const std::string& dev) {
    for (const auto& a : s.addresses)
        if (a.dev == dev && has_prefix_route(a)) s.routes.insert(prefix_route(a));
}

int next_ifindex(const Observed& state) {
    int max = 0;
    for (const auto& [ns, s] : state)
        for (const auto& [name, l] : s.links) max = std::max(max, l.ifindex);
    return max + 1;
}

model::MacAddress generated_mac(int ifindex) {
    model::MacAddress m;
    m.bytes = {0x02, 0x00, 0x5e, 0x00, static_cast<std::uint8_t>(ifindex >> 8), static_cast<std::uint8_t>(ifindex)};
    return m;
}

// A gateway is reachable when an on-link route of the device covers it.
bool on_link(const NetnsState& s, const std::string& dev, const model::IpAddress& via) {
    return std::any_of(s.routes.begin(), s.routes.end(), [&](const RouteState& r) {
        return r.dev == dev && !r.via && r.dst.contains(via);
    });
}

void check_route(const NetnsState& s, const NsId& ns, const RouteState& r) {
    if (r.dev.empty()) refuse(EINVAL, ns, "route " + r.dst.str() + ": no device");
    auto it = s.links.find(r.dev);
    if (it == s.links.end()) refuse(ENODEV, ns, r.dev + ": no such device");
    if (!it->second.up) refuse(ENETDOWN, ns, r.dev + ": network is down");
    if (r.via && !on_link(s, r.dev, *r.via)) refuse(ENETUNREACH, ns, "route via " + r.via->str() + " dev " + r.dev + ": network is unreachable");
}

bool same_subnet(const AddressState& a, const AddressState& b) {
    return a.dev == b.dev && a.prefix.addr.is_v4() && b.prefix.addr.is_v4() && a.prefix.network() == b.prefix.network();
}

void delete_address(NetnsState& s, const AddressState& a) {
    auto stored = s.addresses.find(a);
    const bool primary = stored != s.addresses.end() && a.prefix.addr.is_v4() && !stored->secondary;
    s.addresses.erase(a);
    if (primary) {
        std::vector<AddressState> secondaries;
        for (const auto& o : s.addresses)
            if (o.secondary && same_subnet(o, a)) secondaries.push_back(o);
        auto l = s.links.find(a.dev);
        const bool promote = l != s.links.end() && l->second.promote_secondaries.value_or(false);
        for (std::size_t i = 0; i < secondaries.size(); ++i) {
            s.addresses.erase(secondaries[i]);
            if (!promote) continue;
            AddressState kept = secondaries[i];
            kept.secondary = i != 0;
            s.addresses.insert(kept);
        }
    }
    auto covered = [&](const model::IpAddress& ip) {
        return std::any_of(s.addresses.begin(), s.addresses.end(), [&](const AddressState& o) {
            return o.dev == a.dev && o.prefix.contains(ip);
        });
    };
    const bool lastV4 = a.prefix.addr.is_v4() &&
                        std::none_of(s.addresses.begin(), s.addresses.end(), [&](const AddressState& o) {
                            return o.dev == a.dev && o.prefix.addr.is_v4();
                        });
    erase_if_set(s.routes, [&](const RouteState& r) {
        if (r.dev != a.dev || r.dst.addr.family != a.prefix.addr.family) return false;
        if (lastV4) return true;
        if (r.protocol == model::kProtoKernel && !r.via && r.dst == a.prefix.network())
            return !covered(r.dst.addr);
        return r.via && a.prefix.contains(*r.via) && !covered(*r.via);
    });
}

}  // namespace

// The addresses are ordered by device first: only that device's range is
// read (a host with 1000 veth ends has 1000 link-local addresses).
std::set<model::Prefix> addresses_of(const NetnsState& s, const std::string& dev) {
    std::set<model::Prefix> out;
    for (auto it = s.addresses.lower_bound(AddressState{dev, model::Prefix{}}); it != s.addresses.end() && it->dev == dev;
         ++it)
        if (!link_local(it->prefix)) out.insert(it->prefix);
    return out;
}

void remove_link(Observed& state, const NsId& ns, const std::string& name_ref) {
    // A copy: callers pass names that live inside the link erased below
    // (recursion over children, peers), which ASan caught as use-after-free.
    const std::string name = name_ref;
    auto nsIt = state.find(ns);
    if (nsIt == state.end()) return;
    NetnsState& s = nsIt->second;
    auto it = s.links.find(name);
    if (it == s.links.end()) return;
    const LinkState gone = it->second;
    s.links.erase(it);
    erase_if_set(s.addresses, [&](const AddressState& a) { return a.dev == name; });
    erase_if_set(s.routes, [&](const RouteState& r) { return r.dev == name; });
    for (auto& [n, l] : s.links)
        if (l.master == name) l.master.clear();
    // Children die with their lower device.
    std::vector<std::string> children;
    for (const auto& [n, l] : s.links)
        if (is_kind(l.kind, LinkKind::Macvlan) && l.parent == name) children.push_back(n);
    for (const auto& c : children) remove_link(state, ns, c);
    if (!is_kind(gone.kind, LinkKind::Veth)) return;
    // A veth takes its peer along: in the same namespace it is named in
    // `parent`; across namespaces the pair is found by netlab's naming.
    if (!gone.parent.empty()) {
        remove_link(state, ns, gone.parent);
        return;
    }
    if (const std::string c = container_of(ns); !c.empty()) {
        auto host = state.find("");
        if (host != state.end()) {
            auto h = host->second.links.find(veth_host_name(c, name));
            if (h != host->second.links.end() && is_kind(h->second.kind, LinkKind::Veth)) remove_link(state, "", h->first);
        }
        return;
    }
    for (auto& [other, os] : state) {
        const std::string c = container_of(other);
        if (c.empty()) continue;
        for (const auto& [n, l] : os.links)
            if (is_kind(l.kind, LinkKind::Veth) && veth_host_name(c, n) == name) {
                remove_link(state, other, n);
                return;
            }
    }
}

void apply_step(Observed& state, const Step& step) {
    const NsId& ns = step.ns;
    NetnsState& s = namespace_of(state, ns);
    const LinkSpec& l = step.link;
    switch (step.op) {
        case Step::Op::CreateLink: {
            if (s.links.count(l.name)) refuse(EEXIST, ns, l.name + ": file exists");
            LinkState n;
            n.name = l.name;
            n.ifindex = next_ifindex(state);
            n.kind = to_string(l.kind);
            n.alias = std::string(model::kOwnedAliasPrefix) + n.kind;
            n.up = l.up.value_or(false);
            n.promisc = l.promisc.value_or(false);
            n.mtu = l.mtu.value_or(1500);
            n.mac = l.mac ? *l.mac : generated_mac(n.ifindex);
            n.promote_secondaries = false;
            if (!l.mac && l.mac_from) n.mac = link_of(s, ns, *l.mac_from).mac;
            if (l.kind == LinkKind::Bridge) n.stp = l.stp.value_or(false);
            n.group = l.group.value_or(0);
            if (l.kind == LinkKind::Macvlan) {
                NetnsState& ps = namespace_of(state, l.parent_ns);
                LinkState& parent = link_of(ps, l.parent_ns, l.parent);
                if (!parent.master.empty())
                    refuse(EBUSY, ns, l.name + ": " + l.parent + " is a bridge port: device or resource busy");
                n.macvlan_mode = l.mode;
                if (l.parent_ns == ns) n.parent = l.parent;
            }
            if (l.master && !l.master->empty()) {
                LinkState& m = link_of(s, ns, *l.master);
                if (!is_kind(m.kind, LinkKind::Bridge)) refuse(EINVAL, ns, *l.master + ": not a bridge");
                n.master = *l.master;
            }
            if (l.kind == LinkKind::Veth) {
                NetnsState& ps = namespace_of(state, l.peer_ns);
                if (ps.links.count(l.peer_name)) refuse(EEXIST, l.peer_ns, l.peer_name + ": file exists");
                LinkState p;
                p.name = l.peer_name;
                p.ifindex = n.ifindex + 1;
                p.kind = to_string(LinkKind::Veth);
                p.alias = std::string(model::kOwnedAliasPrefix) + "veth-peer";
                p.mtu = n.mtu;
                p.mac = generated_mac(p.ifindex);
                p.promote_secondaries = false;
                if (l.peer_ns == ns) {
                    p.parent = n.name;
                    n.parent = p.name;
                }
                ps.links.emplace(p.name, p);  // ps may be s: insert n below, after the lookups
            }
            s.links.emplace(n.name, n);
            return;
        }
        case Step::Op::DeleteLink:
            link_of(s, ns, l.name);
            remove_link(state, ns, l.name);
            return;
        case Step::Op::DeleteGroup: {
            // As the executor does it: refused, nothing changed, when a link
            // outside the members is in the group; members already gone are
            // done; the group request deletes the rest at once.
            if (step.group == 0) refuse(EPERM, ns, "group 0: operation not permitted");
            for (const auto& [name, x] : s.links)
                if (x.group == step.group &&
                    std::find(step.members.begin(), step.members.end(), name) == step.members.end())
                    refuse(EBUSY, ns, name + " is in group " + std::to_string(step.group) + " but not one of the members");
            for (const auto& m : step.members) remove_link(state, ns, m);
            return;
        }
        case Step::Op::SetLink: {
            LinkState& x = link_of(s, ns, l.name);
            if (l.master) {
                if (l.master->empty()) {
                    x.master.clear();
                } else {
                    LinkState& m = link_of(s, ns, *l.master);
                    if (!is_kind(m.kind, LinkKind::Bridge) || m.name == x.name) refuse(EINVAL, ns, *l.master + ": not a bridge");
                    if (has_macvlan_children(s, x.name))
                        refuse(EBUSY, ns, x.name + ": has macvlan children: device or resource busy");
                    x.master = *l.master;
                }
            }
            if (l.stp) {
                if (!is_kind(x.kind, LinkKind::Bridge)) refuse(EINVAL, ns, x.name + ": not a bridge");
                x.stp = *l.stp;
            }
            if (l.promisc) x.promisc = *l.promisc;
            if (l.promote_secondaries) x.promote_secondaries = *l.promote_secondaries;
            if (l.group) x.group = *l.group;
            if (l.mtu) x.mtu = *l.mtu;
            if (l.mac) x.mac = *l.mac;
            else if (l.mac_from) x.mac = link_of(s, ns, *l.mac_from).mac;
            if (l.up && *l.up != x.up) {
                x.up = *l.up;
                if (x.up) add_prefix_routes(s, x.name);
                else erase_if_set(s.routes, [&](const RouteState& r) { return r.dev == x.name; });
            }
            return;
        }
        case Step::Op::AddAddress: {
            const LinkState& x = link_of(s, ns, step.address.dev);
            if (s.addresses.count(step.address)) refuse(EEXIST, ns, step.address.prefix.str() + ": file exists");
            AddressState added = step.address;
            added.secondary = std::any_of(s.addresses.begin(), s.addresses.end(),
                                          [&](const AddressState& o) { return same_subnet(o, added); });
            s.addresses.insert(added);
            if (x.up && has_prefix_route(step.address)) s.routes.insert(prefix_route(step.address));
            return;
        }
        case Step::Op::DelAddress:
            link_of(s, ns, step.address.dev);
            if (!s.addresses.count(step.address))
                refuse(EADDRNOTAVAIL, ns, step.address.prefix.str() + ": cannot assign requested address");
            delete_address(s, step.address);
            return;
        case Step::Op::AddRoute:
        case Step::Op::ReplaceRoute: {
            const RouteState& r = step.route;
            check_route(s, ns, r);
            auto same = [&](const RouteState& o) { return o.same_key(r); };
            const bool exists = std::any_of(s.routes.begin(), s.routes.end(), same);
            if (exists && step.op == Step::Op::AddRoute) refuse(EEXIST, ns, "route " + r.dst.str() + ": file exists");
            if (exists) {
                // NLM_F_REPLACE swaps the first route with that key in place.
                auto it = std::find_if(s.routes.begin(), s.routes.end(), same);
                s.routes.erase(it);
            }
            s.routes.insert(r);
            return;
        }
        case Step::Op::DelRoute: {
            const RouteState& r = step.route;
            auto it = std::find_if(s.routes.begin(), s.routes.end(), [&](const RouteState& o) {
                return o.same_key(r) && (r.dev.empty() || o.dev == r.dev) && (!r.via || o.via == r.via) &&
                       (r.protocol == 0 || o.protocol == r.protocol);
            });
            if (it == s.routes.end()) refuse(ESRCH, ns, "route " + r.dst.str() + ": no such process");
            s.routes.erase(it);
            return;
        }
    }
}

}  // namespace netlab::reconcile
