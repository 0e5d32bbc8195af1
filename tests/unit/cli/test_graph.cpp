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
    n.host_access = {*m::Prefix::parse("203.0.113.250/32")};
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

namespace {

m::Prefix pfx(const char* s) { return *m::Prefix::parse(s); }

// The lab's takeover file: br0 over ens33, the default route via br0, and a
// container on br0.
m::Topology takeover_file() {
    m::Topology t;
    m::Interface br;
    br.name = "br0";
    br.kind = m::InterfaceKind::Bridge;
    br.ports = {"ens33"};
    br.stp = false;
    br.addresses = std::vector<m::Prefix>{pfx("198.51.100.10/24")};
    t.interfaces["br0"] = br;
    m::Route r;
    r.to = pfx("0.0.0.0/0");
    r.via = m::IpAddress::parse("198.51.100.1");
    r.dev = "br0";
    t.routes.push_back(r);
    m::Container c;
    c.name = "test1";
    c.netns = *m::NetnsTarget::parse("netns:test1");
    m::ContainerInterface ci;
    ci.name = "eth1";
    ci.bridge = "br0";
    ci.addresses = {pfx("198.51.100.11/24")};
    ci.gateway = m::IpAddress::parse("198.51.100.1");
    c.interfaces["eth1"] = ci;
    t.containers["test1"] = c;
    return t;
}

// What reconcile::show() makes of a host after the takeover was applied.
m::Topology applied(const m::Topology& file) {
    m::Topology live = file;
    m::Interface ens;
    ens.name = "ens33";
    ens.addresses = std::vector<m::Prefix>{};
    live.interfaces["ens33"] = ens;
    live.interfaces["br0"].mac_from = "ens33";
    return live;
}

bool contains(const std::string& dot, const std::string& s) { return dot.find(s) != std::string::npos; }

}  // namespace

TEST_CASE("graph --live: before the apply, what netlab would create is planned") {
    const m::Topology file = takeover_file();
    m::Topology live;  // the fresh host: ens33 with the address, no netlab route
    m::Interface ens;
    ens.name = "ens33";
    ens.addresses = std::vector<m::Prefix>{pfx("198.51.100.10/24")};
    live.interfaces["ens33"] = ens;
    live.containers["test1"] = m::Container{"test1", file.containers.at("test1").netns, {}};

    const std::string dot = netlab::cli::live_dot(file, live, {"route default via 198.51.100.1 dev ens33 proto static is not netlab's"});
    INFO(dot);
    CHECK(contains(dot, "\"if:br0\" [label=\"br0 (bridge)\\n198.51.100.10/24\\n(planned)\", shape=box3d, style=dashed, "
                        "color=darkgreen, fontcolor=darkgreen];"));
    // ens33 is named by the file (a port): drawn plainly, as it is live.
    CHECK(contains(dot, "\"if:ens33\" [label=\"ens33 (adopted)\\n198.51.100.10/24\", shape=box];"));
    CHECK(contains(dot, "\"if:ens33\" -> \"if:br0\" [label=\"port (planned)\", style=dashed, color=darkgreen"));
    CHECK(contains(dot, "\"if:br0\" -> \"gw:198.51.100.1\" [label=\"route 0.0.0.0/0 (planned)\", style=dashed, "
                        "color=darkgreen"));
    CHECK(contains(dot, "\"ct:test1/eth1\" [label=\"eth1\\ngw 198.51.100.1\\n198.51.100.11/24\\n(planned)\""));
    CHECK(contains(dot, "\"ct:test1/eth1\" -> \"if:br0\" [label=\"veth (planned)\""));
    CHECK(contains(dot, "  // live, not drawn: route default via 198.51.100.1 dev ens33 proto static is not netlab's\n"));
    CHECK_FALSE(contains(dot, "(live only)"));
}

TEST_CASE("graph --live: converged, nothing is marked") {
    const m::Topology file = takeover_file();
    const std::string dot = netlab::cli::live_dot(file, applied(file));
    INFO(dot);
    CHECK_FALSE(contains(dot, "(planned)\""));
    CHECK_FALSE(contains(dot, "(planned)\\n"));
    CHECK_FALSE(contains(dot, "live only)\""));
    CHECK_FALSE(contains(dot, "(differs)"));
    CHECK_FALSE(contains(dot, "color=darkgreen,"));
    CHECK_FALSE(contains(dot, "color=red,"));
    CHECK(contains(dot, "\"if:br0\" [label=\"br0 (bridge)\\n198.51.100.10/24\", shape=box3d];"));
    CHECK(contains(dot, "\"if:br0\" -> \"gw:198.51.100.1\" [label=\"route 0.0.0.0/0\", style=dashed];"));
    // The legend names the marks whatever the state.
    CHECK(contains(dot, "\"legend\" [shape=plaintext"));
}

