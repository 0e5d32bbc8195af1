// validate(): one row per rule, plus rows that must stay clean (the rule must
// not fire on the valid neighbour of a bad case).
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "model/load.hpp"

using namespace netlab::model;

namespace {

struct Row {
    const char* rule;
    std::string yaml;      // after "version: 1\n"
    const char* words;     // nullptr: no diagnostic at all
    Severity severity = Severity::Error;
};

const char* kLanNet =
    "networks:\n  mynet:\n    parent: ens33\n    subnet: 198.51.100.0/24\n    gateway: 198.51.100.1\n";

std::string with_net(const std::string& rest) { return std::string(kLanNet) + rest; }

}  // namespace

TEST_CASE("validate: one row per rule") {
    const std::string net = kLanNet;
    const std::string br = "interfaces:\n  br0:\n    kind: bridge\n";
    const std::string c1 = "containers:\n  web:\n    netns: netns:web\n    interfaces:\n      eth1:\n";
    const Row rows[] = {
        // names
        {"name length", "interfaces:\n  abcdefghijklmnop:\n    promisc: true\n", "at most 15"},
        {"name length ok", "interfaces:\n  abcdefghijklmno:\n    promisc: true\n", nullptr},
        {"name slash", "interfaces:\n  a/b: {}\n", "contains '/'"},
        {"name colon (port)", "interfaces:\n  br0:\n    kind: bridge\n    ports: ['a:b']\n", "contains ':'"},
        {"name whitespace", "interfaces:\n  'a b': {}\n", "whitespace"},
        {"name dotdot", "interfaces:\n  '..': {}\n", "reserved"},
        {"name of a route dev", "interfaces:\n  'x y': {}\nroutes:\n  - to: default\n    dev: 'x y'\n", "route dev 'x y' is not a valid"},
        {"container ifname", (br + c1.substr(0, c1.size() - 12) + "      eth1.very.long.name:\n        bridge: br0\n"), "at most 15"},
        // MACs
        {"multicast MAC", "interfaces:\n  br0:\n    kind: bridge\n    mac: 01:00:5e:00:00:01\n", "multicast"},
        {"universal MAC warns", "interfaces:\n  br0:\n    kind: bridge\n    mac: 00:0c:29:00:00:01\n", "not locally administered", Severity::Warning},
        {"adopted NIC's literal MAC warns too", "interfaces:\n  ens33:\n    mac: 00:0c:29:00:00:01\n", "not locally administered", Severity::Warning},
        {"local MAC fine", "interfaces:\n  br0:\n    kind: bridge\n    mac: 02:0c:29:00:00:01\n", nullptr},
        {"zero MAC", "interfaces:\n  br0:\n    kind: bridge\n    mac: 00:00:00:00:00:00\n", "not a usable address"},
        {"duplicate MAC", "interfaces:\n  br0:\n    kind: bridge\n    mac: 02:00:00:00:00:01\n  br1:\n    kind: bridge\n    mac: 02:00:00:00:00:01\n", "already used"},
        {"mac from itself", "interfaces:\n  br0:\n    kind: bridge\n    mac: br0\n", "from itself"},
        {"mac from unknown", "interfaces:\n  br0:\n    kind: bridge\n    mac: ens33\n", "does not name"},
        {"mac from a port", "interfaces:\n  br0:\n    kind: bridge\n    ports: [ens33]\n    mac: ens33\n", nullptr},
        // bridges
        {"self port", "interfaces:\n  br0:\n    kind: bridge\n    ports: [br0]\n", "lists itself"},
        {"port twice in one bridge", "interfaces:\n  br0:\n    kind: bridge\n    ports: [e1, e1]\n", "listed twice"},
        {"port in two bridges", "interfaces:\n  br0:\n    kind: bridge\n    ports: [e1]\n  br1:\n    kind: bridge\n    ports: [e1]\n", "in two bridges"},
        {"bridge loop", "interfaces:\n  b1:\n    kind: bridge\n    ports: [b2]\n  b2:\n    kind: bridge\n    ports: [b3]\n  b3:\n    kind: bridge\n    ports: [b1]\n", "form a loop"},
        {"bridge in bridge", "interfaces:\n  b1:\n    kind: bridge\n    ports: [b2]\n  b2:\n    kind: bridge\n", "ELOOP"},
        {"port keeps addresses", "interfaces:\n  e1:\n    addresses: [198.51.100.10/24]\n  br0:\n    kind: bridge\n    ports: [e1]\n", "stop working", Severity::Warning},
        {"port with addresses: []", "interfaces:\n  e1:\n    addresses: []\n  br0:\n    kind: bridge\n    ports: [e1]\n", nullptr},
        // EBUSY
        {"network parent is a port", "interfaces:\n  br0:\n    kind: bridge\n    ports: [ens33]\n" + net, "EBUSY"},
        {"macvlan parent is a port", "interfaces:\n  br0:\n    kind: bridge\n    ports: [e1]\n  mv:\n    kind: macvlan\n    parent: e1\n", "EBUSY"},
        {"macvlan on a bridge is fine", "interfaces:\n  br0:\n    kind: bridge\n    ports: [e1]\n  mv:\n    kind: macvlan\n    parent: br0\n", nullptr},
        {"macvlan its own parent", "interfaces:\n  mv:\n    kind: macvlan\n    parent: mv\n", "its own parent"},
        // references
        {"route dev undefined", "routes:\n  - to: default\n    dev: nowhere\n", "not an interface of the topology"},
        {"route dev may be a port", "interfaces:\n  br0:\n    kind: bridge\n    ports: [e1]\nroutes:\n  - to: 203.0.113.0/24\n    dev: e1\n", nullptr},
        {"route dev may be a network parent", (net + "routes:\n  - to: 203.0.113.0/24\n    dev: ens33\n"), nullptr},
        {"undefined bridge", (c1 + "        bridge: br9\n"), "bridge 'br9' is not defined"},
        {"adopted bridge warns", ("interfaces:\n  docker0: {}\n" + c1 + "        bridge: docker0\n"), "not a netlab bridge", Severity::Warning},
        {"macvlan is not a bridge", ("interfaces:\n  mv:\n    kind: macvlan\n    parent: e1\n" + c1 + "        bridge: mv\n"), "is a macvlan, not a bridge"},
        {"undefined network", (c1 + "        network: nonet\n"), "network 'nonet' is not defined"},
        // duplicates
        {"dup host addresses", "interfaces:\n  e1:\n    addresses: [198.51.100.10/24]\n  e2:\n    addresses: [198.51.100.10/25]\n", "already assigned"},
        {"dup v6 spelled differently", "interfaces:\n  e1:\n    addresses: ['2001:db8::a/64']\n  e2:\n    addresses: ['2001:DB8:0::A/64']\n", "already assigned"},
        {"dup shim vs host", (net + "    host_access: 198.51.100.10\ninterfaces:\n  e1:\n    addresses: [198.51.100.10/24]\n"), "already assigned"},
        {"dup container vs container", (br + "containers:\n  a:\n    netns: netns:a\n    interfaces:\n      eth1: {bridge: br0, address: 198.51.100.11/24}\n  b:\n    netns: netns:b\n    interfaces:\n      eth1: {bridge: br0, address: 198.51.100.11/24}\n"), "already assigned"},
        {"same subnet on two host interfaces", "interfaces:\n  e1:\n    addresses: [198.51.100.10/24]\n  e2:\n    addresses: [198.51.100.11/24]\n", "both have addresses in", Severity::Warning},
        {"host address is a network address", "interfaces:\n  e1:\n    addresses: [198.51.100.0/24]\n", "network address"},
        {"host address /31 is fine", "interfaces:\n  e1:\n    addresses: [198.51.100.0/31]\n", nullptr},
        // gateways and vias
        {"via outside dev", "interfaces:\n  e1:\n    addresses: [198.51.100.10/24]\nroutes:\n  - to: default\n    via: 203.0.113.1\n    dev: e1\n", "outside every subnet of 'e1'"},
        {"via on unmanaged dev", "interfaces:\n  e1: {}\nroutes:\n  - to: default\n    via: 203.0.113.1\n    dev: e1\n", nullptr},
        {"via link-local v6", "interfaces:\n  e1:\n    addresses: ['2001:db8::10/64']\nroutes:\n  - to: default\n    via: 'fe80::1'\n    dev: e1\n", nullptr},
        {"via own address", "interfaces:\n  e1:\n    addresses: [198.51.100.10/24]\nroutes:\n  - to: default\n    via: 198.51.100.10\n", "own address"},
        {"container gateway outside", (br + c1 + "        bridge: br0\n        address: 198.51.100.11/24@203.0.113.1\n"), "outside every subnet"},
        {"container gateway in network subnet", with_net(c1 + "        network: mynet\n        addresses: []\n        gateway: 198.51.100.1\n"), nullptr},
        {"container gateway is its own address", (br + c1 + "        bridge: br0\n        address: 198.51.100.11/24@198.51.100.11\n"), "own address"},
        {"container route via outside", (br + c1 + "        bridge: br0\n        address: 198.51.100.11/24\n        routes:\n          - to: 192.0.2.0/24\n            via: 203.0.113.1\n"), "route via 203.0.113.1 is outside"},
        {"network gateway outside", "networks:\n  n:\n    parent: e\n    subnet: 198.51.100.0/24\n    gateway: 203.0.113.1\n", "outside network 'n'"},
        {"network gateway is broadcast", "networks:\n  n:\n    parent: e\n    subnet: 198.51.100.0/24\n    gateway: 198.51.100.255\n", "broadcast"},
        {"two v4 gateways", "networks:\n  n:\n    parent: e\n    subnet: 198.51.100.0/24\n    gateway: [198.51.100.1, 198.51.100.2]\n", "two IPv4 gateways"},
        {"v4 and v6 gateways", "networks:\n  n:\n    parent: e\n    subnet: [198.51.100.0/24, '2001:db8::/64']\n    gateway: [198.51.100.1, '2001:db8::1']\n", nullptr},
        {"host_access outside", "networks:\n  n:\n    parent: e\n    subnet: 198.51.100.0/24\n    host_access: 203.0.113.250/32\n", "outside network 'n'"},
        {"host_access v4 and v6", "networks:\n  n:\n    parent: e\n    subnet: [198.51.100.0/24, '2001:db8::/64']\n    host_access: [198.51.100.250, '2001:db8::fe']\n", nullptr},
        {"two v4 host_access", "networks:\n  n:\n    parent: e\n    subnet: 198.51.100.0/24\n    host_access: [198.51.100.250, 198.51.100.251]\n", "two IPv4 host_access addresses"},
        {"v6 host_access outside", "networks:\n  n:\n    parent: e\n    subnet: [198.51.100.0/24, '2001:db8::/64']\n    host_access: [198.51.100.250, '2001:db8:1::fe']\n", "outside network 'n'"},
        {"host_access is gateway", "networks:\n  n:\n    parent: e\n    subnet: 198.51.100.0/24\n    gateway: 198.51.100.1\n    host_access: 198.51.100.1\n", "is the network's gateway"},
        {"no subnet warns", "networks:\n  n:\n    parent: e\n", "has no subnet", Severity::Warning},
        {"overlapping subnets warn", "networks:\n  n:\n    parent: e\n    subnet: 198.51.100.0/24\n  m:\n    parent: f\n    subnet: 198.51.100.128/25\n", "overlaps", Severity::Warning},
        // default routes
        {"two host defaults", "routes:\n  - to: default\n    dev: e1\n  - to: 0.0.0.0/0\n    dev: e2\n", "second IPv4 default route"},
        {"defaults with different metrics (a backup route)", "interfaces:\n  e1: {}\n  e2: {}\nroutes:\n  - to: default\n    dev: e1\n  - to: default\n    dev: e2\n    metric: 100\n", nullptr},
        {"v4 and v6 default", "interfaces:\n  e1: {}\nroutes:\n  - to: default\n    via: 198.51.100.1\n  - to: default\n    via: '2001:db8::1'\n", nullptr},
        {"duplicate route key", "interfaces:\n  e1: {}\nroutes:\n  - to: 203.0.113.0/24\n    dev: e1\n  - to: 203.0.113.0/24\n    via: 198.51.100.1\n", "given twice"},
        {"container gateway + default_route (same gw) is one route", with_net(c1 + "        network: mynet\n        address: 198.51.100.11/24@198.51.100.1\n        default_route: true\n"), nullptr},
        {"container two defaults across interfaces", with_net(c1 + "        network: mynet\n        address: 198.51.100.11/24\n        default_route: true\n      eth2:\n        network: mynet\n        address: 198.51.100.12/24\n        default_route: true\n"), "second IPv4 default route"},
        {"two containers in different netns each with a default", with_net("containers:\n  a:\n    netns: netns:a\n    interfaces:\n      eth1: {network: mynet, address: 198.51.100.11/24, default_route: true}\n  b:\n    netns: netns:b\n    interfaces:\n      eth1: {network: mynet, address: 198.51.100.12/24, default_route: true}\n"), nullptr},
        {"default_route without network gateway", "networks:\n  n:\n    parent: e\n    subnet: 198.51.100.0/24\ncontainers:\n  c:\n    netns: netns:c\n    interfaces:\n      eth1: {network: n, address: 198.51.100.11/24, default_route: true}\n", "has no gateway"},
        {"default_route on a bridge without gateway", (br + c1 + "        bridge: br0\n        address: 198.51.100.11/24\n        default_route: true\n"), "needs a gateway"},
        // container addresses
        {"address outside subnet", with_net(c1 + "        network: mynet\n        address: 203.0.113.11/24\n"), "outside network 'mynet'"},
        {"address is gateway", with_net(c1 + "        network: mynet\n        address: 198.51.100.1/24\n"), "is the gateway"},
        {"address is network address", with_net(c1 + "        network: mynet\n        address: 198.51.100.0/24\n"), "network address"},
        {"address is broadcast", with_net(c1 + "        network: mynet\n        address: 198.51.100.255/24\n"), "broadcast"},
        {"address prefix differs", with_net(c1 + "        network: mynet\n        address: 198.51.100.11/32\n"), "different prefix length", Severity::Warning},
        {"bridge attachment broadcast", (br + c1 + "        bridge: br0\n        address: 198.51.100.255/24\n"), "broadcast"},
        {"same ifname in one netns", (br + "containers:\n  a:\n    netns: docker:x\n    interfaces:\n      eth1: {bridge: br0}\n  b:\n    netns: docker:x\n    interfaces:\n      eth1: {bridge: br0}\n"), "clashes"},
        {"same ifname, different netns", (br + "containers:\n  a:\n    netns: docker:x\n    interfaces:\n      eth1: {bridge: br0}\n  b:\n    netns: docker:y\n    interfaces:\n      eth1: {bridge: br0}\n"), nullptr},
        {"container lo", (br + c1.substr(0, c1.size() - 12) + "      lo: {bridge: br0}\n"), "loopback"},
        {"container without interfaces", "containers:\n  c:\n    netns: netns:c\n", "no interfaces", Severity::Warning},
        {"passthru with two", "networks:\n  n:\n    parent: e\n    mode: passthru\n    subnet: 198.51.100.0/24\n    host_access: 198.51.100.250\ncontainers:\n  c:\n    netns: netns:c\n    interfaces:\n      eth1: {network: n, address: 198.51.100.11/24}\n", "passthru"},
        {"passthru with one", "networks:\n  n:\n    parent: e\n    mode: passthru\n    subnet: 198.51.100.0/24\ncontainers:\n  c:\n    netns: netns:c\n    interfaces:\n      eth1: {network: n, address: 198.51.100.11/24}\n", nullptr},
    };
    for (const auto& r : rows) {
        CAPTURE(std::string(r.rule));
        std::string text = std::string("version: 1\n") + r.yaml;
        Loaded l = load_string(text, "t.yaml");
        std::string loadErrors;
        for (const auto& d : l.diagnostics) loadErrors += d.str() + "\n";
        REQUIRE_MESSAGE(l.diagnostics.empty(), "the row must load cleanly:\n" << text << "\n" << loadErrors);
        Diagnostics out;
        validate(l.topology, l.sources, out);
        std::string got;
        for (const auto& d : out) got += d.str() + "\n";
        INFO(text);
        INFO(got);
        if (!r.words) {
            CHECK(out.empty());
            continue;
        }
        bool found = false;
        for (const auto& d : out)
            if (d.severity == r.severity && d.message.find(r.words) != std::string::npos) {
                found = true;
                CHECK(d.where.line > 0);  // every finding points into the file
                CHECK(!d.hint.empty());
            }
        CHECK(found);
    }
}

