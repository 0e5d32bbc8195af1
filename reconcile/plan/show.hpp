// The live state of the host, and of the containers named, in topology
// terms: what `netlabctl show` prints so that an admin can adopt a running
// host. A file made from it is converged: `netlabctl plan` on it finds
// nothing to do. Pure: observed state in, Topology and notes out.
#pragma once

#include <string>
#include <vector>

#include "model/state.hpp"
#include "model/topology.hpp"

namespace netlab::reconcile {

struct ShownContainer {
    std::string name;          // its key under `containers:`
    model::NetnsTarget netns;  // where its namespace is
    model::NetnsState state;   // what observe() found there
};

struct Shown {
    model::Topology topology;
    // What is live but left out of the topology, one line each, and why: a
    // foreign route, a port of a bridge netlab does not own, a netlab object
    // this view cannot express yet. Nothing is dropped without a note.
    std::vector<std::string> notes;
};

// Rules (docs/cli.md, "show"):
//  - NICs and other links netlab did not create become adopted interfaces
//    with their exact addresses (`addresses:` then manages them), `mtu`
//    when not 1500, `promisc: true`, `up: false`; links enslaved to a
//    bridge netlab does not own, and such bridges, are left alone (a note);
//  - bridges and macvlans netlab created (IFLA_IFALIAS "netlab:...") are
//    written with their ports, STP, MAC (`mac: PORT` when it is a port's);
//  - netlab's routes (protocol 77) become `routes:`; other routes are notes,
//    so a file made from `show` never takes ownership of one by surprise;
//  - each named container's netlab veths become interfaces on the bridge
//    their host end is a port of, with addresses, gateway, routes and a
//    `mac:` only when it is not the one netlab derives; a bridge netlab did
//    not create is then written as an adopted interface with no keys (so
//    the `bridge:` resolves and netlab still manages nothing of it);
//  - macvlan networks (and their host shims) are notes: a network's subnets
//    and gateways are not in the kernel to be read back.
Shown show(const model::NetnsState& host, const std::vector<ShownContainer>& containers);

}  // namespace netlab::reconcile
