// Which addresses an applied plan should announce to the link's neighbours:
// the ones it added, and every address of a link whose MAC it changed. Pure.
#pragma once

#include <vector>

#include "reconcile/kernel.hpp"
#include "reconcile/kernel_model.hpp"
#include "reconcile/plan.hpp"

namespace netlab::reconcile {

// `after`: the verified state the plan left. An address the plan added and
// later removed is not there, nor a link without a MAC (nothing to say);
// IPv6 link-local addresses are left out (the kernel's own, never moved by
// netlab). Sorted, each address once.
std::vector<Announcement> announcements(const Plan& plan, const Observed& after);

}  // namespace netlab::reconcile
