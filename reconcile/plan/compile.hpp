// Topology (+ ledger of adopted originals) -> Desired, per namespace. Pure.
#pragma once

#include "model/topology.hpp"
#include "reconcile/plan/desired.hpp"
#include "reconcile/plan/ledger.hpp"

namespace netlab::reconcile {

// The host namespace is "" ; each container gets container_ns(name).
// Adopted links that left the topology (or attributes no longer managed) get
// their ledger originals back as desired values.
Desired compile(const model::Topology& topo, const Ledger& ledger);

// The containers' part (compile_containers.cpp): networks' host shims, each
// container's namespace, macvlan children and veth pairs (host ends in ""),
// addresses and routes. Called by compile().
void compile_containers(const model::Topology& topo, Desired& out);

// The topology's `broadcast:` entries as address wants (broadcast only).
std::map<model::Prefix, AddressWant> broadcast_wants(const std::map<model::Prefix, std::optional<model::IpAddress>>& b);

// The host route (scope link) that makes an on-link gateway reachable on dev.
RouteSpec host_route(const model::IpAddress& gw, const std::string& dev);

// The host's macvlan on a network's parent that lets host and containers talk
// (the kernel never passes traffic between a macvlan child and its parent).
std::string shim_name(const std::string& network);

// Deterministic host-end name of a container's veth (<= 15 chars, unique).
std::string veth_host_name(const std::string& container, const std::string& ifname);

// The MAC a container's interface gets when the topology gives none: locally
// administered, unicast, the same for the same container and interface name.
model::MacAddress derived_mac(const std::string& container, const std::string& ifname);

}  // namespace netlab::reconcile
