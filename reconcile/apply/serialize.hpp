// JSON forms of the engine's values: the journal (snapshot + plan), the
// ledger, and the steps/diagnostics of an Outcome. Every form reads back
// to an equal value (the journal must survive a crash and a restart).
// Explicit functions, no ADL hooks: other stages may define their own JSON.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "model/state.hpp"
#include "model/topology.hpp"
#include "reconcile/plan/desired.hpp"
#include "reconcile/plan/kernel_model.hpp"
#include "reconcile/plan/ledger.hpp"
#include "reconcile/plan/plan.hpp"
#include "reconcile/containers/target.hpp"

namespace netlab::reconcile::serial {

using nlohmann::json;

json link_state(const model::LinkState& l);
model::LinkState link_state_from(const json& j);
json address(const model::AddressState& a);
model::AddressState address_from(const json& j);
json route(const model::RouteState& r);
model::RouteState route_from(const json& j);
json netns(const model::NetnsState& s);
model::NetnsState netns_from(const json& j);
json observed(const Observed& o);  // {"": {...}, "container:x": {...}}
Observed observed_from(const json& j);

json link_spec(const LinkSpec& l);
LinkSpec link_spec_from(const json& j);
json step(const Step& s);  // op, ns, why and the operand the op uses
Step step_from(const json& j);
json plan(const Plan& p);
Plan plan_from(const json& j);

json diagnostic(const model::Diagnostic& d);
model::Diagnostic diagnostic_from(const json& j);

json ledger(const Ledger& l);
Ledger ledger_from(const json& j);

// A container namespace as the journal records it: its target as written
// and its identity ({"target": "docker:test1", "identity": {...}}).
json ns_target(const std::string& target, const NsIdentity& id);
NsIdentity identity_from(const json& j);

}  // namespace netlab::reconcile::serial
