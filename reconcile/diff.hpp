// diff + plan: pure functions over sorted maps. No kernel, no I/O.
#pragma once

#include <map>

#include "model/state.hpp"
#include "model/topology.hpp"
#include "reconcile/desired.hpp"
#include "reconcile/plan.hpp"

namespace netlab::reconcile {

using Observed = std::map<NsId, model::NetnsState>;

// What must change so that `observed` matches `desired`, as ordered steps in
// the connectivity-preserving order of docs/engine.md, plus a preflight that
// refuses (Plan::refusals) what the kernel is certain to reject. Only owned
// objects (alias mark / route protocol) and objects `desired` names are ever
// touched; kernel-made objects (proto kernel routes, IPv6 link-local
// addresses) are never added or removed.
Plan make_plan(const Desired& desired, const Observed& observed);

// The rollback target: `snapshot` (taken before `plan` ran) as a fully
// specified Desired for every object the plan could have touched, including
// routes the kernel may have removed as a side effect.
Desired restore_target(const Observed& snapshot, const Plan& plan);

// The ledger after `plan` was applied successfully on top of `before`: records
// the originals of adopted links the plan changed for the first time, and
// forgets those the topology no longer mentions (they were restored).
Ledger next_ledger(const Ledger& ledger, const model::Topology& topo, const Observed& before,
                   const Plan& plan);

}  // namespace netlab::reconcile
