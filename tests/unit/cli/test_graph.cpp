// netlabctl graph (daemon/cli/graph.cpp): the DOT names every object of the
// topology and the edges between them.
#include <doctest/doctest.h>

#include "cli/graph.hpp"

namespace m = netlab::model;

TEST_CASE("graph: bridges, ports, networks, shims, containers, routes") {
    m::Topology t;
    m::Interface br;
    br.name = "br0";
    br.kind = m::InterfaceKind::Bridge;
    br.ports = {"ens33"};
    br.addresses = std::vector<m::Prefix>{*m::Prefix::parse("198.51.100.10/24")};
    t.interfaces["br0"] = br;
    m::Network n;
    n.name = "mynet";
    n.parent = "ens34";
    n.subnets = {*m::Prefix::parse("203.0.113.0/24")};
    n.host_access = *m::Prefix::parse("203.0.113.250/32");
    t.networks["mynet"] = n;
    m::Container c;
    c.name = "test1";
    m::ContainerInterface ci;
    ci.name = "eth1";
    ci.network = "mynet";
    ci.addresses = {*m::Prefix::parse("203.0.113.10/24")};
    c.interfaces["eth1"] = ci;
    t.containers["test1"] = c;
    m::Route r;
    r.to = *m::Prefix::parse("0.0.0.0/0");
    r.via = m::IpAddress::parse("198.51.100.1");
    r.dev = "br0";
    t.routes.push_back(r);

    const std::string dot = netlab::cli::topology_dot(t);
    auto has = [&](const std::string& s) { return dot.find(s) != std::string::npos; };
    CHECK(dot.rfind("digraph netlab {", 0) == 0);
    CHECK(has("\"if:br0\" [label=\"br0 (bridge)\\n198.51.100.10/24\", shape=box3d];"));
    CHECK(has("\"if:ens33\" -> \"if:br0\" [label=\"port\"];"));
    CHECK(has("\"net:mynet\" -> \"if:ens34\" [label=\"parent\"];"));
    CHECK(has("\"shim:mynet\" [label=\"host shim\\n203.0.113.250/32\""));
    CHECK(has("\"ct:test1/eth1\" [label=\"eth1\\n203.0.113.10/24\""));
    CHECK(has("\"ct:test1/eth1\" -> \"net:mynet\" [label=\"macvlan\"];"));
    CHECK(has("\"gw:198.51.100.1\" [label=\"gateway 198.51.100.1\", shape=diamond];"));
    CHECK(has("\"if:br0\" -> \"gw:198.51.100.1\" [label=\"route 0.0.0.0/0\", style=dashed];"));
    CHECK(dot.substr(dot.size() - 2) == "}\n");
}
