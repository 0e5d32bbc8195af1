// Networks published to Docker: the topology's networks as Docker should
// hold them, the Engine API bodies, parsing Docker's answers and the plan
// between the two (with its refusals).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "model/load.hpp"
#include "reconcile/containers/docker_network.hpp"
#include "tests/unit/reconcile/fake_docker.hpp"

using namespace netlab;
using namespace netlab::reconcile::docker;
using nlohmann::json;
using netlab::test_docker::kPublishedTopo;

namespace {

// mynet, the network these tests are about (kPublishedTopo publishes
// docknet too, for the drift tests).
std::vector<NetworkSpec> desired() {
    auto l = model::load_string(kPublishedTopo, "t.yaml");
    REQUIRE(l.diagnostics.empty());
    std::vector<NetworkSpec> d;
    for (auto& n : published(l.topology))
        if (n.network == "mynet") d.push_back(std::move(n));
    return d;
}

// Docker's answer for the network netlab created from desired().
SeenNetwork seen_ours(const NetworkSpec& d) {
    json j = create_body(d);
    j["Id"] = "abc123";
    j["Containers"] = json::object();
    return std::get<SeenNetwork>(parse_network(j));
}

SeenNetwork foreign(const std::string& name, const std::string& subnet) {
    json j{{"Name", name}, {"Id", name + "-id"}, {"Driver", "bridge"},
           {"IPAM", {{"Config", json::array({{{"Subnet", subnet}}})}}}, {"Labels", json::object()}};
    return std::get<SeenNetwork>(parse_network(j));
}

bool refused_with(const Plan& p, const std::string& words) {
    for (const auto& d : p.refusals)
        if (d.message.find(words) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("published: pools, reserved addresses, Docker-connected endpoints") {
    auto d = desired();
    REQUIRE(d.size() == 1);
    const auto& n = d[0];
    CHECK(n.name == "mynet");
    CHECK(n.parent == "ens33");
    CHECK(n.mode == "bridge");
    CHECK(n.ipv6());
    REQUIRE(n.pools.size() == 2);
    CHECK(n.pools[0].gateway->str() == "198.51.100.1");
    // The host's address, the shim and the netns: container are netlab's;
    // web's address is given by Docker's connect, so it is not reserved.
    std::set<std::string> reserved;
    for (const auto& [k, a] : n.pools[0].reserved) reserved.insert(k + "=" + a.str());
    CHECK(reserved == std::set<std::string>{"netlab-198.51.100.11=198.51.100.11", "netlab-198.51.100.148=198.51.100.148",
                                            "netlab-198.51.100.250=198.51.100.250"});
    CHECK(n.pools[1].reserved.empty());
    REQUIRE(n.endpoints.size() == 1);
    CHECK(n.endpoints[0].container == "web");
    CHECK(n.endpoints[0].v4->str() == "198.51.100.10");
    CHECK(n.endpoints[0].v6->str() == "2001:db8:104::10");
}

TEST_CASE("create, connect and disconnect bodies (Engine API 1.41)") {
    auto d = desired();
    json c = create_body(d[0]);
    CHECK(c["Name"] == "mynet");
    CHECK(c["Driver"] == "macvlan");
    CHECK(c["CheckDuplicate"] == true);
    CHECK(c["EnableIPv6"] == true);
    CHECK(c["Options"] == json{{"parent", "ens33"}, {"macvlan_mode", "bridge"}});
    CHECK(c["Labels"]["org.netlab.owner"] == "netlab");
    CHECK(c["Labels"]["org.netlab.network"] == "mynet");
    CHECK(c["IPAM"]["Driver"] == "default");
    REQUIRE(c["IPAM"]["Config"].size() == 2);
    CHECK(c["IPAM"]["Config"][0] ==
          json{{"Subnet", "198.51.100.0/24"},
               {"Gateway", "198.51.100.1"},
               {"AuxiliaryAddresses",
                {{"netlab-198.51.100.11", "198.51.100.11"},
                 {"netlab-198.51.100.148", "198.51.100.148"},
                 {"netlab-198.51.100.250", "198.51.100.250"}}}});
    CHECK(c["IPAM"]["Config"][1] == json{{"Subnet", "2001:db8:104::/64"}, {"Gateway", "2001:db8:104::1"}});

    CHECK(connect_body(d[0].endpoints[0]) ==
          json{{"Container", "web"},
               {"EndpointConfig", {{"IPAMConfig", {{"IPv4Address", "198.51.100.10"}, {"IPv6Address", "2001:db8:104::10"}}}}}});
    CHECK(connect_body(Endpoint{"x", model::IpAddress::parse("198.51.100.9"), {}, {}}) ==
          json{{"Container", "x"}, {"EndpointConfig", {{"IPAMConfig", {{"IPv4Address", "198.51.100.9"}}}}}});
    CHECK(disconnect_body("web") == json{{"Container", "web"}, {"Force", false}});
}

TEST_CASE("parse_networks: Docker's list and inspect answers") {
    const char* body = R"([{"Name":"mynet","Id":"f00","Driver":"macvlan","EnableIPv6":false,
      "IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"198.51.100.0/24","Gateway":"198.51.100.1",
              "AuxiliaryAddresses":{"netlab-198.51.100.250":"198.51.100.250"}}]},
      "Options":{"parent":"ens33"},"Labels":{"org.netlab.owner":"netlab"},
      "Containers":{"c1":{"Name":"test1","IPv4Address":"198.51.100.10/24","IPv6Address":""}}},
     {"Name":"none","Id":"n0","Driver":"null","IPAM":{"Config":[]},"Labels":{}}])";
    auto parsed = parse_networks(body);
    REQUIRE(std::holds_alternative<Seen>(parsed));
    const auto& s = std::get<Seen>(parsed);
    REQUIRE(s.size() == 2);
    CHECK(s[0].ours());
    CHECK(!s[1].ours());
    CHECK(s[0].pools[0].reserved.at("netlab-198.51.100.250").str() == "198.51.100.250");
    CHECK(s[0].containers.at("c1").container == "test1");
    CHECK(s[0].containers.at("c1").v4->str() == "198.51.100.10");
    CHECK(!s[0].containers.at("c1").v6);
    CHECK(std::holds_alternative<Error>(parse_networks("{}")));
    CHECK(std::holds_alternative<Error>(parse_networks("[{\"Name\":\"x\"}]")));
}

