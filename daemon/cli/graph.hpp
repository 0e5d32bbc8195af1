// netlabctl graph: the topology as a Graphviz DOT graph (pure). NICs and
// bridges with their addresses, bridge ports, macvlan networks and their
// parents, host shims, containers with their interfaces and addresses, and
// routes to their gateways.
#pragma once

#include <string>

#include "model/topology.hpp"

namespace netlab::cli {

std::string topology_dot(const model::Topology& t);

}  // namespace netlab::cli
