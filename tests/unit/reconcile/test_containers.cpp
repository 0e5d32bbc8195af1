// Containers: compile_containers, veth_host_name, and plans across
// namespaces, run on the in-memory kernel.
#include <doctest/doctest.h>

#include <algorithm>

#include "lab.hpp"
#include "reconcile/plan/compile.hpp"
#include "reconcile/watch/drift.hpp"

using netlab::reconcile::LinkKind;

using namespace netlab;
using namespace netlab::test;
using reconcile::container_ns;
using reconcile::Desired;
using reconcile::Observed;
using reconcile::Plan;
using reconcile::Step;

namespace {

model::ContainerInterface on_network(const char* network, const char* address, bool defaultRoute) {
    model::ContainerInterface i;
    i.name = "eth1";
    i.network = network;
    i.addresses = {pfx(address)};
    i.default_route = defaultRoute;
    return i;
}

model::ContainerInterface on_bridge(const char* bridge, const char* address, const char* gateway) {
    model::ContainerInterface i;
    i.name = "eth1";
    i.bridge = bridge;
    i.addresses = {pfx(address)};
    if (gateway) i.gateway = ip(gateway);
    return i;
}

void add_container(model::Topology& t, const std::string& name, model::ContainerInterface i) {
    model::Container c;
    c.name = name;
    c.netns = *model::NetnsTarget::parse("netns:" + name);
    c.interfaces[i.name] = i;
    t.containers[name] = c;
}

// ens33 carries the host and the macvlan network; br0 bridges ens34.
model::Topology lab_topology() {
    model::Topology t;
    model::Interface br;
    br.name = "br0";
    br.kind = model::InterfaceKind::Bridge;
    br.ports = {"ens34"};
    t.interfaces["br0"] = br;
    model::Network n;
    n.name = "mynet";
    n.parent = "ens33";
    n.subnets = {pfx("198.51.100.0/24")};
    n.gateways = {ip("198.51.100.1")};
    n.host_access = {pfx("198.51.100.250/32")};
    t.networks["mynet"] = n;
    add_container(t, "test1", on_network("mynet", "198.51.100.20/24", true));
    add_container(t, "test2", on_bridge("br0", "203.0.113.20/24", "203.0.113.1"));
    return t;
}

Observed lab_state(std::initializer_list<const char*> containers = {"test1", "test2"}) {
    Observed o{{"", host1()}};
    o.at("").links["ens34"] = nic("ens34", 4, "52:54:00:12:34:57");
    for (const char* c : containers) o[container_ns(c)];
    return o;
}

bool converges(const Desired& d, Observed& state, std::string* error = nullptr) {
    const Plan p = reconcile::make_plan(d, state);
    if (!p.refusals.empty()) {
        if (error) *error = p.refusals.front().message;
        return false;
    }
    if (run(state, p, error) != -1) return false;
    return reconcile::make_plan(d, state).empty();
}

}  // namespace

TEST_CASE("veth_host_name: short, stable, distinct") {
    const std::string a = reconcile::veth_host_name("test1", "eth1");
    CHECK(a.size() <= 15);
    CHECK(a.rfind("nl", 0) == 0);
    CHECK(a == reconcile::veth_host_name("test1", "eth1"));
    CHECK(a != reconcile::veth_host_name("test2", "eth1"));
    CHECK(a != reconcile::veth_host_name("test1", "eth2"));
    CHECK(reconcile::veth_host_name("a-very-long-container-name-indeed", "eth1").size() <= 15);
    // the readable part is the container's name
    CHECK(a.find("test1") != std::string::npos);
}