TEST_CASE("plan: create then connect; converged when Docker holds it") {
    auto d = desired();
    auto p = plan(d, {}, {});
    CHECK(p.refusals.empty());
    REQUIRE(p.steps.size() == 2);
    CHECK(p.steps[0].op == Step::Op::CreateNetwork);
    CHECK(p.steps[0].describe().find("docker network create -d macvlan --subnet=198.51.100.0/24 --gateway=198.51.100.1") == 0);
    CHECK(p.steps[1].describe() == "docker network connect --ip=198.51.100.10 --ip6=2001:db8:104::10 mynet web");

    SeenNetwork s = seen_ours(d[0]);
    s.containers["id1"] = d[0].endpoints[0];
    s.containers["id2"] = Endpoint{"users-own", model::IpAddress::parse("198.51.100.77"), {}, "id2"};
    auto again = plan(d, {s}, {});
    CHECK(again.refusals.empty());
    CHECK(again.steps.empty());  // the foreign container is left alone
}

TEST_CASE("plan: an address the topology leaves to Docker is not a change; a different fixed one is") {
    auto d = desired();
    d[0].endpoints[0].v4.reset();  // web: IPv6 given, IPv4 Docker's to pick
    SeenNetwork s = seen_ours(d[0]);
    Endpoint have = d[0].endpoints[0];
    have.v4 = model::IpAddress::parse("198.51.100.33");
    s.containers["id1"] = have;
    CHECK(plan(d, {s}, {}).steps.empty());

    d[0].endpoints[0].v4 = model::IpAddress::parse("198.51.100.10");
    auto p = plan(d, {s}, {});
    REQUIRE(p.steps.size() == 2);
    CHECK(p.steps[0].op == Step::Op::Disconnect);
    CHECK(p.steps[1].op == Step::Op::Connect);
}

