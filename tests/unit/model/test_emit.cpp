// model/emit: what it writes loads back to an equal Topology, in the
// reader's spellings.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "model/emit.hpp"
#include "model/load.hpp"

using namespace netlab::model;
namespace fs = std::filesystem;

namespace {

std::string errors_of(const Loaded& l) {
    std::string s;
    for (const auto& d : l.diagnostics) s += d.str() + "\n";
    return s;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("emit: every example loads back to the same topology") {
    const fs::path dir = fs::path(NETLAB_SOURCE_DIR) / "examples";
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".yaml") continue;
        ++n;
        CAPTURE(e.path());
        Loaded first = load_string(slurp(e.path()), e.path().string());
        REQUIRE_MESSAGE(first.ok(), errors_of(first));
        const std::string text = to_yaml(first.topology, {"header line"}, {"a note", "another"});
        CAPTURE(text);
        Loaded again = load_string(text, "emitted.yaml");
        REQUIRE_MESSAGE(again.ok(), errors_of(again));
        CHECK(again.topology == first.topology);
        // Written twice, the same text: the output is canonical.
        CHECK(to_yaml(again.topology, {"header line"}, {"a note", "another"}) == text);
    }
    CHECK(n >= 3);
}

TEST_CASE("emit: canonical spellings") {
    Loaded l = load_string(R"(version: 1
drift: report
commit_confirmed: 90s
interfaces:
  ens33: {}
  br0:
    kind: bridge
    ports: [ens33]
    mac: ens33
    addresses: [198.51.100.1/24, 2001:db8::1/64]
routes:
  - to: default
    via: 198.51.100.254
  - to: 203.0.113.0/24
    dev: br0
    metric: 20
containers:
  c1:
    netns: netns:c1
    interfaces:
      eth1:
        bridge: br0
        address: 198.51.100.20/24@198.51.100.1
        routes:
          - to: 203.0.113.0/24
            via: 198.51.100.254
)",
                           "t.yaml");
    REQUIRE_MESSAGE(l.ok(), errors_of(l));
    const std::string y = to_yaml(l.topology);
    CAPTURE(y);
    CHECK(y.find("drift: report") != std::string::npos);
    CHECK(y.find("commit_confirmed: 1m30s") != std::string::npos);
    CHECK(y.find("ens33: {}") != std::string::npos);
    CHECK(y.find("mac: ens33") != std::string::npos);                  // the MAC taken from ens33, not a literal
    CHECK(y.find("to: default") != std::string::npos);
    CHECK(y.find("addresses: [198.51.100.20/24]") != std::string::npos);  // ADDR@GW split in two
    CHECK(y.find("gateway: 198.51.100.1") != std::string::npos);
    CHECK(y.find("@") == std::string::npos);
    const auto doc = to_document(l.topology);
    CHECK(doc["routes"][1]["metric"] == 20);
    CHECK(!doc["containers"]["c1"]["interfaces"]["eth1"]["routes"][0].contains("dev"));
    CHECK(doc.begin().key() == "version");
    Loaded again = load_string(y, "again.yaml");
    REQUIRE_MESSAGE(again.ok(), errors_of(again));
    CHECK(again.topology == l.topology);
}

TEST_CASE("emit: header and notes are comments") {
    Topology t;
    const std::string y = to_yaml(t, {"netlabctl show"}, {"lo: left out"});
    CHECK(y.rfind("# netlabctl show\n", 0) == 0);
    CHECK(y.find("\n# lo: left out\n") != std::string::npos);
    Loaded again = load_string(y, "empty.yaml");
    CHECK_MESSAGE(again.ok(), errors_of(again));
}

TEST_CASE("emit: broadcast entries and on_link survive the round trip") {
    Loaded l = load_string(R"(version: 1
interfaces:
  ens33:
    addresses:
      - 198.51.100.10/24
      - address: 198.51.100.77/24
        broadcast: none
      - address: 203.0.113.5/25
        broadcast: 203.0.113.100
  br0:
    kind: bridge
    ports: []
routes:
  - to: 192.0.2.0/24
    via: 203.0.113.254
    dev: ens33
    on_link: true
containers:
  c1:
    netns: netns:c1
    interfaces:
      eth1:
        bridge: br0
        address: 198.51.100.20/32
        gateway: 203.0.113.1
        on_link: true
        routes:
          - to: 192.0.2.0/24
            via: 203.0.113.9
            on_link: true
  c0:
    netns: netns:c0
    interfaces:
      eth1: {bridge: br0, address: 198.51.100.21/24}
)",
                           "t.yaml");
    REQUIRE_MESSAGE(l.ok(), errors_of(l));
    const std::string y = to_yaml(l.topology);
    CAPTURE(y);
    CHECK(y.find("broadcast: none") != std::string::npos);
    CHECK(y.find("broadcast: 203.0.113.100") != std::string::npos);
    CHECK(y.find("on_link: true") != std::string::npos);
    Loaded again = load_string(y, "again.yaml");
    REQUIRE_MESSAGE(again.ok(), errors_of(again));
    CHECK(again.topology == l.topology);
}
