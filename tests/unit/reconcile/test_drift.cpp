// classify(): which kernel events are drift, against the takeover's desired state.
#include <doctest/doctest.h>

#include "lab.hpp"
#include "reconcile/plan/compile.hpp"
#include "reconcile/watch/drift.hpp"

using namespace netlab;
using namespace netlab::test;
using reconcile::KernelEvent;

namespace {

using Op = KernelEvent::Op;

reconcile::DesiredNs host_of(const model::Topology& t) { return reconcile::compile(t, {}).namespaces.at(""); }

KernelEvent link(Op op, const char* name, bool up, const char* master = "", const char* alias = "") {
    KernelEvent e;
    e.op = op;
    e.object = KernelEvent::Object::Link;
    e.link.name = name;
    e.link.up = up;
    e.link.master = master;
    e.link.alias = alias;
    return e;
}

KernelEvent address(Op op, const char* dev, const char* prefix) {
    KernelEvent e;
    e.op = op;
    e.object = KernelEvent::Object::Address;
    e.address = model::AddressState{dev, pfx(prefix), false};
    return e;
}

KernelEvent route(Op op, const char* dst, const char* via, const char* dev, std::uint8_t protocol,
                  std::uint32_t table = model::kMainTable) {
    KernelEvent e;
    e.op = op;
    e.object = KernelEvent::Object::Route;
    e.route.dst = std::string(dst) == "default" ? model::Prefix::default_route(4) : pfx(dst);
    if (via) e.route.via = ip(via);
    e.route.dev = dev;
    e.route.protocol = protocol;
    e.route.table = table;
    return e;
}

struct Case {
    const char* name;
    KernelEvent event;
    bool owned;
    const char* drift;
};

}  // namespace