TEST_CASE("plan: what netlab connected before is disconnected, never a foreign container") {
    auto d = desired();
    SeenNetwork s = seen_ours(d[0]);
    s.containers["id1"] = d[0].endpoints[0];
    s.containers["id2"] = Endpoint{"old", model::IpAddress::parse("198.51.100.20"), {}, "id2"};
    s.containers["id3"] = Endpoint{"users-own", model::IpAddress::parse("198.51.100.77"), {}, "id3"};
    auto p = plan(d, {s}, Connected{{"mynet", {"web", "old"}}});
    REQUIRE(p.steps.size() == 1);
    CHECK(p.steps[0].describe() == "docker network disconnect mynet old");
    CHECK(p.steps[0].before_kernel());
}

TEST_CASE("plan: refusals") {
    auto d = desired();
    SUBCASE("a network of that name that is not netlab's") {
        auto p = plan(d, {foreign("mynet", "203.0.113.0/24")}, {});
        CHECK(refused_with(p, "Docker network 'mynet' exists and is not netlab's"));
        CHECK(p.steps.empty());
    }
    SUBCASE("a subnet another Docker network has") {
        auto p = plan(d, {foreign("lan", "198.51.100.128/25")}, {});
        CHECK(refused_with(p, "overlaps subnet 198.51.100.128/25 of Docker network 'lan'"));
    }
    SUBCASE("an address another container holds") {
        SeenNetwork s = seen_ours(d[0]);
        s.containers["x"] = Endpoint{"squatter", model::IpAddress::parse("198.51.100.10"), {}, "x"};
        auto p = plan(d, {s}, {});
        CHECK(refused_with(p, "address 198.51.100.10 of container 'web' is held by container 'squatter'"));
    }
    SUBCASE("removing a network foreign containers use: named") {
        SeenNetwork s = seen_ours(d[0]);
        s.containers["x"] = Endpoint{"test1", model::IpAddress::parse("198.51.100.10"), {}, "x"};
        s.containers["y"] = Endpoint{"test2", model::IpAddress::parse("198.51.100.12"), {}, "y"};
        auto p = plan({}, {s}, {});
        CHECK(refused_with(p, "still use it: test1, test2"));
        auto mine = plan({}, {s}, Connected{{"mynet", {"test1", "test2"}}});
        CHECK(mine.refusals.empty());
        REQUIRE(mine.steps.size() == 3);
        CHECK(mine.steps[2].describe() == "docker network rm mynet");
    }
    SUBCASE("a changed network is re-created, unless foreign containers use it") {
        SeenNetwork s = seen_ours(d[0]);
        s.options["parent"] = "ens34";
        auto p = plan(d, {s}, {});
        REQUIRE(p.steps.size() == 3);
        CHECK(p.steps[0].op == Step::Op::RemoveNetwork);
        CHECK(p.steps[0].network.parent == "ens34");  // its inverse puts the old one back
        CHECK(p.steps[1].op == Step::Op::CreateNetwork);
        s.containers["x"] = Endpoint{"test1", model::IpAddress::parse("198.51.100.12"), {}, "x"};
        CHECK(refused_with(plan(d, {s}, {}), "must be re-created"));
    }
}

TEST_CASE("steps: inverse and journal form read back") {
    auto d = desired();
    for (const auto& s : plan(d, {}, {}).steps) {
        auto back = Step::from_json(s.to_json());
        REQUIRE(back);
        CHECK(back->describe() == s.describe());
        CHECK(back->to_json() == s.to_json());
        CHECK(s.inverse().inverse() == s);
        CHECK(s.inverse().before_kernel());
    }
    CHECK(!Step::from_json(json{{"op", "docker_frobnicate"}, {"network", {{"name", "x"}}}}));
}

