// Which Docker network events are drift of a published network (docker_drift.hpp).
#include "reconcile/containers/docker_drift.hpp"

#include "reconcile/containers/docker_network.hpp"

namespace netlab::reconcile::docker {

std::set<std::string> followed(const model::Topology& t) {
    std::set<std::string> names;
    for (const auto& n : published(t)) names.insert(n.name);
    return names;
}

NetworkVerdict classify(const std::set<std::string>& followed, const Event& e) {
    NetworkVerdict v;
    if (e.type != "network" || !followed.contains(e.name)) return v;
    v.owned = true;
    if (e.action == "destroy") {
        v.drift = "docker network " + e.name + " removed";
    } else if (e.action == "create") {
        // Under netlab's name, by someone else: the reconcile finds whether
        // it carries netlab's label, and refuses it (names it) otherwise.
        v.drift = "docker network " + e.name + " created outside netlab";
    }
    return v;
}

}  // namespace netlab::reconcile::docker
