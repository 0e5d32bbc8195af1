// The rollback target: a snapshot as a Desired (rollback_target.hpp).
#include "reconcile/plan/rollback_target.hpp"

#include <set>
#include <tuple>
#include <utility>

#include "reconcile/plan/compile.hpp"

namespace netlab::reconcile {

Desired restore_target(const Observed& snapshot, const Plan& plan) {
    // Links the plan created are not in the snapshot, so they are not
    // desired and, being netlab's, get deleted.
    std::set<std::pair<NsId, std::string>> touched;  // (namespace, link)
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
            spec.kind = l.owned() ? link_kind(l.kind).value_or(LinkKind::Existing) : LinkKind::Existing;
            spec.master = l.master;
            spec.up = l.up;
            spec.promisc = l.promisc;
            if (l.mtu) spec.mtu = l.mtu;
            spec.mac = l.mac;
            if (is_kind(l.kind, LinkKind::Bridge)) spec.stp = l.stp;
            spec.promote_secondaries = l.promote_secondaries;
            spec.group = l.group;
            spec.addresses = addresses_of(s, name);
            for (const auto& a : s.addresses)
                if (a.dev == name && spec.addresses->count(a.prefix)) spec.address_attrs[a.prefix] = {a.attrs, true};
            if (is_kind(l.kind, LinkKind::Macvlan)) {
                spec.parent = l.parent;
                spec.parent_ns = "";  // the host: containers' macvlans hang off host links
                spec.mode = l.macvlan_mode;
            }
            if (is_kind(l.kind, LinkKind::Veth) && spec.kind == LinkKind::Veth) {
                if (!l.parent.empty()) {
                    spec.peer_name = l.parent;
                    spec.peer_ns = ns;
                } else if (ns.empty()) {
                    // A host end: its container end is found by netlab's naming.
                    for (const auto& [cns, cs] : snapshot) {
                        const std::string c = container_of(cns);
                        if (c.empty()) continue;
                        for (const auto& [n, cl] : cs.links)
                            if (is_kind(cl.kind, LinkKind::Veth) && veth_host_name(c, n) == name) {
                                spec.peer_name = n;
                                spec.peer_ns = cns;
                            }
                    }
                } else {
                    spec.kind = LinkKind::VethPeer;
                }
            }
            dns.links[name] = spec;
        }
        // Same-namespace veth pairs: one end creates, the other is its peer.
        for (auto& [name, spec] : dns.links)
            if (spec.kind == LinkKind::Veth && spec.peer_ns == ns && !spec.peer_name.empty() && spec.peer_name < name)
                if (auto p = dns.links.find(spec.peer_name); p != dns.links.end()) spec.kind = LinkKind::VethPeer;
        std::set<std::tuple<std::uint32_t, model::Prefix, std::uint32_t>> keys;
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
}  // namespace netlab::reconcile