TEST_CASE("undo: only what shows as done, last first") {
    auto d = desired();
    const auto forward = plan(d, {}, {}).steps;  // create mynet, connect web
    SUBCASE("nothing done: nothing to undo") { CHECK(undo(forward, {}).empty()); }
    SUBCASE("created, not connected: removed") {
        auto back = undo(forward, {seen_ours(d[0])});
        REQUIRE(back.size() == 1);
        CHECK(back[0].describe() == "docker network rm mynet");
    }
    SUBCASE("all done: disconnected, then removed") {
        SeenNetwork s = seen_ours(d[0]);
        s.containers["id1"] = d[0].endpoints[0];
        auto back = undo(forward, {s});
        REQUIRE(back.size() == 2);
        CHECK(back[0].describe() == "docker network disconnect mynet web");
        CHECK(back[1].describe() == "docker network rm mynet");
    }
    SUBCASE("a foreign container joined meanwhile: the network stays") {
        SeenNetwork s = seen_ours(d[0]);
        s.containers["id9"] = Endpoint{"users-own", {}, {}, "id9"};
        CHECK(undo(forward, {s}).empty());
    }
    SUBCASE("a removal undone: re-created, then reconnected") {
        SeenNetwork s = seen_ours(d[0]);
        s.containers["id1"] = d[0].endpoints[0];
        const auto down = plan({}, {s}, Connected{{"mynet", {"web"}}}).steps;  // disconnect web, rm mynet
        REQUIRE(down.size() == 2);
        auto back = undo(down, {});
        REQUIRE(back.size() == 2);
        CHECK(back[0].op == Step::Op::CreateNetwork);
        CHECK(back[1].describe() == "docker network connect --ip=198.51.100.10 --ip6=2001:db8:104::10 mynet web");
    }
}

namespace {

const std::string kWebId = "4f2a" + std::string(60, '1');
const std::string kWebTwinId = "4f2b" + std::string(60, '2');

SeenContainers containers_listed(const std::string& web_state) {
    const std::string body = R"([{"Id":")" + kWebId + R"(","Names":["/web"],"State":")" + web_state +
                             R"("},{"Id":")" + kWebTwinId + R"(","Names":["/other"],"State":"running"}])";
    auto parsed = parse_containers(body);
    REQUIRE(std::holds_alternative<SeenContainers>(parsed));
    return std::get<SeenContainers>(parsed);
}

}  // namespace

TEST_CASE("find_container: a full ID, a name, a unique ID prefix, as Docker resolves them") {
    const auto all = containers_listed("running");
    auto id_of = [&](std::string_view ref) {
        auto f = find_container(all, ref);
        return std::holds_alternative<SeenContainer>(f) ? std::get<SeenContainer>(f).id : "(" + std::get<std::string>(f) + ")";
    };
    CHECK(id_of(kWebId) == kWebId);
    CHECK(id_of("web") == kWebId);
    CHECK(id_of("4f2a") == kWebId);
    CHECK(id_of("other") == kWebTwinId);
    CHECK(id_of("4f2") == "(more than one container's ID starts with 4f2)");
    CHECK(id_of("ghost") == "(no such container)");
    CHECK(std::holds_alternative<Error>(parse_containers("{}")));
    CHECK(std::holds_alternative<Error>(parse_containers(R"([{"Names":["/x"]}])")));
}