TEST_CASE("classify: the takeover's objects drift, foreign ones and the kernel's follow-ups do not") {
    const auto d = host_of(takeover());
    const char* mark = "netlab:bridge";
    const std::vector<Case> cases = {
        // links
        {"bridge set down", link(Op::New, "br0", false, "", mark), true, "br0 set down"},
        {"bridge up again (or netlab's echo)", link(Op::New, "br0", true, "", mark), true, ""},
        {"port released", link(Op::New, "ens33", true), true, "ens33 released from br0"},
        {"port moved", link(Op::New, "ens33", true, "br9"), true, "ens33 moved from br0 to br9"},
        {"port as desired (carrier change)", link(Op::New, "ens33", true, "br0"), true, ""},
        {"bridge deleted", link(Op::Del, "br0", false, "", mark), true, "br0 deleted"},
        {"foreign veth created", link(Op::New, "vfx0", true), false, ""},
        {"foreign veth deleted", link(Op::Del, "vfx0", false), false, ""},
        {"netlab's link not in the topology", link(Op::New, "br7", true, "", mark), true,
         "br7 (netlab's) is not in the topology"},
        {"netlab's leftover deleted", link(Op::Del, "br7", false, "", mark), true, ""},
        // addresses
        {"owned address deleted", address(Op::Del, "br0", "198.51.100.10/24"), true,
         "br0 address 198.51.100.10/24 deleted"},
        {"owned address back", address(Op::New, "br0", "198.51.100.10/24"), true, ""},
        {"extra address on a managed link", address(Op::New, "br0", "198.51.100.99/24"), true,
         "br0 address 198.51.100.99/24 added"},
        {"address back on the emptied port", address(Op::New, "ens33", "198.51.100.10/24"), true,
         "ens33 address 198.51.100.10/24 added"},
        {"IPv6 link-local is the kernel's", address(Op::New, "br0", "fe80::1/64"), false, ""},
        {"address on a foreign link", address(Op::New, "vfx0", "203.0.113.5/24"), false, ""},
        {"address on an unknown ifindex", address(Op::Del, "", "198.51.100.10/24"), false, ""},
        // routes
        {"desired route deleted", route(Op::Del, "default", "198.51.100.1", "br0", 77), true,
         "route default via 198.51.100.1 dev br0 deleted"},
        {"desired route as desired", route(Op::New, "default", "198.51.100.1", "br0", 77), true, ""},
        {"desired route replaced by someone", route(Op::New, "default", "198.51.100.2", "br0", 3), true,
         "route default via 198.51.100.2 dev br0 proto 3 replaces the topology's"},
        {"foreign route added", route(Op::New, "203.0.113.0/26", "198.51.100.1", "br0", 3), false, ""},
        {"foreign route deleted", route(Op::Del, "203.0.113.0/26", "198.51.100.1", "br0", 3), false, ""},
        {"connected route of an owned address", route(Op::Del, "198.51.100.0/24", nullptr, "br0", 2), false, ""},
        {"local table", route(Op::New, "198.51.100.10/32", nullptr, "br0", 2, 255), false, ""},
        {"netlab's protocol not in the topology", route(Op::New, "203.0.113.0/26", "198.51.100.1", "br0", 77),
         true, "route 203.0.113.0/26 via 198.51.100.1 dev br0 (netlab's) is not in the topology"},
        {"netlab's leftover route deleted", route(Op::Del, "203.0.113.0/26", "198.51.100.1", "br0", 77), true, ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        auto v = reconcile::classify(d, c.event);
        CHECK(v.owned == c.owned);
        CHECK(v.drift == c.drift);
    }
}

TEST_CASE("classify: a renamed link the topology names has drifted") {
    const auto d = host_of(takeover());
    auto e = link(Op::New, "wan0", true, "br0");
    e.renamed_from = "ens33";
    auto v = reconcile::classify(d, e);
    CHECK(v.owned);
    CHECK(v.drift == "ens33 renamed to wan0");
}

TEST_CASE("classify: a container's veth going with its namespace is not drift; its master is") {
    model::Topology t = takeover();
    model::Container c;
    c.name = "t1";
    c.netns = *model::NetnsTarget::parse("netns:t1");
    model::ContainerInterface ci;
    ci.name = "eth1";
    ci.bridge = "br0";
    ci.addresses = {pfx("198.51.100.11/24")};
    c.interfaces["eth1"] = ci;
    t.containers["t1"] = c;
    const auto d = host_of(t);
    const std::string veth = reconcile::veth_host_name("t1", "eth1");
    REQUIRE(d.links.count(veth));
    auto gone = reconcile::classify(d, link(Op::Del, veth.c_str(), false, "", "netlab:veth"));
    CHECK(gone.owned);
    CHECK(gone.drift == "");
    auto released = reconcile::classify(d, link(Op::New, veth.c_str(), true, "", "netlab:veth"));
    CHECK(released.owned);
    CHECK(released.drift == veth + " released from br0");
}

TEST_CASE("drift_in: host1 before the takeover has drifted from it; after the engine's plan, nothing has") {
    const auto desired = reconcile::compile(takeover(), {});
    const auto& d = desired.namespaces.at("");
    reconcile::Observed state{{"", host1()}};
    const auto before = reconcile::drift_in(d, state.at(""));
    CHECK(before == std::vector<std::string>{"ens33 released from br0", "br0 deleted",
                                             "ens33 address 198.51.100.10/24 added",
                                             "br0 address 198.51.100.10/24 deleted",
                                             "route default via 198.51.100.1 dev ens33 proto 3 replaces the topology's"});
    REQUIRE(run(state, reconcile::make_plan(desired, state)) == -1);
    CHECK(reconcile::drift_in(d, state.at("")).empty());

    SUBCASE("someone deletes the address: the address and the flushed route are missing") {
        auto& host = state.at("");
        std::erase_if(host.addresses, [](const auto& a) { return a.dev == "br0"; });
        std::erase_if(host.routes, [](const auto& r) { return r.dev == "br0"; });
        CHECK(reconcile::drift_in(d, host) == std::vector<std::string>{
                                                  "br0 address 198.51.100.10/24 deleted",
                                                  "route default via 198.51.100.1 dev br0 deleted"});
    }
    SUBCASE("foreign objects are no drift") {
        auto& host = state.at("");
        host.links["vfx0"] = nic("vfx0", 9, "52:54:00:00:00:09", "veth");
        host.addresses.insert({"vfx0", pfx("203.0.113.201/30")});
        host.routes.insert(route("203.0.113.208/29", "203.0.113.202", "vfx0", 3));
        CHECK(reconcile::drift_in(d, host).empty());
    }
}

TEST_CASE("drift_where: the host's drift as it is, a container's with its name") {
    CHECK(reconcile::drift_where("", "br0 set down") == "br0 set down");
    CHECK(reconcile::drift_where(reconcile::container_ns("c1"), "eth1 address 198.51.100.31/24 deleted") ==
          "container c1: eth1 address 198.51.100.31/24 deleted");
}
