// Topology (+ ledger of adopted originals) -> Desired, per namespace. Pure.
#pragma once

#include "model/topology.hpp"
#include "reconcile/desired.hpp"

namespace netlab::reconcile {

// The host namespace is "" ; each container gets container_ns(name).
// Adopted links that left the topology (or attributes no longer managed) get
// their ledger originals back as desired values.
Desired compile(const model::Topology& topo, const Ledger& ledger);

}  // namespace netlab::reconcile
