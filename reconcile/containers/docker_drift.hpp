// Drift of the networks netlab publishes to Docker (docs/docker.md): which
// Docker network events concern them and what they did, in the admin's
// words. Pure; netlabd follows the events (daemon/netlabd/container_watch.*)
// and repairs or reports what this finds (daemon/netlabd/drift.*).
#pragma once

#include <set>
#include <string>

#include "model/topology.hpp"
#include "reconcile/containers/docker.hpp"

namespace netlab::reconcile::docker {

// The Docker names of the networks the topology publishes: what Docker's
// network events name.
std::set<std::string> followed(const model::Topology& t);

struct NetworkVerdict {
    // A network event about a network netlab publishes; everything else is
    // foreign and ignored.
    bool owned = false;
    // Non-empty when the event leaves it other than the topology wants
    // ("docker network mynet removed"); empty for what Docker does on its
    // own account with netlab's network: containers connecting and
    // disconnecting (Docker disconnects a container when it stops and
    // connects it again when it starts; foreign containers come and go).
    std::string drift;
};

// `e` is one event of the stream, done by someone other than netlab (the
// echo of netlab's own steps is told apart by the caller).
NetworkVerdict classify(const std::set<std::string>& followed, const Event& e);

}  // namespace netlab::reconcile::docker
