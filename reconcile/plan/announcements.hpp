// Which addresses an applied plan should announce to the link's neighbours:
// the ones it added, and every address of a link whose MAC it changed. Pure.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include "reconcile/kernel.hpp"
#include "reconcile/plan/kernel_model.hpp"
#include "reconcile/plan/plan.hpp"

namespace netlab::reconcile {

// `after`: the verified state the plan left. An address the plan added and
// later removed is not there, nor a link without a MAC (nothing to say),
// nor a bridge without a port in `after` (no neighbour behind it); IPv6
// link-local addresses are left out (the kernel's own, never moved by
// netlab). Sorted, each address once.
std::vector<Announcement> announcements(const Plan& plan, const Observed& after);

// How often each announcement is sent, and the pause between two rounds:
// a lost frame is covered by the next. An apply announcing more than
// kAnnounceRepeatMax addresses (a mass attach) sends each once: every
// broadcast reaches every port of the bridge, so a round of 1000 containers
// on one bridge is a million frames (~0.9 s measured) and repeats would
// add seconds.
inline constexpr int kAnnounceRounds = 3;
inline constexpr std::chrono::milliseconds kAnnounceGap{20};
inline constexpr std::size_t kAnnounceRepeatMax = 64;

// The rounds still owed after the first: what Engine::apply sends before
// it returns (the CLI) or hands back for its caller to send from a timer
// (netlabd: Options::announce_later), kAnnounceGap apart.
struct AnnounceLater {
    std::vector<Announcement> what;
    int rounds = 0;  // still to send
    bool empty() const { return what.empty() || rounds <= 0; }
};

// After a first round of `what`: the rounds still owed (none for a mass attach).
AnnounceLater repeats_of(std::vector<Announcement> what);

}  // namespace netlab::reconcile
