// netlabctl graph: the topology as a Graphviz DOT graph (pure). NICs and
// bridges with their addresses, bridge ports, macvlan networks and their
// parents, host shims, containers with their interfaces and addresses, and
// routes to their gateways. With --live, the file and the live state in one
// graph, with what differs between them marked.
#pragma once

#include <string>
#include <vector>

#include "model/state.hpp"
#include "model/topology.hpp"
#include "reconcile/plan/show.hpp"

namespace netlab::cli {

std::string topology_dot(const model::Topology& t);

// The live state in topology terms, for `graph --live`: reconcile::show() of
// the host and of the file's containers, plus what show() leaves to the file
// and a graph still needs: each of the file's macvlan networks whose host
// shim or container interfaces are live (subnets and gateways are not in the
// kernel: they are the file's), and the containers' interfaces on them.
struct LiveView {
    model::Topology topology;
    std::vector<std::string> notes;  // show()'s notes: live objects left out
};
LiveView live_view(const model::Topology& file, const model::NetnsState& host,
                   const std::vector<reconcile::ShownContainer>& containers);

// The union of `file` and `live` (docs/examples.md, "graph --live"): what is
// in both is drawn plainly; what only the file has (netlab would create it)
// dashed green "(planned)"; what only the live state has (netlab would
// remove it, or it is not netlab's and the file does not name it) dashed red
// "(live only)"; an object in both whose managed attributes differ orange
// "(differs)", each differing value with "(planned)", "(live only)" or
// "(live VALUE)". `notes` become DOT comments.
std::string live_dot(const model::Topology& file, const model::Topology& live,
                     const std::vector<std::string>& notes = {});

}  // namespace netlab::cli
