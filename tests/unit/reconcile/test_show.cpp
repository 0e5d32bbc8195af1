// reconcile::show: the live state written as a topology compiles back to
// exactly that state (a plan of 0 steps), on the in-memory kernel: a fresh
// host, a bridge takeover, a container host. And nothing is dropped silently.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "lab.hpp"
#include "model/emit.hpp"
#include "model/load.hpp"
#include "reconcile/plan/compile.hpp"
#include "reconcile/plan/show.hpp"

using namespace netlab;
using namespace netlab::test;
using reconcile::container_ns;
using reconcile::Observed;
using reconcile::Plan;

namespace {

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += x + "\n";
    return s;
}

bool any_contains(const std::vector<std::string>& v, const std::string& what) {
    return std::any_of(v.begin(), v.end(), [&](const std::string& x) { return x.find(what) != std::string::npos; });
}

// Applies `topo` to `state` (as netlabctl apply would) and returns the ledger after it.
reconcile::Ledger apply_topology(const model::Topology& topo, Observed& state) {
    const reconcile::Ledger none;
    const Plan p = reconcile::make_plan(reconcile::compile(topo, none), state);
    REQUIRE(p.refusals.empty());
    const Observed before = state;
    std::string error;
    REQUIRE_MESSAGE(run(state, p, &error) == -1, error);
    return reconcile::next_ledger(none, topo, before, p);
}

// The shown topology, through the YAML text a user would save, compiled
// against the live state: the plan it gives.
Plan plan_of_shown(const reconcile::Shown& shown, const Observed& state, const reconcile::Ledger& ledger) {
    const std::string text = model::to_yaml(shown.topology, {}, shown.notes);
    CAPTURE(text);
    model::Loaded l = model::load_string(text, "shown.yaml");
    std::string errors;
    for (const auto& d : l.diagnostics) errors += d.str() + "\n";
    REQUIRE_MESSAGE(l.ok(), errors);
    CHECK(l.topology == shown.topology);
    return reconcile::make_plan(reconcile::compile(l.topology, ledger), state);
}

model::Container on_bridge(const std::string& name, const char* bridge, const char* address, const char* gateway) {
    model::ContainerInterface i;
    i.name = "eth1";
    i.bridge = bridge;
    i.addresses = {pfx(address)};
    if (gateway) i.gateway = ip(gateway);
    model::Route r;
    r.to = pfx("192.0.2.0/24");
    r.via = ip("203.0.113.254");
    r.dev = "eth1";
    r.metric = 7;
    i.routes = {r};
    model::Container c;
    c.name = name;
    c.netns = *model::NetnsTarget::parse("netns:" + name);
    c.interfaces["eth1"] = i;
    return c;
}

}  // namespace

TEST_CASE("show: a fresh host is adopted as it is; foreign routes and ports are notes") {
    Observed state{{"", host1()}};
    state.at("").links["docker0"] = nic("docker0", 9, "02:42:00:00:00:01", "bridge");
    state.at("").links["veth1"] = nic("veth1", 10, "02:42:00:00:00:02", "veth");
    state.at("").links.at("veth1").master = "docker0";
    state.at("").links.at("ens33").mtu = 9000;
    const auto shown = reconcile::show(state.at(""), {});
    CAPTURE(joined(shown.notes));
    const auto& t = shown.topology;
    REQUIRE(t.interfaces.count("ens33"));
    CHECK(t.interfaces.at("ens33").kind == model::InterfaceKind::Adopted);
    CHECK(t.interfaces.at("ens33").addresses == std::vector<model::Prefix>{pfx("198.51.100.10/24")});  // no fe80
    CHECK(t.interfaces.at("ens33").mtu == 9000u);
    CHECK(t.interfaces.count("lo") == 0);
    CHECK(t.interfaces.count("docker0") == 0);
    CHECK(t.interfaces.count("veth1") == 0);
    CHECK(t.routes.empty());
    CHECK(any_contains(shown.notes, "route default via 198.51.100.1 dev ens33 proto boot is not netlab's"));
    CHECK(any_contains(shown.notes, "route 192.0.2.128/25 via 203.0.113.2 dev foreign0 proto static"));
    CHECK(any_contains(shown.notes, "docker0 is a bridge netlab did not create"));
    CHECK(any_contains(shown.notes, "veth1 (veth) is a port of docker0, which is not netlab's"));
    const Plan p = plan_of_shown(shown, state, {});
    CHECK_MESSAGE(p.empty(), joined(lines(p)));
}