TEST_CASE("compile: macvlan and veth attachments, host shim, routes") {
    const Desired d = reconcile::compile(lab_topology(), {});
    const auto& host = d.namespaces.at("");
    const auto& t1 = d.namespaces.at(container_ns("test1"));
    const auto& t2 = d.namespaces.at(container_ns("test2"));

    const auto& mv = t1.links.at("eth1");
    CHECK(mv.kind == LinkKind::Macvlan);
    CHECK(mv.parent == "ens33");
    CHECK(mv.parent_ns == "");
    CHECK(mv.up == true);
    REQUIRE(mv.mac);
    CHECK(mv.mac->is_locally_administered());
    CHECK_FALSE(mv.mac->is_multicast());
    CHECK(mv.mac == reconcile::compile(lab_topology(), {}).namespaces.at(container_ns("test1")).links.at("eth1").mac);
    CHECK(mv.addresses == std::set<model::Prefix>{pfx("198.51.100.20/24")});
    REQUIRE(t1.routes.size() == 1);
    CHECK(t1.routes[0].dst.is_default());
    CHECK(t1.routes[0].via == ip("198.51.100.1"));
    CHECK(t1.routes[0].dev == "eth1");

    const std::string hostEnd = reconcile::veth_host_name("test2", "eth1");
    const auto& h = host.links.at(hostEnd);
    CHECK(h.kind == LinkKind::Veth);
    CHECK(h.peer_name == "eth1");
    CHECK(h.peer_ns == container_ns("test2"));
    CHECK(h.master == "br0");
    CHECK(h.up == true);
    const auto& peer = t2.links.at("eth1");
    CHECK(peer.kind == LinkKind::VethPeer);
    CHECK(peer.addresses == std::set<model::Prefix>{pfx("203.0.113.20/24")});
    REQUIRE(t2.routes.size() == 1);
    CHECK(t2.routes[0].via == ip("203.0.113.1"));

    const auto& shim = host.links.at("nl-mynet");
    CHECK(shim.kind == LinkKind::Macvlan);
    CHECK(shim.parent == "ens33");
    CHECK(shim.mode == model::MacvlanMode::Bridge);
    CHECK(shim.addresses == std::set<model::Prefix>{pfx("198.51.100.250/32")});
    REQUIRE(host.routes.size() == 1);
    CHECK(host.routes[0].dst == pfx("198.51.100.20/32"));
    CHECK(host.routes[0].dev == "nl-mynet");
    CHECK(host.routes[0].scope == 253);
}

TEST_CASE("attach: creates in the host come before the containers' configuration; applies and converges") {
    const Desired d = reconcile::compile(lab_topology(), {});
    Observed state = lab_state();
    const Plan p = reconcile::make_plan(d, state);
    REQUIRE(p.refusals.empty());
    const std::string hostEnd = reconcile::veth_host_name("test2", "eth1");
    const std::vector<std::string> expected = {
        "ip link add br0 type bridge stp_state 0 (netlab)",
        "ip link add link ens33 name nl-mynet type macvlan mode bridge (netlab)",
        "[container:test1] ip link add link ens33 name eth1 netns container:test1 (sent from host) address " +
            d.namespaces.at(container_ns("test1")).links.at("eth1").mac->str() + " type macvlan mode bridge (netlab)",
        "ip link add " + hostEnd + " master br0 up type veth peer name eth1 netns container:test2 (netlab)",
        "ip link set br0 up",
        "ip link set nl-mynet up",
        "[container:test1] ip link set eth1 up",
        "[container:test2] ip link set eth1 address " +
            d.namespaces.at(container_ns("test2")).links.at("eth1").mac->str() + " up",
        "ip addr add 198.51.100.250/32 dev nl-mynet",
        "[container:test1] ip addr add 198.51.100.20/24 dev eth1 brd 198.51.100.255",
        "[container:test2] ip addr add 203.0.113.20/24 dev eth1 brd 203.0.113.255",
        "ip link set ens34 master br0",
        "ip route add 198.51.100.20/32 dev nl-mynet scope link proto 77",
        "[container:test1] ip route add default via 198.51.100.1 dev eth1 proto 77",
        "[container:test2] ip route add default via 203.0.113.1 dev eth1 proto 77",
    };
    CHECK(lines(p) == expected);
    std::string error;
    CHECK(converges(d, state, &error));
    CAPTURE(error);
    CHECK(state.at(container_ns("test2")).links.at("eth1").up);
    CHECK(state.at("").links.at(hostEnd).master == "br0");
    // What netlabd's drift check finds after a successful reconcile: nothing.
    CHECK(reconcile::drift_in(d.namespaces.at(""), state.at("")).empty());
    state.at("").links.at(hostEnd).master = "";
    CHECK(reconcile::drift_in(d.namespaces.at(""), state.at("")) ==
          std::vector<std::string>{hostEnd + " released from br0"});
}

TEST_CASE("the container's existing default route is replaced, as pipework does") {
    const Desired d = reconcile::compile(lab_topology(), {});
    Observed state = lab_state();
    auto& t2 = state.at(container_ns("test2"));
    t2.links["eth0"] = nic("eth0", 50, "02:42:ac:11:00:02", "veth");
    t2.addresses.insert({"eth0", pfx("203.0.113.99/24")});
    t2.routes.insert(prefix_route("203.0.113.0/24", "eth0"));
    t2.routes.insert(route("0.0.0.0/0", "203.0.113.254", "eth0", 3));
    const Plan p = reconcile::make_plan(d, state);
    const auto text = lines(p);
    CHECK(std::count(text.begin(), text.end(),
                     "[container:test2] ip route replace default via 203.0.113.1 dev eth1 proto 77") == 1);
    CHECK(converges(d, state));
    CHECK(state.at(container_ns("test2")).links.count("eth0"));  // foreign: untouched
}

