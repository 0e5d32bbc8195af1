// compile() of a network published to Docker: Docker connects the docker:
// containers (no macvlan of netlab's for them), and the host reaches the
// whole subnet through the shim, as two halves.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "model/load.hpp"
#include "reconcile/plan/compile.hpp"

using namespace netlab;
using namespace netlab::reconcile;

TEST_CASE("compile: a published network") {
    const char* text = R"(version: 1
networks:
  mynet:
    parent: ens33
    subnet: 198.51.100.0/24
    gateway: 198.51.100.1
    host_access: 198.51.100.250/32
    docker: true
containers:
  web:
    netns: docker:web
    interfaces:
      eth1: {network: mynet, address: 198.51.100.10/24}
  side:
    netns: netns:side
    interfaces:
      eth1: {network: mynet, address: 198.51.100.11/24}
)";
    auto l = model::load_string(text, "t.yaml");
    REQUIRE(l.diagnostics.empty());
    Desired d = compile(l.topology, {});
    CHECK(d.namespaces.at(container_ns("web")).links.empty());
    CHECK(d.namespaces.at(container_ns("side")).links.count("eth1") == 1);
    std::set<std::string> routes;
    for (const auto& r : d.namespaces.at("").routes) routes.insert(r.dst.str() + " dev " + r.dev);
    CHECK(routes == std::set<std::string>{"198.51.100.0/25 dev nl-mynet", "198.51.100.128/25 dev nl-mynet"});

    // Not published: one host route per container address, as before.
    l.topology.networks.at("mynet").docker.reset();
    routes.clear();
    const Desired plain = compile(l.topology, {});
    for (const auto& r : plain.namespaces.at("").routes) routes.insert(r.dst.str() + " dev " + r.dev);
    CHECK(routes == std::set<std::string>{"198.51.100.10/32 dev nl-mynet", "198.51.100.11/32 dev nl-mynet"});
}

TEST_CASE("compile: a published dual-stack network with a shim address of each family") {
    const char* text = R"(version: 1
networks:
  mynet:
    parent: ens33
    subnet: [198.51.100.0/24, "2001:db8:100::/64"]
    gateway: [198.51.100.1, "2001:db8:100::1"]
    host_access: [198.51.100.250, "2001:db8:100::fe"]
    docker: true
)";
    auto l = model::load_string(text, "t.yaml");
    REQUIRE(l.diagnostics.empty());
    Desired d = compile(l.topology, {});
    const auto& shim = d.namespaces.at("").links.at("nl-mynet");
    std::set<std::string> addrs;
    REQUIRE(shim.addresses);
    for (const auto& a : *shim.addresses) addrs.insert(a.str());
    CHECK(addrs == std::set<std::string>{"198.51.100.250/32", "2001:db8:100::fe/128"});
    std::set<std::string> routes;
    for (const auto& r : d.namespaces.at("").routes) routes.insert(r.dst.str() + " dev " + r.dev);
    CHECK(routes == std::set<std::string>{"198.51.100.0/25 dev nl-mynet", "198.51.100.128/25 dev nl-mynet",
                                          "2001:db8:100::/65 dev nl-mynet", "2001:db8:100:0:8000::/65 dev nl-mynet"});

    // An IPv4 shim only: the IPv6 subnet is not routed through it.
    l.topology.networks.at("mynet").host_access.pop_back();
    routes.clear();
    const Desired v4_only = compile(l.topology, {});
    for (const auto& r : v4_only.namespaces.at("").routes) routes.insert(r.dst.str() + " dev " + r.dev);
    CHECK(routes == std::set<std::string>{"198.51.100.0/25 dev nl-mynet", "198.51.100.128/25 dev nl-mynet"});
}
