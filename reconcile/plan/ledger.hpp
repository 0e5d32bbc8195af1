// The ledger: what netlab changed on objects it does not own, so removing
// them from the topology can give them back, and how a successful plan
// updates it. Persisted in the state directory (ledger.json).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/state.hpp"
#include "model/topology.hpp"
#include "reconcile/plan/desired.hpp"
#include "reconcile/plan/kernel_model.hpp"
#include "reconcile/plan/plan.hpp"

namespace netlab::reconcile {

struct AdoptedOriginal {
    model::LinkState link;                   // attributes before netlab first changed them
    std::set<model::Prefix> addresses;       // addresses it had then
    std::map<model::Prefix, model::AddressAttrs> address_attrs;  // and their attributes
    std::vector<model::RouteState> routes;   // routes through it then (main table, not proto kernel)
    // Which of its attributes netlab changed: "master", "up", "promisc",
    // "mtu", "mac", "addresses", "routes". Only these are given back. Empty
    // (a ledger written without this field) means all of them.
    std::set<std::string> attributes;
    bool operator==(const AdoptedOriginal&) const = default;
};

struct Ledger {
    std::map<NsId, std::map<std::string, AdoptedOriginal>> adopted;
    // Docker networks netlab published, each with the containers netlab
    // connected to it: only these are ever disconnected (docs/docker.md).
    docker::Connected docker;
    bool operator==(const Ledger&) const = default;
};

// The ledger after `plan` was applied successfully on top of `before`: records
// the originals of adopted links the plan changed for the first time, and
// forgets those the topology no longer mentions (they were restored).
Ledger next_ledger(const Ledger& ledger, const model::Topology& topo, const Observed& before,
                   const Plan& plan);

}  // namespace netlab::reconcile