TEST_CASE("removing an attachment removes exactly what netlab made for it") {
    const model::Topology full = lab_topology();
    Observed state = lab_state();
    REQUIRE(converges(reconcile::compile(full, {}), state));
    const Observed attached = state;

    SUBCASE("the veth: one delete of the host end takes both ends") {
        model::Topology t = full;
        t.containers["test2"].interfaces.clear();
        const Plan p = reconcile::make_plan(reconcile::compile(t, {}), state);
        CHECK(lines(p) == std::vector<std::string>{"ip link del " + reconcile::veth_host_name("test2", "eth1")});
        CHECK(converges(reconcile::compile(t, {}), state));
        CHECK(state.at(container_ns("test2")).links.empty());
        CHECK(state.at("").links.count("br0"));
    }
    SUBCASE("the macvlan and the shim's route to it") {
        model::Topology t = full;
        t.containers["test1"].interfaces.clear();
        const Plan p = reconcile::make_plan(reconcile::compile(t, {}), state);
        CHECK(lines(p) == std::vector<std::string>{
                              "ip route del 198.51.100.20/32 dev nl-mynet scope link proto 77",
                              "[container:test1] ip link del eth1",
                          });
        CHECK(converges(reconcile::compile(t, {}), state));
    }
    SUBCASE("everything: back to the start") {
        CHECK(converges(reconcile::compile({}, {}), state));
        CHECK(state == lab_state());
    }
}

TEST_CASE("an attachment that changes from a network to a bridge is made again") {
    Observed state = lab_state();
    REQUIRE(converges(reconcile::compile(lab_topology(), {}), state));
    model::Topology t = lab_topology();
    t.containers["test1"].interfaces["eth1"] = on_bridge("br0", "203.0.113.21/24", nullptr);
    const Plan p = reconcile::make_plan(reconcile::compile(t, {}), state);
    REQUIRE_FALSE(p.steps.empty());
    CHECK(p.steps[0].describe() == "[container:test1] ip link del eth1");
    std::string error;
    CHECK(converges(reconcile::compile(t, {}), state, &error));
    CAPTURE(error);
    // and back
    CHECK(converges(reconcile::compile(lab_topology(), {}), state, &error));
}

TEST_CASE("a container that is not running neither blocks nor gets steps") {
    const Desired d = reconcile::compile(lab_topology(), {});
    Observed state = lab_state({"test1"});
    const Plan p = reconcile::make_plan(d, state);
    CHECK(p.refusals.empty());
    for (const auto& s : p.steps) {
        CHECK(s.ns != container_ns("test2"));
        CHECK(s.link.name != reconcile::veth_host_name("test2", "eth1"));
    }
    CHECK(run(state, p) == -1);
}

TEST_CASE("preflight: a network on a bridge port") {
    model::Topology t = lab_topology();
    t.networks["mynet"].parent = "ens34";
    t.networks["mynet"].host_access.clear();
    const Plan p = reconcile::make_plan(reconcile::compile(t, {}), lab_state());
    CHECK(refusals(p) == std::vector<std::string>{
                             "ens34: cannot be the parent of macvlan eth1 in container:test1: it is a port of br0 "
                             "(the kernel answers EBUSY)"});
}