TEST_CASE("graph --live: drift is marked on the object that differs") {
    const m::Topology file = takeover_file();
    m::Topology live = applied(file);
    live.interfaces["br0"].addresses->push_back(pfx("203.0.113.9/24"));
    live.interfaces["br0"].stp = true;
    live.routes.clear();
    m::Interface br9;
    br9.name = "br9";
    br9.kind = m::InterfaceKind::Bridge;
    br9.ports = {"ens34"};
    live.interfaces["br9"] = br9;
    m::Route other;
    other.to = pfx("203.0.113.0/24");
    other.via = m::IpAddress::parse("198.51.100.254");
    other.dev = "br0";
    live.routes.push_back(other);
    live.containers["test1"].interfaces["eth1"].addresses = {pfx("198.51.100.99/24")};

    const std::string dot = netlab::cli::live_dot(file, live);
    INFO(dot);
    CHECK(contains(dot, "\"if:br0\" [label=\"br0 (bridge)\\nstp off (live on)\\n198.51.100.10/24\\n"
                        "203.0.113.9/24 (live only)\\n(differs)\", shape=box3d, color=darkorange, "
                        "fontcolor=darkorange, penwidth=2];"));
    CHECK(contains(dot, "\"if:br0\" -> \"gw:198.51.100.1\" [label=\"route 0.0.0.0/0 (planned)\""));
    CHECK(contains(dot, "\"if:br0\" -> \"gw:198.51.100.254\" [label=\"route 203.0.113.0/24 (live only)\", "
                        "style=dashed, color=red, fontcolor=red];"));
    CHECK(contains(dot, "\"if:br9\" [label=\"br9 (bridge)\\n(live only)\", shape=box3d, style=dashed, color=red"));
    CHECK(contains(dot, "\"if:ens34\" -> \"if:br9\" [label=\"port (live only)\""));
    CHECK(contains(dot, "\"ct:test1/eth1\" [label=\"eth1\\ngw 198.51.100.1\\n198.51.100.11/24 (planned)\\n"
                        "198.51.100.99/24 (live only)\\n(differs)\""));
    // What did not change stays plain.
    CHECK(contains(dot, "\"if:ens33\" -> \"if:br0\" [label=\"port\"];"));
    CHECK(contains(dot, "\"ct:test1/eth1\" -> \"if:br0\" [label=\"veth\"];"));
}

TEST_CASE("graph --live: networks, shims and adopted NICs") {
    m::Topology file;
    m::Interface ens;
    ens.name = "ens33";
    ens.mtu = 9000;
    ens.promisc = true;
    file.interfaces["ens33"] = ens;
    m::Network n;
    n.name = "mynet";
    n.parent = "ens33";
    n.subnets = {pfx("203.0.113.0/24")};
    n.host_access = {pfx("203.0.113.250/32")};
    file.networks["mynet"] = n;
    m::Interface eth9;  // an adopted NIC that is not there
    eth9.name = "eth9";
    file.interfaces["eth9"] = eth9;

    m::Topology live;
    m::Interface lens = ens;
    lens.mtu.reset();
    lens.promisc.reset();
    lens.addresses = std::vector<m::Prefix>{};
    live.interfaces["ens33"] = lens;
    m::Network ln = n;
    ln.host_access = {pfx("203.0.113.251/32")};
    live.networks["mynet"] = ln;

    const std::string dot = netlab::cli::live_dot(file, live);
    INFO(dot);
    CHECK(contains(dot, "\"if:ens33\" [label=\"ens33 (adopted)\\nmtu 9000 (live 1500)\\npromisc on (live off)\\n"
                        "(differs)\""));
    CHECK(contains(dot, "\"if:eth9\" [label=\"eth9 (adopted)\\n(not found live)\", shape=box, style=dashed, color=red"));
    CHECK(contains(dot, "\"net:mynet\" [label=\"network mynet (macvlan)\\n203.0.113.0/24\", shape=ellipse];"));
    CHECK(contains(dot, "\"shim:mynet\" [label=\"host shim\\n203.0.113.250/32 (live 203.0.113.251/32)\\n(differs)\", "
                        "shape=box, style=dashed, color=darkorange"));
    CHECK(contains(dot, "\"net:mynet\" -> \"if:ens33\" [label=\"parent\"];"));

    live.networks.clear();
    const std::string planned = netlab::cli::live_dot(file, live);
    INFO(planned);
    CHECK(contains(planned, "\"net:mynet\" [label=\"network mynet (macvlan)\\n203.0.113.0/24\\n(planned)\""));
    CHECK(contains(planned, "\"shim:mynet\" [label=\"host shim\\n203.0.113.250/32\\n(planned)\""));
    CHECK(contains(planned, "\"shim:mynet\" -> \"net:mynet\" [label=\"macvlan (planned)\""));
}

