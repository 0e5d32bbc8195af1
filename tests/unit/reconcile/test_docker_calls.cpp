// docker::Runner against a fake Docker: networks addressed by the ID seen
// or created, never by name; done() holds exactly what Docker accepted,
// which is what a failed apply undoes.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "reconcile/containers/docker_calls.hpp"
#include "tests/unit/reconcile/fake_docker.hpp"

using namespace netlab;
using namespace netlab::reconcile::docker;
using namespace std::chrono_literals;
using netlab::test_docker::FakeDocker;
using netlab::test_docker::http_response;
using netlab::test_docker::local;
using netlab::test_docker::request_line;
using netlab::test_docker::write_all;

namespace {

// Creates answer with the ID "new1"; a path naming "broken" answers 500;
// everything else is accepted.
FakeDocker::Serve docker_like() {
    return [](const std::string& head, local::socket& s) {
        const std::string line = request_line(head);
        if (line == "POST /v1.41/networks/create")
            write_all(s, http_response(201, R"({"Id":"new1","Warning":""})"));
        else if (line.find("broken") != std::string::npos)
            write_all(s, http_response(500, R"({"message":"boom"})"));
        else
            write_all(s, http_response(200, "{}"));
    };
}

std::vector<std::string> lines(FakeDocker& fake) {
    std::vector<std::string> out;
    for (const auto& r : fake.requests()) out.push_back(request_line(r));
    return out;
}

NetworkSpec network(const std::string& id) {
    NetworkSpec n;
    n.name = "mynet";
    n.network = "mynet";
    n.parent = "ens33";
    n.mode = "bridge";
    n.id = id;
    return n;
}

const Endpoint kWeb{"web", model::IpAddress::parse("198.51.100.10"), {}, "c0ffee"};

}  // namespace

TEST_CASE("Runner: a network created by this run is addressed by the ID Docker answered") {
    FakeDocker fake(docker_like());
    Client client(fake.socket(), 2s);
    Runner run(client);
    CHECK(!run.execute(Step{Step::Op::CreateNetwork, network(""), {}}));
    CHECK(!run.execute(Step{Step::Op::Connect, network(""), kWeb}));
    CHECK(lines(fake) == std::vector<std::string>{"POST /v1.41/networks/create", "POST /v1.41/networks/new1/connect"});
    REQUIRE(run.done().size() == 2);
    CHECK(run.done()[0].network.id == "new1");
    CHECK(run.done()[1].network.id == "new1");
}

TEST_CASE("Runner: a network Docker holds is addressed by its observed ID; without one nothing is sent") {
    FakeDocker fake(docker_like());
    Client client(fake.socket(), 2s);
    Runner run(client);
    CHECK(!run.execute(Step{Step::Op::Disconnect, network("old1"), kWeb}));
    auto e = run.execute(Step{Step::Op::Connect, network(""), kWeb});
    REQUIRE(e);
    CHECK(e->message.find("no ID known for Docker network mynet") != std::string::npos);
    CHECK(lines(fake) == std::vector<std::string>{"POST /v1.41/networks/old1/disconnect"});
    CHECK(run.done().size() == 1);
}

TEST_CASE("roll_back_done: only the steps done, and a re-created network's reconnect goes to its new ID") {
    FakeDocker fake(docker_like());
    Client client(fake.socket(), 2s);
    Runner run(client);
    // A take-down: disconnect web, remove old1; then a step Docker refuses.
    CHECK(!run.execute(Step{Step::Op::Disconnect, network("old1"), kWeb}));
    CHECK(!run.execute(Step{Step::Op::RemoveNetwork, network("old1"), {}}));
    CHECK(run.execute(Step{Step::Op::Disconnect, network("broken"), kWeb}));
    REQUIRE(run.done().size() == 2);
    std::vector<std::string> said;
    CHECK(roll_back_done(client, run.done(), said));
    const auto all = lines(fake);
    REQUIRE(all.size() == 5);
    CHECK(std::vector<std::string>(all.begin() + 3, all.end()) ==
          std::vector<std::string>{"POST /v1.41/networks/create", "POST /v1.41/networks/new1/connect"});
    REQUIRE(said.size() == 2);
    CHECK(said[1] == "docker network connect --ip=198.51.100.10 mynet web");
}

TEST_CASE("Runner: a step whose answer never came is unsure, not done; a refused one is neither") {
    // A connect is held without an answer until the test is over.
    FakeDocker fake([&fake](const std::string& head, local::socket& s) {
        if (request_line(head).find("/connect") != std::string::npos) fake.wait_released();
        else write_all(s, http_response(500, R"({"message":"no"})"));
    });
    Client client(fake.socket(), 100ms);
    Runner run(client);
    CHECK(run.execute(Step{Step::Op::Disconnect, network("old1"), kWeb}));
    CHECK(!run.unsure());
    auto e = run.execute(Step{Step::Op::Connect, network("old1"), kWeb});
    REQUIRE(e);
    CHECK(e->kind == Error::Kind::Timeout);
    REQUIRE(run.unsure());
    CHECK(run.unsure()->network.id == "old1");
    CHECK(run.done().empty());
    fake.release();
}
