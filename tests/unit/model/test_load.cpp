// The loader: values, their file:line:col, the drop-in merge.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "model/load.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace netlab::model;
namespace fs = std::filesystem;

namespace {

// A scratch directory removed at the end of the test.
using netlab::test::TempDir;

std::string errors_of(const Loaded& l) {
    std::string s;
    for (const auto& d : l.diagnostics) s += d.str() + "\n";
    return s;
}

bool has_diag(const Loaded& l, const std::string& words, Severity sev = Severity::Error) {
    for (const auto& d : l.diagnostics)
        if (d.severity == sev && d.message.find(words) != std::string::npos) return true;
    return false;
}

const char* kFull = R"(version: 1
drift: report
interfaces:
  ens33:
    promisc: true
    mtu: 9000
  ens34: {}
  br0:
    kind: bridge
    ports: [ens35]
    mac: ens35
    stp: false
    up: true
    addresses: [198.51.100.10/24, "2001:db8::10/64"]
  mv0:
    kind: macvlan
    parent: ens34
    mode: private
    mac: 02:00:00:00:00:01
routes:
  - to: default
    via: 198.51.100.1
    dev: br0
  - to: default
    via: "2001:db8::1"
  - to: 203.0.113.0/24
    dev: br0
    metric: 100
networks:
  mynet:
    driver: macvlan
    parent: ens33
    mode: vepa
    subnet: [198.51.100.0/24, "2001:db8:1::/64"]
    gateway: 198.51.100.1
    host_access: 198.51.100.250
containers:
  test1:
    netns: docker:test1
    interfaces:
      eth1:
        network: mynet
        address: 198.51.100.11/24@198.51.100.1
        mac: 02:42:c6:33:64:0b
        mtu: 1400
  test2:
    netns: pid:4242
    interfaces:
      eth1:
        bridge: br0
        addresses: [198.51.100.12/24]
        default_route: false
        routes:
          - to: 203.0.113.0/24
            via: 198.51.100.1
            metric: 5
)";

}  // namespace

TEST_CASE("load_string: every field of the format") {
    Loaded l = load_string(kFull, "full.yaml");
    INFO(errors_of(l));
    REQUIRE(l.diagnostics.empty());
    const Topology& t = l.topology;
    CHECK(t.drift == DriftPolicy::Report);
    REQUIRE(t.interfaces.size() == 4);
    const Interface& ens33 = t.interfaces.at("ens33");
    CHECK(ens33.kind == InterfaceKind::Adopted);
    CHECK(ens33.promisc == true);
    CHECK(ens33.mtu == 9000u);
    CHECK(!ens33.addresses);  // not listed: not managed
    Interface bare;
    bare.name = "ens34";
    CHECK(t.interfaces.at("ens34") == bare);
    const Interface& br0 = t.interfaces.at("br0");
    CHECK(br0.kind == InterfaceKind::Bridge);
    CHECK(br0.ports == std::vector<std::string>{"ens35"});
    CHECK(br0.mac_from == "ens35");
    CHECK(!br0.mac);
    CHECK(br0.stp == false);
    CHECK(br0.up == true);
    REQUIRE(br0.addresses);
    CHECK(br0.addresses->size() == 2);
    CHECK((*br0.addresses)[1].str() == "2001:db8::10/64");
    const Interface& mv0 = t.interfaces.at("mv0");
    CHECK(mv0.kind == InterfaceKind::Macvlan);
    CHECK(mv0.parent == "ens34");
    CHECK(mv0.mode == MacvlanMode::Private);
    CHECK(mv0.mac->str() == "02:00:00:00:00:01");

    REQUIRE(t.routes.size() == 3);
    CHECK(t.routes[0].to == Prefix::default_route(4));
    CHECK(t.routes[0].via->str() == "198.51.100.1");
    CHECK(t.routes[0].dev == "br0");
    CHECK(t.routes[1].to == Prefix::default_route(6));  // default's family follows via
    CHECK(t.routes[2].to.str() == "203.0.113.0/24");
    CHECK(t.routes[2].metric == 100u);
    CHECK(!t.routes[2].via);

    const Network& net = t.networks.at("mynet");
    CHECK(net.parent == "ens33");
    CHECK(net.mode == MacvlanMode::Vepa);
    CHECK(net.subnets.size() == 2);
    CHECK(net.gateways.size() == 1);
    CHECK(net.host_access.at(0).str() == "198.51.100.250/32");  // bare IP: host prefix

    const Container& c1 = t.containers.at("test1");
    CHECK(c1.netns.kind == NetnsTarget::Kind::Docker);
    const ContainerInterface& e1 = c1.interfaces.at("eth1");
    CHECK(e1.network == "mynet");
    CHECK(!e1.bridge);
    REQUIRE(e1.addresses.size() == 1);
    CHECK(e1.addresses[0].str() == "198.51.100.11/24");
    CHECK(e1.gateway->str() == "198.51.100.1");  // pipework's @GW
    CHECK(e1.mtu == 1400u);
    const ContainerInterface& e2 = t.containers.at("test2").interfaces.at("eth1");
    CHECK(e2.bridge == "br0");
    CHECK(!e2.default_route);
    REQUIRE(e2.routes.size() == 1);
    CHECK(e2.routes[0].dev == "eth1");  // a container interface's routes go through it
    CHECK(e2.routes[0].metric == 5u);
}

