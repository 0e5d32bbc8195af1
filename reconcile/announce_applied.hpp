// Telling neighbours about a verified apply's addresses: the rounds of
// reconcile/plan/announcements.hpp sent through Kernel::announce, and what
// became of each address, recorded in the Outcome.
#pragma once

#include <vector>

#include "reconcile/engine.hpp"
#include "reconcile/kernel.hpp"

namespace netlab::reconcile {

// Sends the first round now, and the later ones now too, kAnnounceGap
// apart, or with `later_by_caller` hands them back in out.announce_later
// (netlabd sends them from a timer). Sets out.announced (the addresses a
// round sent) and out.not_announced (the rest, each with why the last round
// did not send it). Throws only what allocation or a thread throws.
void announce_applied(Kernel& kernel, const std::vector<Announcement>& what, bool later_by_caller, Outcome& out);

}  // namespace netlab::reconcile
