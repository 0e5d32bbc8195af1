// compile(): the topology's defaults and the ledger's originals.
#include <doctest/doctest.h>

#include "lab.hpp"
#include "reconcile/plan/compile.hpp"

using netlab::reconcile::LinkKind;

using namespace netlab;
using namespace netlab::test;
using reconcile::LinkSpec;
using reconcile::RouteSpec;

TEST_CASE("bridge takeover compiles to a managed bridge and an emptied, enslaved port") {
    const auto d = reconcile::compile(takeover(), {});
    REQUIRE(d.namespaces.size() == 1);
    const auto& host = d.namespaces.at("");
    const LinkSpec& br = host.links.at("br0");
    CHECK(br.kind == LinkKind::Bridge);
    CHECK(br.up == true);
    CHECK(br.stp == false);
    CHECK(br.mac_from == "ens33");
    CHECK(br.addresses == std::set<model::Prefix>{pfx("198.51.100.10/24")});
    const LinkSpec& port = host.links.at("ens33");
    CHECK(port.kind == LinkKind::Existing);
    CHECK(port.master == "br0");
    CHECK(port.up == true);
    CHECK(port.addresses == std::set<model::Prefix>{});
    CHECK_FALSE(port.promisc);
    CHECK_FALSE(port.mtu);
    REQUIRE(host.routes.size() == 1);
    CHECK(host.routes[0] == RouteSpec{model::Prefix::default_route(4), ip("198.51.100.1"), "br0", 0,
                                      model::kMainTable, model::kRouteProtocol, 0});
}

TEST_CASE("defaults: created devices are up with exactly the listed addresses; adopted ones only what is listed") {
    model::Topology t;
    model::Interface mv;
    mv.name = "mv0";
    mv.kind = model::InterfaceKind::Macvlan;
    mv.parent = "ens33";
    mv.mode = model::MacvlanMode::Vepa;
    t.interfaces["mv0"] = mv;
    model::Interface e;
    e.name = "ens33";
    e.promisc = true;
    t.interfaces["ens33"] = e;
    model::Interface br;
    br.name = "br1";
    br.kind = model::InterfaceKind::Bridge;
    br.up = false;
    br.ports = {"ens34"};
    t.interfaces["br1"] = br;
    model::Interface p;
    p.name = "ens34";
    p.addresses = std::vector<model::Prefix>{pfx("203.0.113.9/24")};  // listed: kept
    t.interfaces["ens34"] = p;

    const auto d = reconcile::compile(t, {});
    const auto& host = d.namespaces.at("");
    const LinkSpec& m = host.links.at("mv0");
    CHECK(m.kind == LinkKind::Macvlan);
    CHECK(m.parent == "ens33");
    CHECK(m.parent_ns == "");
    CHECK(m.mode == model::MacvlanMode::Vepa);
    CHECK(m.up == true);
    CHECK(m.addresses == std::set<model::Prefix>{});
    const LinkSpec& a = host.links.at("ens33");
    CHECK(a.promisc == true);
    CHECK_FALSE(a.up);
    CHECK_FALSE(a.addresses);
    CHECK_FALSE(a.master);
    CHECK(host.links.at("br1").up == false);
    CHECK(host.links.at("br1").stp == false);
    CHECK(host.links.at("ens34").master == "br1");
    CHECK(host.links.at("ens34").addresses == std::set<model::Prefix>{pfx("203.0.113.9/24")});
}

TEST_CASE("routes: dev found through the desired addresses; without a gateway the route is on-link") {
    model::Topology t = takeover();
    t.routes[0].dev.clear();
    model::Route onlink;
    onlink.to = pfx("203.0.113.0/24");
    onlink.dev = "br0";
    onlink.metric = 50;
    t.routes.push_back(onlink);
    const auto d = reconcile::compile(t, {});
    const auto& routes = d.namespaces.at("").routes;
    REQUIRE(routes.size() == 2);
    CHECK(routes[0].dev == "br0");
    CHECK(routes[0].scope == 0);
    CHECK(routes[1].scope == 253);
    CHECK(routes[1].metric == 50);
}

TEST_CASE("ledger: originals come back for what the topology no longer manages") {
    reconcile::AdoptedOriginal o;
    o.link = nic("ens33", 2, "52:54:00:12:34:56");
    o.link.promisc = false;
    o.addresses = {pfx("198.51.100.10/24")};
    o.routes = {route("0.0.0.0/0", "198.51.100.1", "ens33", 3), route("192.0.2.0/24", "198.51.100.7", "ens33", 4)};
    o.attributes = {"master", "addresses", "routes", "promisc"};
    reconcile::Ledger ledger;
    ledger.adopted[""]["ens33"] = o;

    SUBCASE("gone from the topology: everything recorded, routes unless a topology route holds the key") {
        model::Topology t;
        model::Route r;
        r.to = pfx("192.0.2.0/24");
        r.via = ip("198.51.100.9");
        r.dev = "ens33";
        t.routes.push_back(r);
        const auto d = reconcile::compile(t, ledger);
        const auto& host = d.namespaces.at("");
        const LinkSpec& l = host.links.at("ens33");
        CHECK(l.kind == LinkKind::Existing);
        CHECK(l.master == "");
        CHECK(l.promisc == false);
        CHECK(l.addresses == o.addresses);
        CHECK_FALSE(l.mtu);  // never changed by netlab: not touched
        CHECK_FALSE(l.up);
        REQUIRE(host.routes.size() == 2);
        CHECK(host.routes[0].via == ip("198.51.100.9"));
        CHECK(host.routes[1].dst.is_default());
        CHECK(host.routes[1].protocol == 3);
    }
    SUBCASE("still a port: the topology wins; unlisted attributes come back") {
        const auto d = reconcile::compile(takeover(), ledger);
        const auto& host = d.namespaces.at("");
        const LinkSpec& l = host.links.at("ens33");
        CHECK(l.master == "br0");
        CHECK(l.addresses == std::set<model::Prefix>{});
        CHECK(l.promisc == false);
        // the default route is the topology's; the other original cannot
        // come back on a port without an address (the kernel would answer
        // ENETUNREACH): it stays where the takeover re-homed it
        REQUIRE(host.routes.size() == 1);
        CHECK(host.routes[0].dev == "br0");
    }
    SUBCASE("an old ledger without attributes gives back all of them") {
        ledger.adopted[""]["ens33"].attributes.clear();
        const auto d = reconcile::compile({}, ledger);
        const LinkSpec& l = d.namespaces.at("").links.at("ens33");
        CHECK(l.mtu == 1500u);
        CHECK(l.up == true);
        CHECK(l.mac == o.link.mac);
    }
}
