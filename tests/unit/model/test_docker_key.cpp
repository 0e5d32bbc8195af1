// The `docker:` key of a network (docs/docker.md): what it reads as, and
// every refusal with the place it points at.
#include <doctest/doctest.h>

#include <string>

#include "model/load.hpp"

using namespace netlab::model;

namespace {

std::string net_with(const std::string& docker) {
    return "version: 1\nnetworks:\n  mynet:\n    parent: ens33\n    subnet: 198.51.100.0/24\n"
           "    gateway: 198.51.100.1\n    docker: " + docker + "\n";
}

// Loaded and validated, as load_config does.
Diagnostics all_of(const std::string& text) {
    Loaded l = load_string(text, "t.yaml");
    Diagnostics out = l.diagnostics;
    if (!has_errors(out)) validate(l.topology, l.sources, out);
    return out;
}

}  // namespace

TEST_CASE("docker: true publishes under the network's name, NAME under another, false not at all") {
    CHECK(load_string(net_with("true"), "t.yaml").topology.networks.at("mynet").docker == "mynet");
    CHECK(load_string(net_with("yes"), "t.yaml").topology.networks.at("mynet").docker == "mynet");
    CHECK(load_string(net_with("lan_104.v4-x"), "t.yaml").topology.networks.at("mynet").docker == "lan_104.v4-x");
    CHECK(!load_string(net_with("false"), "t.yaml").topology.networks.at("mynet").docker);
    Loaded plain = load_string("version: 1\nnetworks:\n  mynet:\n    parent: ens33\n", "t.yaml");
    CHECK(!plain.topology.networks.at("mynet").docker);
    CHECK(all_of(net_with("true")).empty());
}

TEST_CASE("docker: a name Docker would refuse is an error at the value") {
    for (const char* bad : {"-lead", "'a b'", "'x/y'", "'.dot'", "'ünï'"}) {
        CAPTURE(bad);
        auto d = all_of(net_with(bad));
        REQUIRE(d.size() == 1);
        CHECK(d[0].severity == Severity::Error);
        CHECK(d[0].message.find("is not one Docker accepts") != std::string::npos);
        CHECK(d[0].str().rfind("t.yaml:7:13: error:", 0) == 0);
        CHECK(!d[0].hint.empty());
    }
    auto d = all_of(net_with("[a, b]"));
    REQUIRE(!d.empty());
    CHECK(d[0].where.line == 7);
}

TEST_CASE("docker: the rules of a published network") {
    struct Row {
        const char* rule;
        std::string yaml;
        const char* words;  // nullptr: clean
        int line;
    };
    const std::string two = "version: 1\nnetworks:\n  a:\n    parent: e1\n    subnet: 198.51.100.0/25\n    docker: lan\n"
                            "  b:\n    parent: e2\n    subnet: 198.51.100.128/25\n    docker: lan\n";
    const std::string base = net_with("true") + "containers:\n  web:\n    netns: docker:web\n    interfaces:\n      eth1:\n"
                                                "        network: mynet\n";
    const Row rows[] = {
        {"needs a subnet", "version: 1\nnetworks:\n  n:\n    parent: e1\n    docker: true\n", "has no subnet", 5},
        {"one Docker name, one network", two, "both published to Docker as 'lan'", 10},
        {"a Docker-connected container", base + "        address: 198.51.100.10/24\n", nullptr, 0},
        {"two IPv4 addresses", base + "        addresses: [198.51.100.10/24, 198.51.100.11/24]\n", "one IPv4 address", 12},
        {"a MAC Docker cannot set", base + "        address: 198.51.100.10/24\n        mac: 02:00:00:00:00:01\n",
         "Docker sets its MAC", 12},
        {"routes", base + "        address: 198.51.100.10/24\n        routes:\n          - to: 203.0.113.0/24\n"
                          "            via: 198.51.100.1\n",
         "Docker sets its MAC", 12},
        {"netns: targets keep netlab's macvlan (all keys fine)",
         net_with("true") + "containers:\n  web:\n    netns: netns:web\n    interfaces:\n      eth1:\n"
                            "        network: mynet\n        addresses: [198.51.100.10/24, 198.51.100.11/24]\n"
                            "        mac: 02:00:00:00:00:01\n",
         nullptr, 0},
    };
    for (const auto& r : rows) {
        CAPTURE(std::string(r.rule));
        auto d = all_of(r.yaml);
        std::string got;
        for (const auto& x : d) got += x.str() + "\n";
        INFO(got);
        if (!r.words) {
            CHECK(!has_errors(d));
            continue;
        }
        bool found = false;
        for (const auto& x : d)
            if (x.severity == Severity::Error && x.message.find(r.words) != std::string::npos) {
                found = true;
                CHECK(x.where.line == r.line);
                CHECK(!x.hint.empty());
            }
        CHECK(found);
    }
}