TEST_CASE("show: after a bridge takeover, the takeover is what is shown, and it is converged") {
    Observed state{{"", host1()}};
    const reconcile::Ledger ledger = apply_topology(takeover(), state);
    const auto shown = reconcile::show(state.at(""), {});
    CAPTURE(joined(shown.notes));
    const auto& br = shown.topology.interfaces.at("br0");
    CHECK(br.kind == model::InterfaceKind::Bridge);
    CHECK(br.ports == std::vector<std::string>{"ens33"});
    CHECK(br.mac_from == "ens33");
    CHECK(br.stp == false);
    CHECK(br.addresses == std::vector<model::Prefix>{pfx("198.51.100.10/24")});
    CHECK(shown.topology.interfaces.at("ens33").addresses == std::vector<model::Prefix>{});
    REQUIRE(shown.topology.routes.size() == 1);
    CHECK(shown.topology.routes[0].to.is_default());
    CHECK(shown.topology.routes[0].dev == "br0");
    const Plan p = plan_of_shown(shown, state, ledger);
    CHECK_MESSAGE(p.empty(), joined(lines(p)));
}

TEST_CASE("show: a container host, with the containers named, is converged") {
    Observed state{{"", host1()}};
    state.at("").links["ens34"] = nic("ens34", 4, "52:54:00:12:34:57");
    model::Topology topo;
    model::Interface br;
    br.name = "br1";
    br.kind = model::InterfaceKind::Bridge;
    br.ports = {"ens34"};
    br.mtu = 9000;
    br.addresses = std::vector<model::Prefix>{pfx("203.0.113.1/24")};
    topo.interfaces["br1"] = br;
    topo.containers["c1"] = on_bridge("c1", "br1", "203.0.113.20/24", "203.0.113.1");
    topo.containers["c2"] = on_bridge("c2", "br1", "203.0.113.21/24", nullptr);
    topo.containers.at("c2").interfaces.at("eth1").mac = mac("02:00:00:00:00:21");
    state[container_ns("c1")];
    state[container_ns("c2")];
    const reconcile::Ledger ledger = apply_topology(topo, state);
    // Docker's own eth0 in c1, with its default route: not netlab's.
    auto& c1 = state.at(container_ns("c1"));
    c1.links["eth0"] = nic("eth0", 2, "02:42:ac:11:00:02", "veth");
    c1.routes.insert(route("172.17.0.0/16", nullptr, "eth0", 2));

    std::vector<reconcile::ShownContainer> named;
    for (const char* c : {"c1", "c2"})
        named.push_back({c, *model::NetnsTarget::parse(std::string("netns:") + c), state.at(container_ns(c))});
    const auto shown = reconcile::show(state.at(""), named);
    CAPTURE(joined(shown.notes));
    const auto& e1 = shown.topology.containers.at("c1").interfaces.at("eth1");
    CHECK(e1.bridge == "br1");
    CHECK(e1.gateway == ip("203.0.113.1"));
    CHECK(!e1.mac);  // the derived one
    REQUIRE(e1.routes.size() == 1);
    CHECK(e1.routes[0].metric == 7u);
    CHECK(shown.topology.containers.at("c2").interfaces.at("eth1").mac == mac("02:00:00:00:00:21"));
    CHECK(shown.topology.interfaces.at("br1").ports == std::vector<std::string>{"ens34"});  // not the veth host ends
    CHECK(any_contains(shown.notes, "container c1 (netns:c1): eth0 (veth) is not netlab's"));
    Plan p = plan_of_shown(shown, state, ledger);
    CHECK_MESSAGE(p.empty(), joined(lines(p)));

    // Without the containers named, their host ends are notes saying what a
    // plan on that file would do.
    const auto hostOnly = reconcile::show(state.at(""), {});
    CHECK(any_contains(hostOnly.notes, reconcile::veth_host_name("c1", "eth1") + " is the host end of a netlab container's veth"));
}

