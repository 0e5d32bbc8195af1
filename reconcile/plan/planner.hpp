// The planner: desired × observed -> Plan. Pure: no kernel, no I/O.
#pragma once

#include "reconcile/plan/desired.hpp"
#include "reconcile/plan/kernel_model.hpp"
#include "reconcile/plan/plan.hpp"

namespace netlab::reconcile {

// What must change so that `observed` matches `desired`, as ordered steps in
// the connectivity-preserving order of docs/plan.md, plus a preflight that
// refuses (Plan::refusals) what the kernel is certain to reject. Only owned
// objects (alias mark / route protocol) and objects `desired` names are ever
// touched; kernel-made objects (proto kernel routes, IPv6 link-local
// addresses) are never added or removed.
Plan make_plan(const Desired& desired, const Observed& observed);

}  // namespace netlab::reconcile