TEST_CASE("load_string: the source map has 1-based file:line:col for values") {
    Loaded l = load_string(kFull, "full.yaml");
    struct Row { const char* path; int line, col; };
    const Row rows[] = {
        {"version", 1, 10},
        {"interfaces.ens33", 4, 3},
        {"interfaces.ens33.mtu", 6, 10},
        {"interfaces.br0.addresses[0]", 14, 17},
        {"interfaces.br0.addresses[1]", 14, 35},
        {"interfaces.br0.ports[0]", 10, 13},
        {"routes[0]", 21, 5},
        {"routes[1].via", 25, 10},
        {"routes[2].metric", 28, 13},
        {"networks.mynet.subnet[1]", 34, 31},
        {"networks.mynet.gateway[0]", 35, 14},
        {"containers.test1.interfaces.eth1.address", 43, 18},
        {"containers.test1.interfaces.eth1.addresses[0]", 43, 18},
        {"containers.test1.interfaces.eth1.gateway", 43, 18},
        {"containers.test2.interfaces.eth1.routes[0].via", 55, 18},
    };
    for (const auto& r : rows) {
        CAPTURE(std::string(r.path));
        REQUIRE(l.sources.has(r.path));
        Location at = l.sources.at(r.path);
        CHECK(at.file == "full.yaml");
        CHECK(at.line == r.line);
        CHECK(at.col == r.col);
    }
    // A path that was not written resolves to its nearest ancestor.
    CHECK(l.sources.at("interfaces.ens33.addresses").line == 4);
}

TEST_CASE("load_string: shape errors") {
    struct Row { const char* yaml; const char* words; int line, col; };
    const Row rows[] = {
        {"version: 1\ninterfaces:\n  ens33:\n    adresses: []\n", "unknown key 'adresses' (did you mean 'addresses'?)", 4, 5},
        {"version: 1\ninterfaces:\n  ens33:\n    mtu: abc\n", "mtu must be a number between 68 and 65535", 4, 10},
        {"version: 1\ninterfaces:\n  ens33:\n    mtu: 65536\n", "out of range", 4, 10},
        {"version: 1\ninterfaces:\n  ens33:\n    mtu: 68\n    up: nope\n", "true or false", 5, 9},
        {"version: 1\ninterfaces: [ens33]\n", "interfaces must be a map", 2, 13},
        {"version: 1\nroutes:\n  - to: default\n    via: 198.51.100.1\n    metric: -1\n", "metric must be a number", 5, 13},
        {"version: 1\nroutes:\n  - via: 198.51.100.1\n", "route has no `to`", 3, 5},
        {"version: 1\nroutes:\n  - to: default\n    dev: [a]\n", "must be a single value", 4, 10},
        {"version: '1.0'\n", "unsupported version", 1, 10},
        {"version: 1\nversion: 1\n", "given twice", 2, 1},
        {"version: 1\nnetworks:\n  n:\n    parent: e\n    subnet: 198.51.100.0/24\n    gateway: [198.51.100.1, x]\n",
         "'x' is not an IP address", 6, 29},
        {"version: 1\nnetworks:\n  n:\n    subnet: 198.51.100.0/24\n", "has no parent", 3, 3},
        {"version: 1\ncontainers:\n  c:\n    netns: netns:c\n    interfaces:\n      eth1:\n        bridge: b\n        address: 198.51.100.11\n",
         "has no prefix length", 8, 18},
        {"version: 1\ncontainers:\n  c:\n    netns: netns:c\n    interfaces:\n      eth1:\n        bridge: b\n        default_route: 1\n",
         "true or false", 8, 24},
        {"version: 1\n[a, b]: 1\n", "a key must be a plain word", 2, 1},
        {"version: 1\ninterfaces:\n  ens33:\n    mac: 02:42\n", "is not a MAC address", 4, 10},
        {"version: 1\ninterfaces:\n  ens33:\n    kind: adopted\n", "unknown interface kind", 4, 11},
    };
    for (const auto& r : rows) {
        CAPTURE(r.yaml);
        Loaded l = load_string(r.yaml, "t.yaml");
        INFO(errors_of(l));
        bool found = false;
        for (const auto& d : l.diagnostics)
            if (d.severity == Severity::Error && d.message.find(r.words) != std::string::npos) {
                found = true;
                CHECK(d.where.line == r.line);
                CHECK(d.where.col == r.col);
            }
        CHECK(found);
    }
}