TEST_CASE("bind_endpoints: docker:ID and docker:PREFIX match the container Docker lists on the network") {
    for (const std::string& ref : {kWebId, std::string("4f2a"), std::string("web")}) {
        CAPTURE(ref);
        auto d = desired();
        d[0].endpoints[0].container = ref;
        CHECK(bind_endpoints(d, containers_listed("running")).empty());
        REQUIRE(d[0].endpoints.size() == 1);
        CHECK(d[0].endpoints[0].container == "web");
        CHECK(d[0].endpoints[0].id == kWebId);
        CHECK(connect_body(d[0].endpoints[0])["Container"] == kWebId);
        // Docker lists the network's containers by ID, with their names.
        SeenNetwork s = seen_ours(d[0]);
        s.containers[kWebId] = Endpoint{"web", d[0].endpoints[0].v4, d[0].endpoints[0].v6, kWebId};
        CHECK(plan(d, {s}, {}).steps.empty());
        // Held by another container with the same address: still refused.
        SeenNetwork squat = seen_ours(d[0]);
        squat.containers[kWebTwinId] = Endpoint{"other", d[0].endpoints[0].v4, {}, kWebTwinId};
        CHECK(refused_with(plan(d, {squat}, {}), "is held by container 'other'"));
    }
}

TEST_CASE("bind_endpoints: a stopped or missing container is left out of the plan and the ledger") {
    auto d = desired();
    auto left = bind_endpoints(d, containers_listed("exited"));
    REQUIRE(left.size() == 1);
    CHECK(left[0].network == "mynet");
    CHECK(left[0].ref == "web");
    CHECK(left[0].id == kWebId);
    CHECK(left[0].why == "not running (exited)");
    CHECK(d[0].endpoints.empty());
    auto p = plan(d, {}, {});
    REQUIRE(p.steps.size() == 1);  // the network only: no connect for a stopped container
    CHECK(p.steps[0].op == Step::Op::CreateNetwork);
    CHECK(connected_by(d, {}, left) == Connected{{"mynet", {}}});
    // A connect netlab made before is remembered: Docker restores it when the container starts.
    CHECK(connected_by(d, Connected{{"mynet", {kWebId}}}, left) == Connected{{"mynet", {kWebId}}});

    auto gone = desired();
    auto missing = bind_endpoints(gone, {});
    REQUIRE(missing.size() == 1);
    CHECK(missing[0].why == "no such container");
    CHECK(missing[0].id.empty());
}

TEST_CASE("plan: steps on a network Docker holds carry its ID; the ledger's IDs own connects") {
    auto d = desired();
    bind_endpoints(d, containers_listed("running"));
    SeenNetwork s = seen_ours(d[0]);  // Id abc123
    s.containers["old-id"] = Endpoint{"old", model::IpAddress::parse("198.51.100.20"), {}, "old-id"};
    auto p = plan(d, {s}, Connected{{"mynet", {"old-id"}}});
    REQUIRE(p.steps.size() == 2);
    CHECK(p.steps[0].describe() == "docker network disconnect mynet old");
    CHECK(p.steps[0].network.id == "abc123");
    CHECK(p.steps[1].describe() == "docker network connect --ip=198.51.100.10 --ip6=2001:db8:104::10 mynet web");
    CHECK(p.steps[1].network.id == "abc123");
    CHECK(p.steps[1].endpoint.id == kWebId);
    auto back = Step::from_json(p.steps[1].to_json());
    REQUIRE(back);
    CHECK(back->to_json() == p.steps[1].to_json());
    CHECK(back->network.id == "abc123");
    CHECK(back->endpoint.id == kWebId);
    // A network this plan creates has no ID yet: docker::Runner learns it.
    CHECK(plan(d, {}, {}).steps[0].network.id.empty());
}

