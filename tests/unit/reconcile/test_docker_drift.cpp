// Drift of networks published to Docker: which network events of Docker's
// stream concern netlab's networks, what they are called in the log and
// status, and the stream's filter that carries them with the containers'.
#include <doctest/doctest.h>

#include "model/load.hpp"
#include "reconcile/containers/docker_drift.hpp"
#include "tests/unit/reconcile/fake_docker.hpp"

using namespace netlab;
using namespace netlab::reconcile::docker;
using netlab::test_docker::kPublishedTopo;

namespace {

std::set<std::string> followed_of(const char* text) {
    auto l = model::load_string(text, "t.yaml");
    REQUIRE(l.diagnostics.empty());
    return followed(l.topology);
}

Event network_event(const std::string& action, const std::string& name) {
    Event e;
    e.type = "network";
    e.action = action;
    e.name = name;
    e.id = "0123456789abcdef";
    return e;
}

}  // namespace

TEST_CASE("docker drift: only published networks are followed, by their Docker names") {
    CHECK(followed_of(kPublishedTopo) == std::set<std::string>{"mynet", "lan-docker"});
    CHECK(followed_of("version: 1\n").empty());
}

TEST_CASE("docker drift: which network events matter and how they are called") {
    const auto f = followed_of(kPublishedTopo);
    struct Case {
        std::string type, action, name;
        bool owned;
        std::string drift;
    };
    const Case cases[] = {
        {"network", "destroy", "mynet", true, "docker network mynet removed"},
        {"network", "destroy", "lan-docker", true, "docker network lan-docker removed"},
        {"network", "create", "mynet", true, "docker network mynet created outside netlab"},
        // Containers come and go on netlab's networks (a stop disconnects,
        // a start connects again; foreign containers are allowed).
        {"network", "connect", "mynet", true, ""},
        {"network", "disconnect", "mynet", true, ""},
        // Foreign networks, and netlab-only networks Docker does not hold.
        {"network", "destroy", "bridge", false, ""},
        {"network", "create", "other", false, ""},
        {"network", "destroy", "plain", false, ""},
        {"network", "destroy", "docknet", false, ""},  // the topology's name, not Docker's
        // Not a network event, whatever it names.
        {"container", "destroy", "mynet", false, ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.type);
        CAPTURE(c.action);
        CAPTURE(c.name);
        auto e = network_event(c.action, c.name);
        e.type = c.type;
        const auto v = classify(f, e);
        CHECK(v.owned == c.owned);
        CHECK(v.drift == c.drift);
    }
}

TEST_CASE("docker drift: a network event line as Docker sends it") {
    const auto e = Client::parse_event(
        R"({"Type":"network","Action":"disconnect","Actor":{"ID":"5e2f","Attributes":{"container":"c0ffee",)"
        R"("name":"mynet","type":"macvlan"}},"scope":"local","time":1700000000,"timeNano":1700000000000000042})");
    REQUIRE(e);
    CHECK(e->type == "network");
    CHECK(e->action == "disconnect");
    CHECK(e->id == "5e2f");
    CHECK(e->name == "mynet");
    CHECK(e->container == "c0ffee");
    CHECK(classify({"mynet"}, *e).owned);
}

TEST_CASE("docker drift: one stream for containers and networks") {
    EventFilter f;
    f.types = {"container", "network"};
    f.actions = {"start", "destroy"};
    CHECK(events_target(f) == "/events?filters=%7B%22event%22%3A%5B%22start%22%2C%22destroy%22%5D%2C%22type%22%3A%5B%"
                              "22container%22%2C%22network%22%5D%7D");
}