TEST_CASE("load_string: null entries are empty objects") {
    Loaded l = load_string("version: 1\ninterfaces:\n  ens33:\nroutes:\n", "t.yaml");
    INFO(errors_of(l));
    CHECK(l.diagnostics.empty());
    CHECK(l.topology.interfaces.count("ens33") == 1);
    CHECK(l.topology.routes.empty());
}

TEST_CASE("load_config: a directory merges topology.yaml and topology.d/*.yaml in name order") {
    TempDir d;
    d.write("topology.yaml", "version: 1\ninterfaces:\n  ens33:\n    promisc: true\nroutes:\n  - to: default\n    via: 198.51.100.1\n");
    d.write("topology.d/20-b.yaml", "version: 1\nroutes:\n  - to: 203.0.113.0/24\n    via: 198.51.100.2\n");
    d.write("topology.d/10-a.yaml",
            "version: 1\ninterfaces:\n  br0:\n    kind: bridge\nroutes:\n  - to: 192.0.2.0/24\n    via: 198.51.100.3\n");
    d.write("topology.d/.hidden.yaml", "garbage: [");
    d.write("topology.d/notes.txt", "garbage: [");
    d.write("topology.d/30-c.yaml.bak", "garbage: [");
    Loaded l = load_config(d.path);
    INFO(errors_of(l));
    CHECK(l.ok());
    REQUIRE(l.files.size() == 3);
    CHECK(fs::path(l.files[0]).filename() == "topology.yaml");
    CHECK(fs::path(l.files[1]).filename() == "10-a.yaml");
    CHECK(fs::path(l.files[2]).filename() == "20-b.yaml");
    CHECK(l.topology.interfaces.size() == 2);
    REQUIRE(l.topology.routes.size() == 3);  // concatenated in file order
    CHECK(l.topology.routes[1].to.str() == "192.0.2.0/24");
    CHECK(l.topology.routes[2].to.str() == "203.0.113.0/24");
    // Route paths continue across files and point into the right one.
    Location r1 = l.sources.at("routes[1].via");
    CHECK(fs::path(r1.file).filename() == "10-a.yaml");
    CHECK(r1.line == 7);
    Location r2 = l.sources.at("routes[2]");
    CHECK(fs::path(r2.file).filename() == "20-b.yaml");
    CHECK(r2.line == 3);
    CHECK(fs::path(l.sources.at("interfaces.br0").file).filename() == "10-a.yaml");
}

TEST_CASE("load_config: drop-ins are *.yaml and *.yml alike, the names netlabd's watch reacts to") {
    TempDir d;
    d.write("topology.d/20-b.yml", "version: 1\ninterfaces:\n  ens34: {}\n");
    d.write("topology.d/10-a.yaml", "version: 1\ninterfaces:\n  ens33: {}\n");
    d.write("topology.d/.hidden.yml", "garbage: [");
    d.write("topology.d/30-c.yml~", "garbage: [");
    d.write("topology.d/40-d.YML", "garbage: [");
    d.write("topology.yml", "garbage: [");  // the main file is topology.yaml only
    Loaded l = load_config(d.path);
    INFO(errors_of(l));
    CHECK(l.ok());
    REQUIRE(l.files.size() == 2);
    CHECK(fs::path(l.files[0]).filename() == "10-a.yaml");
    CHECK(fs::path(l.files[1]).filename() == "20-b.yml");
    CHECK(l.topology.interfaces.size() == 2);
    // The selection itself, as config_watch uses it.
    CHECK(is_dropin_name("10-a.yaml"));
    CHECK(is_dropin_name("20-b.yml"));
    CHECK_FALSE(is_dropin_name(".hidden.yml"));
    CHECK_FALSE(is_dropin_name(".yaml"));
    CHECK_FALSE(is_dropin_name("30-c.yml~"));
    CHECK_FALSE(is_dropin_name("30-c.yaml.bak"));
    CHECK_FALSE(is_dropin_name("40-d.YML"));
    CHECK_FALSE(is_dropin_name("yml"));
    CHECK_FALSE(is_dropin_name(""));
}

TEST_CASE("load_documents: load_config's merge and validation without files") {
    Loaded l = load_documents({{"main.yaml", "version: 1\ninterfaces:\n  br0:\n    kind: bridge\n", false},
                               {"d.yaml", "version: 1\ninterfaces:\n  br0:\n    kind: bridge\n", true}});
    CHECK(has_diag(l, "defined in two files"));
    REQUIRE(l.files.size() == 2);
    CHECK(load_documents({{"v.yaml", "version: 1\nroutes:\n  - to: default\n    dev: nope\n", false}}).ok() == false);
}

