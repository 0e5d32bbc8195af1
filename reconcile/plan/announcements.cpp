// Which addresses an applied plan announces (see announcements.hpp).
#include "reconcile/plan/announcements.hpp"

#include <set>

#include "reconcile/plan/desired.hpp"

namespace netlab::reconcile {

std::vector<Announcement> announcements(const Plan& plan, const Observed& after) {
    std::set<Announcement> out;
    // A bridge with no port reaches no neighbour: nobody behind it can hold
    // a stale entry, and a broadcast on it goes nowhere. Ports the topology
    // does not name (a VM's tap, made by hand) count: they are in `after`.
    auto has_port = [](const model::NetnsState& state, const std::string& bridge) {
        for (const auto& entry : state.links)
            if (entry.second.master == bridge) return true;
        return false;
    };
    auto add = [&](const NsId& ns, const model::NetnsState& state, const model::AddressState& a) {
        if (a.prefix.addr.is_link_local_v6()) return;
        auto l = state.links.find(a.dev);
        if (l == state.links.end() || l->second.mac.is_zero() || l->second.ifindex <= 0) return;
        if (is_kind(l->second.kind, LinkKind::Bridge) && !has_port(state, a.dev)) return;
        out.insert(Announcement{ns, a.dev, l->second.ifindex, l->second.mac, a.prefix.addr});
    };
    for (const Step& s : plan.steps) {
        auto ns = after.find(s.ns);
        if (ns == after.end()) continue;
        const model::NetnsState& state = ns->second;
        if (s.op == Step::Op::AddAddress) {
            if (auto a = state.addresses.find(s.address); a != state.addresses.end()) add(s.ns, state, *a);
        } else if (s.op == Step::Op::SetLink && (s.link.mac || s.link.mac_from)) {
            // Neighbours still hold the old MAC for every address of the link.
            for (const auto& a : state.addresses)
                if (a.dev == s.link.name) add(s.ns, state, a);
        }
    }
    return {out.begin(), out.end()};
}

AnnounceLater repeats_of(std::vector<Announcement> what) {
    if (what.empty() || what.size() > kAnnounceRepeatMax) return {};
    return AnnounceLater{std::move(what), kAnnounceRounds - 1};
}

}  // namespace netlab::reconcile
