// `commit_confirmed:` as a map (mode, grace, window) and `probes:`: values,
// file:line:col errors, unknown keys, the merge and the emitter's round trip.
#include <doctest/doctest.h>

#include <string>

#include "model/emit.hpp"
#include "model/load.hpp"

using namespace netlab::model;
using std::chrono::seconds;

namespace {

std::string errors_of(const Loaded& l) {
    std::string s;
    for (const auto& d : l.diagnostics) s += d.str() + "\n";
    return s;
}

}  // namespace

TEST_CASE("probes: every kind of target, and commit_confirmed as a map") {
    Loaded l = load_string("version: 1\n"
                           "commit_confirmed:\n"
                           "  deadline: 2m\n"
                           "  mode: auto\n"
                           "  grace: 4s\n"
                           "  window: 20s\n"
                           "probes:\n"
                           "  - tcp: 203.0.113.2:22\n"
                           "  - tcp: '[2001:db8::2]:443'\n"
                           "  - dns: 203.0.113.53\n"
                           "    name: example.org\n"
                           "  - dns: 203.0.113.54\n"
                           "  - icmp: 203.0.113.2\n",
                           "t.yaml");
    INFO(errors_of(l));
    REQUIRE(l.ok());
    const auto& t = l.topology;
    REQUIRE(t.commit_confirmed);
    CHECK(*t.commit_confirmed == seconds(120));
    CHECK(t.confirm.mode == ConfirmMode::Auto);
    CHECK(t.confirm.grace == seconds(4));
    CHECK(t.confirm.window == seconds(20));
    REQUIRE(t.probes.size() == 5);
    CHECK(t.probes[0].str() == "tcp 203.0.113.2:22");
    CHECK(t.probes[1].str() == "tcp [2001:db8::2]:443");
    CHECK(t.probes[2].str() == "dns 203.0.113.53 (example.org)");
    CHECK(t.probes[2].port == 53);
    CHECK(t.probes[3].str() == "dns 203.0.113.54 (.)");
    CHECK(t.probes[4].str() == "icmp 203.0.113.2");
    CHECK(l.sources.at("probes[2].name").str() == "t.yaml:11:11");

    SUBCASE("the emitter writes what the reader reads back") {
        Loaded back = load_string(to_yaml(t, {}, {}), "back.yaml");
        INFO(errors_of(back));
        REQUIRE(back.ok());
        CHECK(back.topology == t);
    }
}

TEST_CASE("commit_confirmed: a map without a deadline keeps the defaults it does not name") {
    Loaded l = load_string("version: 1\ncommit_confirmed:\n  grace: 1h\n", "t.yaml");
    INFO(errors_of(l));
    REQUIRE(l.ok());
    CHECK(!l.topology.commit_confirmed);
    CHECK(l.topology.confirm.mode == ConfirmMode::Manual);
    CHECK(l.topology.confirm.grace == seconds(3600));
    CHECK(l.topology.confirm.window == kDefaultProbeWindow);
    Loaded plain = load_string("version: 1\ncommit_confirmed: 60s\n", "t.yaml");
    CHECK(plain.topology.confirm == Topology::ConfirmSettings{});
    CHECK(plain.topology.probes.empty());
}

TEST_CASE("probes and commit_confirmed: bad input names file:line:col and nothing is taken") {
    struct Case {
        const char* yaml;
        const char* where;
        const char* words;
    };
    const Case cases[] = {
        {"probes:\n  - tcp: 203.0.113.2\n", "t.yaml:3:10", "probe tcp '203.0.113.2' is not ADDRESS:PORT"},
        {"probes:\n  - tcp: 203.0.113.2:0\n", "t.yaml:3:10", "is not ADDRESS:PORT"},
        {"probes:\n  - tcp: 203.0.113.2:70000\n", "t.yaml:3:10", "is not ADDRESS:PORT"},
        {"probes:\n  - tcp: 2001:db8::2:22\n", "t.yaml:3:10", "is not ADDRESS:PORT"},
        {"probes:\n  - icmp: gateway\n", "t.yaml:3:11", "probe icmp"},
        {"probes:\n  - dns: 203.0.113.53\n    name: 'bad name'\n", "t.yaml:4:11", "is not a DNS name"},
        {"probes:\n  - icmp: 203.0.113.2\n    name: example.org\n", "t.yaml:4:11", "`name:` is only for a `dns:` probe"},
        {"probes:\n  - icmp: 203.0.113.2\n    tcp: 203.0.113.2:22\n", "t.yaml:3:5", "not several"},
        {"probes:\n  - name: example.org\n", "t.yaml:3:5", "a probe names one target"},
        {"probes:\n  - http: 203.0.113.2\n", "t.yaml:3:5", "unknown key 'http'"},
        {"probes:\n  - 203.0.113.2\n", "t.yaml:3:5", "a probe must be a map"},
        {"probes: 203.0.113.2\n", "t.yaml:2:9", "probes must be a list"},
        {"commit_confirmed:\n  mode: sometimes\n", "t.yaml:3:9", "commit_confirmed mode must be 'manual' or 'auto'"},
        {"commit_confirmed:\n  grace: 0s\n", "t.yaml:3:10", "commit_confirmed grace must be a duration from 1s to 24h"},
        {"commit_confirmed:\n  window: soon\n", "t.yaml:3:11", "commit_confirmed window must be a duration"},
        {"commit_confirmed:\n  deadline: 25h\n", "t.yaml:3:13", "commit_confirmed deadline must be a duration"},
        {"commit_confirmed:\n  windows: 5s\n", "t.yaml:3:3", "unknown key 'windows'"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.yaml);
        Loaded l = load_string(std::string("version: 1\n") + c.yaml, "t.yaml");
        INFO(errors_of(l));
        CHECK(!l.ok());
        bool found = false;
        for (const auto& d : l.diagnostics)
            found = found || (d.where.str() == c.where && d.message.find(c.words) != std::string::npos);
        CHECK(found);
        CHECK(l.topology.probes.empty());
    }
}

TEST_CASE("probes: two files that disagree are an error, the same list twice is fine") {
    const std::string one = "version: 1\nprobes:\n  - icmp: 203.0.113.2\n";
    Loaded same = load_documents({{"a.yaml", one, false}, {"b.yaml", one, true}});
    CHECK(same.ok());
    Loaded differ =
        load_documents({{"a.yaml", one, false}, {"b.yaml", "version: 1\nprobes:\n  - icmp: 203.0.113.3\n", true}});
    CHECK(!differ.ok());
    CHECK(errors_of(differ).find("probes is set differently in two files") != std::string::npos);
}

TEST_CASE("host:port and DNS names") {
    CHECK(parse_host_port("198.51.100.1:53"));
    CHECK(!parse_host_port("198.51.100.1:"));
    CHECK(!parse_host_port(":53"));
    CHECK(!parse_host_port("[2001:db8::1]53"));
    CHECK(parse_host_port("[2001:db8::1]:53")->second == 53);
    CHECK(valid_dns_name("example.org."));
    CHECK(valid_dns_name("_dns.resolver.arpa"));
    CHECK(!valid_dns_name("a..b"));
    CHECK(!valid_dns_name(std::string(64, 'a') + ".org"));
    CHECK(!valid_dns_name(""));
    CHECK(valid_dns_name("."));
}