TEST_CASE("load_config: the same object in two files names both places") {
    TempDir d;
    d.write("topology.yaml", "version: 1\ninterfaces:\n  br0:\n    kind: bridge\n");
    d.write("topology.d/10-x.yaml", "version: 1\n\ninterfaces:\n  br0:\n    kind: bridge\n    stp: true\n");
    Loaded l = load_config(d.path);
    REQUIRE(!l.ok());
    const Diagnostic* dup = nullptr;
    for (const auto& x : l.diagnostics)
        if (x.message.find("defined in two files") != std::string::npos) dup = &x;
    REQUIRE(dup);
    CHECK(fs::path(dup->where.file).filename() == "10-x.yaml");
    CHECK(dup->where.line == 4);
    CHECK(dup->message.find((d.path / "topology.yaml").string() + ":3:3") != std::string::npos);
    // The first definition stays in force, unmixed with the second.
    CHECK(!l.topology.interfaces.at("br0").stp);
}

TEST_CASE("load_config: merge of networks, containers, drift and version") {
    TempDir d;
    d.write("topology.yaml", "version: 1\ndrift: repair\nnetworks:\n  n:\n    parent: ens33\n    subnet: 198.51.100.0/24\n");
    d.write("topology.d/a.yaml", "version: 1\ndrift: report\nnetworks:\n  n:\n    parent: ens34\n");
    d.write("topology.d/b.yaml", "version: 2\ncontainers:\n  c:\n    netns: netns:c\n");
    d.write("topology.d/c.yaml", "containers:\n  c2:\n    netns: netns:c2\n");
    Loaded l = load_config(d.path);
    INFO(errors_of(l));
    CHECK(has_diag(l, "network 'n' is defined in two files"));
    CHECK(has_diag(l, "drift is set differently in two files"));
    CHECK(has_diag(l, "unsupported version '2'"));
    CHECK(has_diag(l, "missing `version: 1`"));
    CHECK(l.topology.containers.size() == 2);
}

TEST_CASE("load_config: a directory with only drop-ins, and an empty drop-in") {
    TempDir d;
    d.write("topology.d/10.yaml", "version: 1\ninterfaces:\n  ens33: {}\n");
    d.write("topology.d/20.yaml", "# nothing yet\n");
    Loaded l = load_config(d.path);
    INFO(errors_of(l));
    CHECK(l.ok());
    CHECK(has_diag(l, "empty drop-in file", Severity::Warning));
    CHECK(l.topology.interfaces.size() == 1);
}

TEST_CASE("load_config: nothing to read") {
    TempDir d;
    CHECK(has_diag(load_config(d.path), "holds neither topology.yaml nor topology.d/*.yaml"));
    CHECK(has_diag(load_config(d.path / "absent.yaml"), "no such file"));
    fs::create_directories(d.path / "topology.yaml");
    CHECK(has_diag(load_config(d.path), "is a directory"));
}

TEST_CASE("load_config: netlabd's empty directory is no topology, not an error") {
    TempDir d;
    Loaded empty = load_config(d.path, EmptyDir::NoTopology);
    CHECK(empty.ok());
    CHECK(empty.no_topology);
    CHECK(empty.diagnostics.empty());
    CHECK(empty.files.empty());
    // The packaged commented template and an empty drop-in directory are not topology files.
    d.write("topology.yaml.example", "# version: 1\n");
    fs::create_directories(d.path / "topology.d");
    CHECK(load_config(d.path, EmptyDir::NoTopology).no_topology);
    CHECK(has_diag(load_config(d.path), "holds neither topology.yaml nor topology.d/*.yaml"));
    // Once a file is there, it is read as always: a bad one is still an error.
    d.write("topology.yaml", "# only comments\n");
    Loaded bad = load_config(d.path, EmptyDir::NoTopology);
    CHECK_FALSE(bad.no_topology);
    CHECK(has_diag(bad, "empty file: expected `version: 1`"));
    // A file path is never "no topology".
    CHECK(has_diag(load_config(d.path / "absent.yaml", EmptyDir::NoTopology), "no such file"));
}

TEST_CASE("load_config: a single file of any name (Ansible's validate: %s)") {
    TempDir d;
    auto p = d.write("tmpXYZ.tmp", "version: 1\ninterfaces:\n  ens33:\n    promisc: true\n");
    Loaded l = load_config(p);
    INFO(errors_of(l));
    CHECK(l.ok());
    CHECK(l.files == std::vector<std::string>{p.string()});
}