TEST_CASE("100 containers in one plan: a failure in the 50th rolls back all of them and the host") {
    model::Topology t;
    model::Interface br;
    br.name = "br0";
    br.kind = model::InterfaceKind::Bridge;
    br.addresses = std::vector<model::Prefix>{pfx("2001:db8::1/64")};
    t.interfaces["br0"] = br;
    model::Network n;
    n.name = "lan";
    n.parent = "ens33";
    n.gateways = {ip("2001:db8:1::1")};
    n.host_access = {pfx("2001:db8:1::fe/128")};
    t.networks["lan"] = n;
    Observed before{{"", host1()}};
    for (int i = 0; i < 100; ++i) {
        char name[8], a[32];
        std::snprintf(name, sizeof name, "c%03d", i);
        if (i % 2) {
            std::snprintf(a, sizeof a, "2001:db8::%x/64", 0x100 + i);
            auto ci = on_bridge("br0", a, "2001:db8::1");
            add_container(t, name, ci);
        } else {
            std::snprintf(a, sizeof a, "2001:db8:1::%x/64", 0x100 + i);
            add_container(t, name, on_network("lan", a, true));
        }
        before[container_ns(name)];
    }
    const Desired d = reconcile::compile(t, {});
    const Plan p = reconcile::make_plan(d, before);
    REQUIRE(p.refusals.empty());
    {
        Observed all = before;
        REQUIRE(converges(d, all));
    }
    const auto first49 = std::find_if(p.steps.begin(), p.steps.end(),
                                      [](const Step& s) { return s.ns == container_ns("c049"); });
    REQUIRE(first49 != p.steps.end());
    // fail at the 50th container's first step, and at its last one
    const auto last49 = std::find_if(p.steps.rbegin(), p.steps.rend(),
                                     [](const Step& s) { return s.ns == container_ns("c049"); });
    for (std::size_t failAt : {static_cast<std::size_t>(first49 - p.steps.begin()),
                               static_cast<std::size_t>(p.steps.rend() - last49 - 1)}) {
        CAPTURE(failAt);
        reconcile::MemoryKernel k(before);
        k.fail_at = failAt;
        std::size_t done = 0;
        CHECK_THROWS_AS(
            [&] {
                for (const auto& s : p.steps) {
                    k.execute(s);
                    ++done;
                }
            }(),
            reconcile::KernelRefusal);
        CHECK(done == failAt);
        const Plan back = reconcile::make_plan(reconcile::restore_target(before, p), k.state);
        CHECK(back.refusals.empty());
        // The host links the failed run created (bridge, shim, veth host
        // ends, which take their container ends along) go in one group
        // request, one rcu_barrier() wait, as a removal's. A container's
        // macvlan is alone in its namespace, and a group request acts in one
        // namespace: one deletion each.
        for (const auto& s : back.steps) {
            CAPTURE(s.describe());
            if (s.op == Step::Op::DeleteGroup) CHECK(s.ns.empty());
            if (s.op == Step::Op::DeleteLink) CHECK(!s.ns.empty());
        }
        CHECK(std::count_if(back.steps.begin(), back.steps.end(),
                            [](const Step& s) { return s.op == Step::Op::DeleteGroup; }) == 1);
        std::string error;
        CHECK(run(k.state, back, &error) == -1);
        CAPTURE(error);
        CHECK(k.state == before);
    }
}

TEST_CASE("a host end whose container end is gone: the pair is deleted and made again") {
    const Desired d = reconcile::compile(lab_topology(), {});
    Observed state = lab_state();
    REQUIRE(converges(d, state));
    state[container_ns("test2")] = {};  // the container restarted: a new, empty namespace
    const std::string hostEnd = reconcile::veth_host_name("test2", "eth1");
    REQUIRE(state.at("").links.count(hostEnd));
    const Plan p = reconcile::make_plan(d, state);
    const auto text = lines(p);
    REQUIRE(text.size() >= 2);
    CHECK(text[0] == "ip link del " + hostEnd);
    CHECK(text[1].rfind("ip link add " + hostEnd + " master br0 up type veth peer name eth1", 0) == 0);
    for (const auto& s : p.steps) CHECK_FALSE((s.op == Step::Op::CreateLink && s.link.kind == LinkKind::VethPeer));
    std::string error;
    CHECK(converges(d, state, &error));
    CAPTURE(error);
}

TEST_CASE("preflight: a bridge past the kernel's 1023 ports, counting ports the topology does not name") {
    // br0 is netlab's and holds ens34 and 1019 foreign ports: 1020 now.
    auto with = [](int containers) {
        model::Topology t;
        model::Interface br;
        br.name = "br0";
        br.kind = model::InterfaceKind::Bridge;
        br.ports = {"ens34"};
        t.interfaces["br0"] = br;
        Observed o{{"", host1()}};
        auto& host = o.at("");
        host.links["br0"] = nic("br0", 5, "02:00:00:00:00:01", "bridge");
        host.links["br0"].alias = "netlab:bridge";
        host.links["ens34"] = nic("ens34", 4, "52:54:00:12:34:57");
        host.links["ens34"].master = "br0";
        for (int i = 0; i < 1019; ++i) {
            const std::string name = "f" + std::to_string(i);
            host.links[name] = nic(name, 100 + i, "52:54:00:00:00:02", "veth");
            host.links[name].master = "br0";
        }
        for (int k = 0; k < containers; ++k) {
            const std::string name = "c" + std::to_string(k);
            const std::string a = "198.51.100." + std::to_string(k + 2) + "/24";
            add_container(t, name, on_bridge("br0", a.c_str(), nullptr));
            o[container_ns(name)];
        }
        return reconcile::make_plan(reconcile::compile(t, {}), o);
    };
    // 1020 + 3 = 1023: the most the kernel takes.
    CHECK(with(3).refusals.empty());
    CHECK_FALSE(with(3).steps.empty());
    // One more: refused before any step, naming the count and the limit.
    const Plan p = with(4);
    CHECK(p.steps.empty());
    REQUIRE(refusals(p).size() == 1);
    CHECK(refusals(p)[0].find("br0: would hold 1024 ports after this plan (1020 now)") == 0);
    CHECK(refusals(p)[0].find("at most 1023") != std::string::npos);
    CHECK(refusals(p)[0].find("BR_MAX_PORTS") != std::string::npos);
}
