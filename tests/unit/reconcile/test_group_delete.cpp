// Group delete: the links one namespace loses go in one RTM_DELLINK with
// IFLA_GROUP (Step::Op::DeleteGroup). Plan shape, the choice of the group,
// the in-memory kernel's refusal when an outsider is in the group, and
// rollback through the engine.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "lab.hpp"
#include "reconcile/plan/compile.hpp"
#include "reconcile/engine.hpp"

using netlab::reconcile::LinkKind;

using namespace netlab;
using namespace netlab::test;
using reconcile::container_ns;
using reconcile::Desired;
using reconcile::Observed;
using reconcile::Plan;
using reconcile::Step;

namespace {

model::ContainerInterface attachment(const std::string& ifname, const char* bridge, const char* network,
                                     const std::string& address) {
    model::ContainerInterface i;
    i.name = ifname;
    if (bridge) i.bridge = bridge;
    if (network) i.network = network;
    i.addresses = {*model::Prefix::parse(address, true)};
    return i;
}

// br0 (netlab's) with `bridged` containers c0.. on it (a veth each), and
// `macvlans` containers m0.. with eth1 and eth2 on the macvlan network lan
// (parent ens33).
model::Topology topology(int bridged, int macvlans = 0) {
    model::Topology t;
    model::Interface br;
    br.name = "br0";
    br.kind = model::InterfaceKind::Bridge;
    br.addresses = std::vector<model::Prefix>{pfx("198.51.100.1/24")};
    t.interfaces["br0"] = br;
    model::Network n;
    n.name = "lan";
    n.parent = "ens33";
    n.subnets = {pfx("203.0.113.0/24")};
    t.networks["lan"] = n;
    for (int i = 0; i < bridged; ++i) {
        model::Container c;
        c.name = "c" + std::to_string(i);
        c.netns = *model::NetnsTarget::parse("netns:" + c.name);
        c.interfaces["eth1"] = attachment("eth1", "br0", nullptr, "198.51.100." + std::to_string(10 + i) + "/24");
        t.containers[c.name] = c;
    }
    for (int i = 0; i < macvlans; ++i) {
        model::Container c;
        c.name = "m" + std::to_string(i);
        c.netns = *model::NetnsTarget::parse("netns:" + c.name);
        c.interfaces["eth1"] = attachment("eth1", nullptr, "lan", "203.0.113." + std::to_string(10 + 2 * i) + "/24");
        c.interfaces["eth2"] = attachment("eth2", nullptr, "lan", "203.0.113." + std::to_string(11 + 2 * i) + "/24");
        t.containers[c.name] = c;
    }
    return t;
}

Observed empty_lab(int bridged, int macvlans = 0) {
    Observed o{{"", host1()}};
    for (int i = 0; i < bridged; ++i) o[container_ns("c" + std::to_string(i))];
    for (int i = 0; i < macvlans; ++i) o[container_ns("m" + std::to_string(i))];
    return o;
}

// Applies the whole plan; the state must then need nothing more.
void converge(const Desired& d, Observed& state) {
    const Plan p = reconcile::make_plan(d, state);
    REQUIRE(p.refusals.empty());
    std::string error;
    REQUIRE_MESSAGE(run(state, p, &error) == -1, error);
    REQUIRE(reconcile::make_plan(d, state).empty());
}

// Equal up to ifindex (a link made again gets another one).
bool same(Observed a, Observed b) {
    for (auto* o : {&a, &b})
        for (auto& [_, s] : *o)
            for (auto& [__, l] : s.links) l.ifindex = 0;
    return a == b;
}

std::vector<std::string> host_ends(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(reconcile::veth_host_name("c" + std::to_string(i), "eth1"));
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("group delete: removing N bridge attachments is one request in the host") {
    Observed state = empty_lab(5);
    converge(reconcile::compile(topology(5), {}), state);
    const Observed attached = state;
    const Desired none = reconcile::compile(topology(0), {});
    const Plan p = reconcile::make_plan(none, state);
    REQUIRE(p.refusals.empty());
    REQUIRE(p.steps.size() == 1);
    const Step& s = p.steps[0];
    CHECK(s.op == Step::Op::DeleteGroup);
    CHECK(s.ns == "");
    CHECK(s.group == reconcile::kFirstDeleteGroup);
    CHECK(s.members == host_ends(5));  // host ends only: each takes its container end along
    CHECK(s.describe().rfind("ip link delete group 7700  # 5 links set to group 7700 first: " + host_ends(5)[0], 0) == 0);
    const auto j = s.to_json();
    CHECK(j["op"] == "delete-group");
    CHECK(j["group"] == 7700);
    CHECK(j["members"].size() == 5);

    std::string error;
    CHECK(run(state, p, &error) == -1);
    CHECK(state.at("").links.count("br0"));
    for (int i = 0; i < 5; ++i) CHECK(state.at(container_ns("c" + std::to_string(i))).links.empty());
    CHECK(reconcile::make_plan(none, state).empty());
}

TEST_CASE("group delete: one link alone is deleted by name") {
    Observed state = empty_lab(1);
    converge(reconcile::compile(topology(1), {}), state);
    const Plan p = reconcile::make_plan(reconcile::compile(topology(0), {}), state);
    CHECK(lines(p) == std::vector<std::string>{"ip link del " + host_ends(1)[0]});
}

TEST_CASE("group delete: the group is one no observed link of the namespace is in") {
    Observed state = empty_lab(3);
    converge(reconcile::compile(topology(3), {}), state);
    // foreign links already in 7700 and 7701; one in 7702 elsewhere does not count
    state.at("").links["foreign0"].group = 7700;
    auto other = nic("foreign1", 40, "52:54:00:aa:bb:cd", "veth");
    other.group = 7701;
    state.at("").links["foreign1"] = other;
    state.at(container_ns("c0")).links["lo"] = nic("lo", 1, "00:00:00:00:00:00");
    state.at(container_ns("c0")).links["lo"].group = 7702;
    const Plan p = reconcile::make_plan(reconcile::compile(topology(0), {}), state);
    REQUIRE(p.steps.size() == 1);
    CHECK(p.steps[0].group == 7702);
    std::string error;
    CHECK(run(state, p, &error) == -1);
    CHECK(state.at("").links.count("foreign0"));
    CHECK(state.at("").links.count("foreign1"));
}

TEST_CASE("group delete: containers' macvlans are deleted per container namespace, containers first") {
    Observed state = empty_lab(2, 2);
    converge(reconcile::compile(topology(2, 2), {}), state);
    const Plan p = reconcile::make_plan(reconcile::compile(topology(0), {}), state);
    REQUIRE(p.refusals.empty());
    std::vector<std::pair<std::string, std::vector<std::string>>> groups;
    for (const auto& s : p.steps) {
        CHECK(s.op == Step::Op::DeleteGroup);
        groups.push_back({s.ns, s.members});
    }
    CHECK(groups == std::vector<std::pair<std::string, std::vector<std::string>>>{
                        {container_ns("m0"), {"eth1", "eth2"}},
                        {container_ns("m1"), {"eth1", "eth2"}},
                        {"", host_ends(2)},
                    });
    std::string error;
    CHECK(run(state, p, &error) == -1);
    CAPTURE(error);
    CHECK(reconcile::make_plan(reconcile::compile(topology(0), {}), state).empty());
}

TEST_CASE("group delete: refused, nothing deleted, when a link outside the members is in the group") {
    Observed state = empty_lab(3);
    converge(reconcile::compile(topology(3), {}), state);
    const Observed before = state;
    const Plan p = reconcile::make_plan(reconcile::compile(topology(0), {}), state);
    REQUIRE(p.steps.size() == 1);
    // Between plan and execution, someone puts a foreign link in the group.
    state.at("").links["foreign0"].group = p.steps[0].group;
    std::string error;
    CHECK(run(state, p, &error) == 0);
    CHECK(error.find("foreign0 is in group 7700") != std::string::npos);
    state.at("").links["foreign0"].group = 0;
    CHECK(state == before);
}

TEST_CASE("group delete: the rollback target makes every member (and its container end) again") {
    Observed state = empty_lab(4);
    converge(reconcile::compile(topology(4), {}), state);
    const Observed before = state;
    const Plan p = reconcile::make_plan(reconcile::compile(topology(0), {}), state);
    REQUIRE(p.steps.size() == 1);
    REQUIRE(run(state, p) == -1);
    const Desired target = reconcile::restore_target(before, p);
    for (const auto& m : p.steps[0].members) {
        REQUIRE(target.namespaces.at("").links.count(m));
        CHECK(target.namespaces.at("").links.at(m).kind == LinkKind::Veth);
        CHECK(target.namespaces.at("").links.at(m).group == 0u);
    }
    const Plan back = reconcile::make_plan(target, state);
    REQUIRE(back.refusals.empty());
    std::string error;
    CHECK(run(state, back, &error) == -1);
    CAPTURE(error);
    CHECK(same(state, before));
}

TEST_CASE("group delete: a link left in a group by an interrupted delete gets its group back") {
    Observed state = empty_lab(2);
    converge(reconcile::compile(topology(2), {}), state);
    const Observed before = state;
    const Plan p = reconcile::make_plan(reconcile::compile(topology(0), {}), state);
    REQUIRE(p.steps.size() == 1);
    // killed after the members joined the group, before the delete
    for (const auto& m : p.steps[0].members) state.at("").links.at(m).group = p.steps[0].group;
    const Plan back = reconcile::make_plan(reconcile::restore_target(before, p), state);
    CHECK(back.steps.size() == 2);
    for (const auto& s : back.steps) CHECK(s.describe().find(" group 0") != std::string::npos);
    CHECK(run(state, back) == -1);
    CHECK(state == before);
}

TEST_CASE("group delete: the engine rolls back a refused group delete to the snapshot") {
    char tmpl[] = "/tmp/netlab-test-group-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(tmpl);
    Observed state = empty_lab(3);
    converge(reconcile::compile(topology(3), {}), state);
    const Observed before = state;
    reconcile::MemoryKernel k(state);
    reconcile::Engine engine(k, reconcile::Options{dir, {}});
    model::Loaded config;
    config.topology = topology(0);
    k.fail_at = k.writes();  // the first step: the group delete
    auto o = engine.apply(config);
    CHECK(o.status == reconcile::Outcome::Status::RolledBack);
    REQUIRE(o.failed_step);
    CHECK(*o.failed_step == 0);
    CHECK(o.plan.steps.at(0).op == Step::Op::DeleteGroup);
    CHECK(k.state == before);
    k.fail_at.reset();
    o = engine.apply(config);
    CHECK(o.status == reconcile::Outcome::Status::Applied);
    CHECK(o.plan.steps.size() == 1);
    std::filesystem::remove_all(dir);
}