TEST_CASE("graph --live: live_view reads a macvlan network back from its shim and its containers") {
    m::Topology file;
    m::Network n;
    n.name = "mynet";
    n.parent = "ens33";
    n.subnets = {pfx("203.0.113.0/24")};
    n.host_access = {pfx("203.0.113.250/32")};
    file.networks["mynet"] = n;
    m::Container c;
    c.name = "test1";
    c.netns = *m::NetnsTarget::parse("netns:test1");
    m::ContainerInterface ci;
    ci.name = "eth1";
    ci.network = "mynet";
    ci.addresses = {pfx("203.0.113.10/24")};
    c.interfaces["eth1"] = ci;
    file.containers["test1"] = c;

    m::NetnsState host;
    m::LinkState ens;
    ens.name = "ens33";
    ens.up = true;
    ens.mtu = 1500;
    host.links["ens33"] = ens;
    m::LinkState shim;
    shim.name = "nl-mynet";
    shim.kind = "macvlan";
    shim.parent = "ens33";
    shim.alias = "netlab:shim";
    shim.up = true;
    shim.mtu = 1500;
    host.links["nl-mynet"] = shim;
    host.addresses.insert(m::AddressState("nl-mynet", pfx("203.0.113.250/32")));
    host.addresses.insert(m::AddressState("nl-mynet", pfx("fe80::1/64")));

    netlab::reconcile::ShownContainer sc{"test1", c.netns, {}};
    m::LinkState eth1;
    eth1.name = "eth1";
    eth1.kind = "macvlan";
    eth1.alias = "netlab:macvlan";
    eth1.up = true;
    eth1.mtu = 1500;
    sc.state.links["eth1"] = eth1;
    sc.state.addresses.insert(m::AddressState("eth1", pfx("203.0.113.10/24")));

    const netlab::cli::LiveView v = netlab::cli::live_view(file, host, {sc});
    REQUIRE(v.topology.networks.count("mynet") == 1);
    CHECK(v.topology.networks.at("mynet").host_access == std::vector{pfx("203.0.113.250/32")});
    CHECK(v.topology.networks.at("mynet").parent == "ens33");
    REQUIRE(v.topology.containers.at("test1").interfaces.count("eth1") == 1);
    CHECK(v.topology.containers.at("test1").interfaces.at("eth1").network == std::optional<std::string>("mynet"));
    CHECK(v.topology.containers.at("test1").interfaces.at("eth1").addresses == std::vector<m::Prefix>{pfx("203.0.113.10/24")});
    CHECK_FALSE(v.notes.empty());  // show() says it leaves the network to the file

    const std::string dot = netlab::cli::live_dot(file, v.topology, v.notes);
    INFO(dot);
    CHECK_FALSE(contains(dot, "(planned)\""));
    CHECK_FALSE(contains(dot, "(differs)"));
    CHECK(contains(dot, "\"ct:test1/eth1\" -> \"net:mynet\" [label=\"macvlan\"];"));

    // Nothing of it live: the network, its shim and the interface are planned.
    const netlab::cli::LiveView none = netlab::cli::live_view(file, m::NetnsState{}, {});
    CHECK(none.topology.networks.empty());
    const std::string planned = netlab::cli::live_dot(file, none.topology, none.notes);
    CHECK(contains(planned, "\"net:mynet\" [label=\"network mynet (macvlan)\\n203.0.113.0/24\\n(planned)\""));
    CHECK(contains(planned, "test1 (netns:test1)\\nnamespace not found"));
}