TEST_CASE("show: broadcast entries and on_link gateways are written back, and converge") {
    Observed state{{"", host1()}};
    model::Topology topo;
    model::Interface br;
    br.name = "br1";
    br.kind = model::InterfaceKind::Bridge;
    br.ports = {};
    br.addresses = std::vector<model::Prefix>{pfx("203.0.113.129/25"), pfx("203.0.113.177/25")};
    br.broadcasts[pfx("203.0.113.177/25")] = std::nullopt;  // broadcast: none
    topo.interfaces["br1"] = br;
    model::Container c = on_bridge("c1", "br1", "198.51.100.99/32", "203.0.113.1");
    c.interfaces.at("eth1").gateway_on_link = true;
    c.interfaces.at("eth1").routes.at(0).on_link = true;
    c.interfaces.at("eth1").broadcasts[pfx("198.51.100.99/32")] = ip("198.51.100.99");
    topo.containers["c1"] = c;
    state[container_ns("c1")];
    const reconcile::Ledger ledger = apply_topology(topo, state);

    const auto shown = reconcile::show(state.at(""), {{"c1", c.netns, state.at(container_ns("c1"))}});
    CAPTURE(joined(shown.notes));
    const auto& b = shown.topology.interfaces.at("br1");
    REQUIRE(b.broadcasts.count(pfx("203.0.113.177/25")));
    CHECK(!b.broadcasts.at(pfx("203.0.113.177/25")));
    CHECK(!b.broadcasts.count(pfx("203.0.113.129/25")));  // the default one: a plain address
    const auto& e1 = shown.topology.containers.at("c1").interfaces.at("eth1");
    CHECK(e1.gateway_on_link);
    REQUIRE(e1.routes.size() == 1);  // the host routes to the gateways are the marks', not routes
    CHECK(e1.routes[0].on_link);
    CHECK(e1.broadcasts.at(pfx("198.51.100.99/32")) == ip("198.51.100.99"));
    const Plan p = plan_of_shown(shown, state, ledger);
    CHECK_MESSAGE(p.empty(), joined(lines(p)));
}

TEST_CASE("show: an IPv6 on_link gateway, and a container on a bridge netlab did not create") {
    Observed state{{"", host1()}};
    state.at("").links["br9"] = nic("br9", 9, "02:00:00:00:09:09", "bridge");  // the admin's bridge
    model::Topology topo;
    model::Interface br9;
    br9.name = "br9";  // adopted, nothing managed: the container only needs it to exist
    topo.interfaces["br9"] = br9;
    model::ContainerInterface i;
    i.name = "eth1";
    i.bridge = "br9";
    i.addresses = {pfx("2001:db8:1::5/128")};
    i.gateway = ip("2001:db8:2::1");
    i.gateway_on_link = true;
    model::Container c;
    c.name = "c6";
    c.netns = *model::NetnsTarget::parse("netns:c6");
    c.interfaces["eth1"] = i;
    topo.containers["c6"] = c;
    state[container_ns("c6")];
    const reconcile::Ledger ledger = apply_topology(topo, state);
    // As the kernel reports them: IPv6 routes carry no scope (universe).
    auto& routes = state.at(container_ns("c6")).routes;
    std::set<model::RouteState> as_reported;
    for (auto r : routes) {
        if (r.dst.addr.is_v6()) r.scope = 0;
        as_reported.insert(r);
    }
    routes = as_reported;

    const auto shown = reconcile::show(state.at(""), {{"c6", c.netns, state.at(container_ns("c6"))}});
    CAPTURE(joined(shown.notes));
    const auto& e1 = shown.topology.containers.at("c6").interfaces.at("eth1");
    CHECK(e1.gateway == ip("2001:db8:2::1"));
    CHECK(e1.gateway_on_link);  // IPv6 routes have no scope: the /128 is still the mark's
    CHECK(e1.routes.empty());
    REQUIRE(shown.topology.interfaces.count("br9"));
    const auto& b = shown.topology.interfaces.at("br9");
    CHECK(b.kind == model::InterfaceKind::Adopted);
    CHECK(!b.addresses);  // nothing of it managed
    CHECK(any_contains(shown.notes, "br9 is a bridge netlab did not create: written as an adopted interface"));
    const Plan p = plan_of_shown(shown, state, ledger);
    CHECK_MESSAGE(p.empty(), joined(lines(p)));
}
