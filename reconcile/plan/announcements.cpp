// Which addresses an applied plan announces (see announcements.hpp).
#include "reconcile/plan/announcements.hpp"

#include <set>

namespace netlab::reconcile {

std::vector<Announcement> announcements(const Plan& plan, const Observed& after) {
    std::set<Announcement> out;
    auto add = [&](const NsId& ns, const model::NetnsState& state, const model::AddressState& a) {
        if (a.prefix.addr.is_link_local_v6()) return;
        auto l = state.links.find(a.dev);
        if (l == state.links.end() || l->second.mac.is_zero() || l->second.ifindex <= 0) return;
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
