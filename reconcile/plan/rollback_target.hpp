// The rollback target: the snapshot taken before a plan ran, turned into a
// Desired for every object the plan could have touched. Rollback is no
// second mechanism: make_plan() toward this target computes the way back.
#pragma once

#include "reconcile/plan/desired.hpp"
#include "reconcile/plan/kernel_model.hpp"
#include "reconcile/plan/plan.hpp"

namespace netlab::reconcile {

// `snapshot` (taken before `plan` ran) as a fully specified Desired for every
// object the plan could have touched, including routes the kernel may have
// removed as a side effect.
Desired restore_target(const Observed& snapshot, const Plan& plan);

}  // namespace netlab::reconcile