TEST_CASE("validate: the DESIGN.md example's one mistake is named with EBUSY") {
    std::string text = "version: 1\ninterfaces:\n  ens33:\n    promisc: true\n  br0:\n    kind: bridge\n    ports: [ens33]\n" +
                       std::string(kLanNet);
    Loaded l = load_string(text, "t.yaml");
    Diagnostics out;
    validate(l.topology, l.sources, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].message.find("the kernel answers EBUSY") != std::string::npos);
    CHECK(out[0].where.line == 10);  // networks.mynet.parent
}

namespace {
// A bridge br0 with `ports` listed ports (p0, p1, ...) and `containers`
// containers attached to it (c0000, c0001, ...), one interface each.
std::string bridge_with(std::size_t ports, std::size_t containers) {
    std::string t = "version: 1\ninterfaces:\n  br0:\n    kind: bridge\n    ports: [";
    for (std::size_t i = 0; i < ports; ++i) t += (i ? ", p" : "p") + std::to_string(i);
    t += "]\n";
    if (containers) t += "containers:\n";
    for (std::size_t i = 0; i < containers; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "c%04zu", i);
        t += std::string("  ") + name + ":\n    netns: netns:" + name + "\n    interfaces:\n      eth1: {bridge: br0}\n";
    }
    return t;
}
std::vector<Diagnostic> errors_of(const std::string& text) {
    Loaded l = load_string(text, "t.yaml");
    REQUIRE(l.diagnostics.empty());
    Diagnostics out;
    validate(l.topology, l.sources, out);
    std::vector<Diagnostic> e;
    for (const auto& d : out)
        if (d.severity == Severity::Error) e.push_back(d);
    return e;
}
}  // namespace

TEST_CASE("validate: a bridge holds at most 1023 ports (the kernel's EXFULL), counted before any write") {
    // 2 listed ports + 1021 containers = 1023: the most the kernel takes.
    CHECK(errors_of(bridge_with(2, 1021)).empty());
    // One more container: refused at that container's attachment, once.
    auto e = errors_of(bridge_with(2, 1022));
    REQUIRE(e.size() == 1);
    CHECK(e[0].message.find("would get its 1024th port here") != std::string::npos);
    CHECK(e[0].message.find("at most 1023") != std::string::npos);
    CHECK(e[0].message.find("EXFULL") != std::string::npos);
    CHECK(e[0].where.line > 0);
    CHECK(e[0].where.line == 2 + 3 + 1 + 4 * 1021 + 4);  // c1021's eth1 line: the 1022nd container
    // Far past the limit: still one error per bridge, not one per container.
    CHECK(errors_of(bridge_with(0, 1100)).size() == 1);
    // Listed ports alone over the limit.
    auto p = errors_of(bridge_with(1024, 0));
    REQUIRE(p.size() == 1);
    CHECK(p[0].message.find("lists 1024 ports") != std::string::npos);
}
