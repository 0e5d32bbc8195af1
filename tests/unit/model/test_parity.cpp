// Issue 17 in the model: broadcast entries in address lists, and the
// default broadcast an IPv4 address gets.
#include <doctest/doctest.h>

#include "model/load.hpp"
#include "model/state.hpp"

using namespace netlab::model;

namespace {
Prefix P(const char* s) { return *Prefix::parse(s); }
IpAddress I(const char* s) { return *IpAddress::parse(s); }
}  // namespace

TEST_CASE("default_broadcast: the prefix's last address, none for /31, /32 and IPv6") {
    CHECK(default_broadcast(P("198.51.100.20/24")) == I("198.51.100.255"));
    CHECK(default_broadcast(P("198.51.100.20/30")) == I("198.51.100.23"));
    CHECK(default_broadcast(P("10.1.2.3/8")) == I("10.255.255.255"));
    CHECK(!default_broadcast(P("198.51.100.200/31")));
    CHECK(!default_broadcast(P("198.51.100.202/32")));
    CHECK(!default_broadcast(P("2001:db8::1/64")));
}

TEST_CASE("address entries: ADDR/LEN or a map with address and broadcast") {
    Loaded l = load_string(R"(version: 1
interfaces:
  br0:
    kind: bridge
    addresses:
      - 198.51.100.10/24
      - address: 203.0.113.10/24
        broadcast: 203.0.113.127
      - {address: 203.0.113.200/25, broadcast: none}
containers:
  c1:
    netns: netns:c1
    interfaces:
      eth1:
        bridge: br0
        addresses:
          - {address: 198.51.100.20/24, broadcast: none}
)",
                           "t.yaml");
    REQUIRE(l.diagnostics.empty());
    const Interface& br = l.topology.interfaces.at("br0");
    CHECK(br.addresses->size() == 3);
    CHECK(br.broadcasts.size() == 2);
    CHECK(br.broadcasts.at(P("203.0.113.10/24")) == I("203.0.113.127"));
    CHECK(!br.broadcasts.at(P("203.0.113.200/25")));
    const ContainerInterface& ci = l.topology.containers.at("c1").interfaces.at("eth1");
    CHECK(ci.addresses == std::vector<Prefix>{P("198.51.100.20/24")});
    CHECK(!ci.broadcasts.at(P("198.51.100.20/24")));
}

TEST_CASE("address entries: bad broadcasts have file:line:col") {
    struct Row { const char* entry; const char* words; int line, col; };
    const Row rows[] = {
        {"      - {address: 198.51.100.10/24, broadcast: 198.51.100}\n", "is not an IPv4 address", 5, 48},
        {"      - {address: \"2001:db8::1/64\", broadcast: 198.51.100.255}\n", "broadcast on IPv6 address", 5, 48},
        {"      - {broadcast: none}\n", "address entry has no `address`", 5, 9},
        {"      - {address: 198.51.100.10/24, brodcast: none}\n", "unknown key 'brodcast'", 5, 37},
    };
    for (const auto& r : rows) {
        std::string yaml = std::string("version: 1\ninterfaces:\n  br0:\n    addresses:\n") + r.entry;
        CAPTURE(yaml);
        Loaded l = load_string(yaml, "t.yaml");
        bool found = false;
        for (const auto& d : l.diagnostics) {
            INFO(d.str());
            if (d.severity == Severity::Error && d.message.find(r.words) != std::string::npos) {
                found = true;
                CHECK(d.where.line == r.line);
                CHECK(d.where.col == r.col);
            }
        }
        CHECK(found);
    }
}

TEST_CASE("on_link: accepted only for a gateway no subnet covers, with file:line:col otherwise") {
    auto diags = [](const std::string& tail) {
        const std::string yaml = "version: 1\ninterfaces:\n  br0:\n    kind: bridge\n    addresses: [198.51.100.10/24]\n" + tail;
        Loaded l = load_string(yaml, "t.yaml");
        Diagnostics out = l.diagnostics;
        if (!has_errors(out)) validate(l.topology, l.sources, out);
        std::string s;
        for (const auto& d : out)
            if (d.severity == Severity::Error) s += d.str() + "\n";
        return s;
    };
    const std::string c = "containers:\n  c2:\n    netns: netns:c2\n    interfaces:\n      eth1:\n        bridge: br0\n";
    CHECK(diags(c + "        address: 198.51.100.20/32@198.51.100.1\n        on_link: true\n").empty());
    CHECK(diags(c + "        address: 198.51.100.20/32@198.51.100.1\n").find(
              "t.yaml:12:18: error: container 'c2' eth1: gateway 198.51.100.1 is outside every subnet") != std::string::npos);
    CHECK(diags(c + "        address: 198.51.100.20/24@198.51.100.1\n        on_link: true\n").find(
              "t.yaml:13:18: error: container 'c2' eth1: on_link, but gateway 198.51.100.1 is inside") != std::string::npos);
    CHECK(diags(c + "        address: 198.51.100.20/32\n        on_link: true\n").find("on_link without a gateway") !=
          std::string::npos);
    const std::string r = "routes:\n  - to: default\n    via: 203.0.113.1\n    dev: br0\n";
    CHECK(diags(r + "    on_link: true\n").empty());
    CHECK(diags(r).find("t.yaml:8:10: error: gateway 203.0.113.1 is outside every subnet of 'br0'") != std::string::npos);
    CHECK(diags("routes:\n  - to: default\n    via: 198.51.100.1\n    dev: br0\n    on_link: true\n")
              .find("t.yaml:10:14: error: on_link, but gateway 198.51.100.1 is inside 198.51.100.0/24") != std::string::npos);
    CHECK(diags("routes:\n  - to: default\n    via: 203.0.113.1\n    on_link: true\n").find("without `dev`") !=
          std::string::npos);
}
