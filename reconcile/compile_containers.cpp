// Containers: networks' host shims, macvlan children and veth pairs.
#include "reconcile/compile.hpp"

namespace netlab::reconcile {

void compile_containers(const model::Topology& topo, Desired& out) {
    (void)topo;
    (void)out;
}

std::string veth_host_name(const std::string& container, const std::string& ifname) {
    return "nl" + container.substr(0, 6) + ifname.substr(0, 6);
}

}  // namespace netlab::reconcile