TEST_CASE("undo_done: exactly the steps done, inverted, last first, whatever Docker shows") {
    auto d = desired();
    bind_endpoints(d, containers_listed("running"));
    SeenNetwork s = seen_ours(d[0]);
    s.containers[kWebId] = Endpoint{"web", {}, {}, kWebId};
    // A take-down that failed at its second step: only the disconnect was done.
    auto down = plan({}, {s}, Connected{{"mynet", {kWebId}}}).steps;
    REQUIRE(down.size() == 2);
    auto back = undo_done({down[0]});
    REQUIRE(back.size() == 1);
    CHECK(back[0].op == Step::Op::Connect);
    CHECK(back[0].network.id == "abc123");
    CHECK(back[0].endpoint.id == kWebId);
    // Both done: re-created, then reconnected (docker::Runner maps the old ID to the new one).
    back = undo_done(down);
    REQUIRE(back.size() == 2);
    CHECK(back[0].op == Step::Op::CreateNetwork);
    CHECK(back[0].network.id == "abc123");
    CHECK(back[1].op == Step::Op::Connect);
    CHECK(undo_done({}).empty());
}

TEST_CASE("undo (a journal's): a network of that name with another ID is not the one the steps touched") {
    auto d = desired();
    SeenNetwork s = seen_ours(d[0]);
    s.containers["id1"] = Endpoint{"web", {}, {}, "id1"};
    const auto down = plan({}, {s}, Connected{{"mynet", {"id1"}}}).steps;  // disconnect web, rm mynet (abc123)
    SeenNetwork someone_elses = s;
    someone_elses.id = "f00";
    someone_elses.containers.clear();
    // The run was killed after its disconnect; someone re-created mynet meanwhile.
    CHECK(undo({down[0]}, {someone_elses}).empty());
    // Killed after its disconnect, mynet still the same: reconnected by its ID.
    SeenNetwork same = s;
    same.containers.clear();
    auto back = undo({down[0]}, {same});
    REQUIRE(back.size() == 1);
    CHECK(back[0].network.id == "abc123");
    // A network the run created (no ID in the journal) is removed by the ID Docker shows.
    const auto up = plan(d, {}, {}).steps;
    auto rm = undo(up, {same});
    REQUIRE(rm.size() == 1);
    CHECK(rm[0].op == Step::Op::RemoveNetwork);
    CHECK(rm[0].network.id == "abc123");
}

TEST_CASE("undo (a journal's) of a re-creation: the network it removes is not the one it created") {
    auto d = desired();
    SeenNetwork s = seen_ours(d[0]);
    s.pools[0].reserved.clear();  // Docker's pool differs: re-created
    s.containers["id1"] = Endpoint{"web", d[0].endpoints[0].v4, d[0].endpoints[0].v6, "id1"};
    const auto forward = plan(d, {s}, Connected{{"mynet", {"id1"}}}).steps;
    REQUIRE(forward.size() == 4);  // disconnect web, rm mynet (abc123), create mynet, connect web
    CHECK(forward[1].op == Step::Op::RemoveNetwork);
    CHECK(forward[2].op == Step::Op::CreateNetwork);
    // Killed before its first step: nothing to undo (abc123 is not the created one).
    CHECK(undo(forward, {s}).empty());
    // Killed after the disconnect: only reconnected, abc123 kept.
    SeenNetwork left = s;
    left.containers.clear();
    auto back = undo(forward, {left});
    REQUIRE(back.size() == 1);
    CHECK(back[0].op == Step::Op::Connect);
    CHECK(back[0].network.id == "abc123");
    // The recovery undoes the steps after the kernel's apart, told about the take-down before them.
    const std::vector<Step> down(forward.begin(), forward.begin() + 2), up(forward.begin() + 2, forward.end());
    CHECK(undo(up, {left}, down).empty());
    CHECK(undo(up, {s}, down).empty());
    // Killed after the create: the new network removed, the old one re-created, web reconnected.
    SeenNetwork created = seen_ours(d[0]);
    created.id = "n2";
    back = undo(forward, {created});
    REQUIRE(back.size() == 3);
    CHECK(back[0].op == Step::Op::RemoveNetwork);
    CHECK(back[0].network.id == "n2");
    CHECK(back[1].op == Step::Op::CreateNetwork);
    CHECK(back[1].network.pools[0].reserved.empty());
    CHECK(back[2].op == Step::Op::Connect);
}
