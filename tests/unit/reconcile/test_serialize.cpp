// The journal and ledger forms read back to equal values.
#include <doctest/doctest.h>

#include "lab.hpp"
#include "reconcile/apply/serialize.hpp"

using netlab::reconcile::LinkKind;

using namespace netlab;
using namespace netlab::reconcile;

TEST_CASE("serialize: observed state round-trips") {
    Observed o{{"", test::host1()}, {"container:test1", model::NetnsState{}}};
    auto& br = o[""].links["br0"];
    br = test::nic("br0", 9, "02:00:00:00:00:01", "bridge");
    br.stp = false;
    br.alias = "netlab:bridge";
    br.promote_secondaries = true;
    o[""].links["ens33"].promote_secondaries = false;
    o[""].routes.insert(test::route("2001:db8::/32", "2001:db8::1", "br0", 77, 1024));
    auto j = serial::observed(o);
    CHECK(serial::observed_from(nlohmann::json::parse(j.dump())) == o);
}

TEST_CASE("serialize: plans round-trip, every op") {
    Plan p;
    Step c;
    c.op = Step::Op::CreateLink;
    c.ns = "container:c1";
    c.link.name = "eth1";
    c.link.kind = LinkKind::Macvlan;
    c.link.parent = "ens33";
    c.link.parent_ns = "";
    c.link.mode = model::MacvlanMode::Vepa;
    c.link.mac = test::mac("02:42:ac:10:68:0a");
    c.link.addresses = std::set<model::Prefix>{test::pfx("198.51.100.20/24")};
    c.why = "container attachment";
    p.steps.push_back(c);
    Step v;
    v.op = Step::Op::CreateLink;
    v.link.name = "nlc1eth1";
    v.link.kind = LinkKind::Veth;
    v.link.peer_name = "eth1";
    v.link.peer_ns = "container:c1";
    v.link.master = "br0";
    p.steps.push_back(v);
    Step s;
    s.op = Step::Op::SetLink;
    s.link.name = "ens33";
    s.link.master = "";
    s.link.promisc = true;
    s.link.mtu = 9000;
    s.link.up = false;
    s.link.stp = true;
    s.link.mac_from = "ens34";
    s.link.promote_secondaries = false;
    s.link.group = 7700;
    p.steps.push_back(s);
    Step g;
    g.op = Step::Op::DeleteGroup;
    g.ns = "container:c1";
    g.group = 7701;
    g.members = {"eth1", "eth2"};
    p.steps.push_back(g);
    Step a;
    a.op = Step::Op::DelAddress;
    a.address = {"ens33", test::pfx("198.51.100.10/24")};
    p.steps.push_back(a);
    Step r;
    r.op = Step::Op::ReplaceRoute;
    r.route = test::route("0.0.0.0/0", "198.51.100.1", "br0", 77);
    p.steps.push_back(r);
    p.refusals.push_back(model::Diagnostic{model::Severity::Error, {"f.yaml", 1, 2}, "no", "hint"});
    Plan back = serial::plan_from(nlohmann::json::parse(serial::plan(p).dump()));
    REQUIRE(back.steps.size() == p.steps.size());
    for (std::size_t i = 0; i < p.steps.size(); ++i) {
        CAPTURE(i);
        CHECK(back.steps[i].op == p.steps[i].op);
        CHECK(back.steps[i].ns == p.steps[i].ns);
        CHECK(back.steps[i].why == p.steps[i].why);
        CHECK(back.steps[i].describe() == p.steps[i].describe());
        CHECK(back.steps[i].link == p.steps[i].link);
        CHECK(back.steps[i].address == p.steps[i].address);
        CHECK(back.steps[i].route == p.steps[i].route);
        CHECK(back.steps[i].group == p.steps[i].group);
        CHECK(back.steps[i].members == p.steps[i].members);
    }
    REQUIRE(back.refusals.size() == 1);
    CHECK(back.refusals[0].str() == p.refusals[0].str());
}

TEST_CASE("serialize: the ledger round-trips") {
    Ledger l;
    AdoptedOriginal o;
    o.link = test::host1().links.at("ens33");
    o.addresses = {test::pfx("198.51.100.10/24")};
    o.routes = {test::route("0.0.0.0/0", "198.51.100.1", "ens33", 3)};
    o.attributes = {"addresses", "master"};
    l.adopted[""]["ens33"] = o;
    CHECK(serial::ledger_from(nlohmann::json::parse(serial::ledger(l).dump())) == l);
}
