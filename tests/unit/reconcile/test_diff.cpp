// make_plan / restore_target / next_ledger as tables, run on the in-memory
// kernel (reconcile/memory_kernel.hpp), which has the kernel's side effects.
#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <functional>

#include "lab.hpp"
#include "reconcile/plan/compile.hpp"
#include "reconcile/plan/ledger.hpp"
#include "reconcile/plan/planner.hpp"
#include "reconcile/plan/rollback_target.hpp"

using netlab::reconcile::LinkKind;

using namespace netlab;
using namespace netlab::test;
using reconcile::Desired;
using reconcile::Ledger;
using reconcile::Observed;
using reconcile::Plan;
using reconcile::Step;

namespace {

const std::vector<std::string> kTakeover = {
    "ip link add br0 address 52:54:00:12:34:56 type bridge stp_state 0 (netlab)",
    "ip link set br0 up",
    "ip addr add 198.51.100.10/24 dev br0",
    "ip link set ens33 master br0",
    "ip route replace default via 198.51.100.1 dev br0 proto 77",
    "ip addr del 198.51.100.10/24 dev ens33",
};

const std::vector<std::string> kGiveBack = {
    "ip addr add 198.51.100.10/24 dev ens33",
    "ip link set ens33 nomaster",
    "ip route replace default via 198.51.100.1 dev ens33 proto 3",
    "ip link del br0",
};

struct Lab {
    Observed before{{"", host1()}};
    Desired desired = reconcile::compile(takeover(), {});
    Plan plan = reconcile::make_plan(desired, before);
};

// Applies the first k steps of `plan` to `start`.
Observed prefix_of(Observed start, const Plan& plan, std::size_t k) {
    for (std::size_t i = 0; i < k; ++i) reconcile::apply_step(start, plan.steps[i]);
    return start;
}

}  // namespace

TEST_CASE("bridge takeover: connectivity-preserving order") {
    Lab lab;
    CHECK(lab.plan.refusals.empty());
    CHECK(lines(lab.plan) == kTakeover);
}

TEST_CASE("bridge takeover: the gateway stays reachable after every step, and the result converges") {
    Lab lab;
    Observed state = lab.before;
    REQUIRE(reaches(state.at(""), "198.51.100.1"));
    for (std::size_t i = 0; i < lab.plan.steps.size(); ++i) {
        CAPTURE(lab.plan.steps[i].describe());
        REQUIRE_NOTHROW(reconcile::apply_step(state, lab.plan.steps[i]));
        CHECK(reaches(state.at(""), "198.51.100.1"));
    }
    const auto& s = state.at("");
    CHECK(s.links.at("br0").mac == s.links.at("ens33").mac);
    CHECK(s.links.at("ens33").master == "br0");
    CHECK(s.routes.count(route("0.0.0.0/0", "198.51.100.1", "br0", 77)));
    // kernel-made and foreign objects untouched
    CHECK(s.addresses.count({"ens33", pfx("fe80::5054:ff:fe12:3456/64")}));
    CHECK(s.routes.count(prefix_route("fe80::/64", "ens33")));
    CHECK(s.links.at("foreign0") == lab.before.at("").links.at("foreign0"));
    CHECK(s.routes.count(route("192.0.2.128/25", "203.0.113.2", "foreign0", 4)));
    // idempotent: nothing left to do
    CHECK(reconcile::make_plan(lab.desired, state).empty());
}

TEST_CASE("the seed's shell chain breaks at 'ip route del default' (the kernel flushed it)") {
    Observed state{{"", host1()}};
    auto step = [](Step::Op op) {
        Step s;
        s.op = op;
        return s;
    };
    std::vector<Step> chain;
    Step br = step(Step::Op::CreateLink);
    br.link.name = "br0";
    br.link.kind = LinkKind::Bridge;
    br.link.up = true;
    chain.push_back(br);
    Step add = step(Step::Op::AddAddress);
    add.address = {"br0", pfx("198.51.100.10/24")};
    chain.push_back(add);
    Step del = step(Step::Op::DelAddress);
    del.address = {"ens33", pfx("198.51.100.10/24")};
    chain.push_back(del);
    Step enslave = step(Step::Op::SetLink);
    enslave.link.name = "ens33";
    enslave.link.master = "br0";
    chain.push_back(enslave);
    Step delDefault = step(Step::Op::DelRoute);
    delDefault.route = route("0.0.0.0/0", nullptr, "", 0);
    chain.push_back(delDefault);
    Plan p;
    p.steps = chain;
    std::string error;
    CHECK(run(state, p, &error) == 4);
    CHECK(error.find("no such process") != std::string::npos);
    CHECK_FALSE(reaches(state.at(""), "198.51.100.1"));
}

TEST_CASE("rollback after every prefix of the takeover gives back exactly the snapshot") {
    Lab lab;
    const Desired target = reconcile::restore_target(lab.before, lab.plan);
    for (std::size_t k = 0; k <= lab.plan.steps.size(); ++k) {
        CAPTURE(k);
        Observed state = prefix_of(lab.before, lab.plan, k);
        Plan back = reconcile::make_plan(target, state);
        CHECK(back.refusals.empty());
        std::string error;
        CHECK(run(state, back, &error) == -1);
        CAPTURE(error);
        CHECK(state == lab.before);
        if (k == 0) CHECK(back.empty());
    }
}

TEST_CASE("ledger: the takeover records ens33's originals; removing br0 gives them back in a safe order") {
    Lab lab;
    const Ledger ledger = reconcile::next_ledger({}, takeover(), lab.before, lab.plan);
    REQUIRE(ledger.adopted.count(""));
    REQUIRE(ledger.adopted.at("").count("ens33"));
    const auto& e = ledger.adopted.at("").at("ens33");
    CHECK(e.link == lab.before.at("").links.at("ens33"));
    CHECK(e.addresses == std::set<model::Prefix>{pfx("198.51.100.10/24")});
    CHECK(e.routes == std::vector<model::RouteState>{route("0.0.0.0/0", "198.51.100.1", "ens33", 3)});
    CHECK(e.attributes == std::set<std::string>{"addresses", "master", "routes"});
    CHECK(ledger.adopted.at("").size() == 1);  // foreign0 was never touched

    Observed after = prefix_of(lab.before, lab.plan, lab.plan.steps.size());
    // Applying again changes nothing and keeps the ledger.
    CHECK(reconcile::next_ledger(ledger, takeover(), after, reconcile::make_plan(lab.desired, after)) == ledger);

    const model::Topology empty;
    const Desired back = reconcile::compile(empty, ledger);
    const Plan reverse = reconcile::make_plan(back, after);
    CHECK(reverse.refusals.empty());
    CHECK(lines(reverse) == kGiveBack);
    Observed state = after;
    CHECK(run(state, reverse) == -1);
    CHECK(state == lab.before);
    CHECK(reconcile::next_ledger(ledger, empty, after, reverse) == Ledger{});
    CHECK(reconcile::make_plan(reconcile::compile(empty, {}), state).empty());
}

TEST_CASE("rollback after every prefix of the give-back plan restores the bridge") {
    Lab lab;
    const Ledger ledger = reconcile::next_ledger({}, takeover(), lab.before, lab.plan);
    const Observed after = prefix_of(lab.before, lab.plan, lab.plan.steps.size());
    const Plan reverse = reconcile::make_plan(reconcile::compile({}, ledger), after);
    const Desired target = reconcile::restore_target(after, reverse);
    auto sameButIfindex = [](Observed a, Observed b) {
        for (auto* o : {&a, &b})
            for (auto& [ns, s] : *o)
                for (auto& [n, l] : s.links) l.ifindex = 0;
        return a == b;
    };
    for (std::size_t k = 0; k <= reverse.steps.size(); ++k) {
        CAPTURE(k);
        Observed state = prefix_of(after, reverse, k);
        Plan back = reconcile::make_plan(target, state);
        CHECK(back.refusals.empty());
        std::string error;
        CHECK(run(state, back, &error) == -1);
        CAPTURE(error);
        // a re-created bridge gets a new ifindex; everything else is equal
        CHECK(sameButIfindex(state, after));
    }
}

TEST_CASE("routes the kernel flushed come back on rollback with their own protocol") {
    // ens33 also routes 192.0.2.0/25 via a second gateway: when its address
    // goes the kernel flushes that route; the rollback must add it back.
    Lab lab;
    lab.before.at("").routes.insert(route("192.0.2.0/25", "198.51.100.254", "ens33", 4));
    lab.plan = reconcile::make_plan(lab.desired, lab.before);
    Observed state = prefix_of(lab.before, lab.plan, lab.plan.steps.size());
    CHECK_FALSE(state.at("").routes.count(route("192.0.2.0/25", "198.51.100.254", "ens33", 4)));
    Plan back = reconcile::make_plan(reconcile::restore_target(lab.before, lab.plan), state);
    CHECK(run(state, back) == -1);
    CHECK(state == lab.before);
}

namespace {

// host1 with two foreign routes through ens33 that the kernel flushes when
// ens33 loses its last IPv4 address: one via a gateway, one on-link.
Lab foreign_lab() {
    Lab lab;
    lab.before.at("").routes.insert(route("203.0.113.64/26", "198.51.100.1", "ens33", 4));
    lab.before.at("").routes.insert(route("203.0.113.128/26", nullptr, "ens33", 4));
    lab.plan = reconcile::make_plan(lab.desired, lab.before);
    return lab;
}

bool has_key(const model::NetnsState& s, const char* dst) {
    return std::any_of(s.routes.begin(), s.routes.end(), [&](const model::RouteState& r) { return r.dst == pfx(dst); });
}

}  // namespace

TEST_CASE("foreign routes through the uplink are re-homed onto br0 before its address goes, never missing") {
    Lab lab = foreign_lab();
    std::vector<std::string> want = kTakeover;
    want.insert(want.end() - 1, {"ip route replace 203.0.113.64/26 via 198.51.100.1 dev br0 proto 4",
                                 "ip route replace 203.0.113.128/26 dev br0 scope link proto 4"});
    CHECK(lines(lab.plan) == want);
    Observed state = lab.before;
    for (const auto& st : lab.plan.steps) {
        CAPTURE(st.describe());
        REQUIRE_NOTHROW(reconcile::apply_step(state, st));
        CHECK(has_key(state.at(""), "203.0.113.64/26"));
        CHECK(has_key(state.at(""), "203.0.113.128/26"));
    }
    CHECK(state.at("").routes.count(route("203.0.113.64/26", "198.51.100.1", "br0", 4)));
    CHECK(state.at("").routes.count(route("203.0.113.128/26", nullptr, "br0", 4)));

    // The ledger holds them as they were; applying again changes nothing
    // (they stay foreign routes on br0, not wanted back on the emptied port).
    const Ledger ledger = reconcile::next_ledger({}, takeover(), lab.before, lab.plan);
    const auto& e = ledger.adopted.at("").at("ens33");
    CHECK(std::count(e.routes.begin(), e.routes.end(), route("203.0.113.64/26", "198.51.100.1", "ens33", 4)) == 1);
    CHECK(std::count(e.routes.begin(), e.routes.end(), route("203.0.113.128/26", nullptr, "ens33", 4)) == 1);
    CHECK(reconcile::make_plan(reconcile::compile(takeover(), ledger), state).empty());

    // Removing br0 gives them back to ens33 exactly.
    const Plan reverse = reconcile::make_plan(reconcile::compile({}, ledger), state);
    CHECK(reverse.refusals.empty());
    Observed back = state;
    std::string error;
    CHECK(run(back, reverse, &error) == -1);
    CAPTURE(error);
    CHECK(back == lab.before);
}

TEST_CASE("re-homed foreign routes: rollback after every prefix restores them on ens33") {
    Lab lab = foreign_lab();
    const Desired target = reconcile::restore_target(lab.before, lab.plan);
    for (std::size_t k = 0; k <= lab.plan.steps.size(); ++k) {
        CAPTURE(k);
        Observed state = prefix_of(lab.before, lab.plan, k);
        Plan back = reconcile::make_plan(target, state);
        CHECK(back.refusals.empty());
        std::string error;
        CHECK(run(state, back, &error) == -1);
        CAPTURE(error);
        CHECK(state == lab.before);
    }
}

TEST_CASE("re-homing: a ledger entry older than the route still records it; nowhere to go, nothing moves") {
    Lab lab = foreign_lab();
    Ledger old;
    old.adopted[""]["ens33"].link = lab.before.at("").links.at("ens33");
    old.adopted[""]["ens33"].attributes = {"mtu"};
    const Ledger ledger = reconcile::next_ledger(old, takeover(), lab.before, lab.plan);
    const auto& e = ledger.adopted.at("").at("ens33");
    CHECK(std::count(e.routes.begin(), e.routes.end(), route("203.0.113.64/26", "198.51.100.1", "ens33", 4)) == 1);

    // A gateway no address after the plan reaches: the route cannot move.
    lab.before.at("").routes.insert(route("203.0.113.0/27", "198.51.100.200", "ens33", 4));
    model::Topology t = takeover();
    t.interfaces["br0"].addresses = std::vector<model::Prefix>{pfx("198.51.100.10/25")};
    const Plan p = reconcile::make_plan(reconcile::compile(t, {}), lab.before);
    for (const auto& l : lines(p)) CHECK(l.find("203.0.113.0/27") == std::string::npos);
}

TEST_CASE("route identity is (table, dst, metric)") {
    Observed obs{{"", host1()}};
    auto& s = obs.at("");
    s.routes.insert(route("10.0.0.0/8", "198.51.100.2", "ens33", 77));
    s.routes.insert(route("10.1.0.0/16", "198.51.100.2", "ens33", 77));
    model::Topology t;
    model::Interface e;
    e.name = "ens33";
    t.interfaces["ens33"] = e;
    auto add = [&](const char* to, const char* via, std::optional<std::uint32_t> metric) {
        model::Route r;
        r.to = pfx(to);
        r.via = ip(via);
        r.metric = metric;
        t.routes.push_back(r);  // dev resolved through the addresses
    };
    add("10.0.0.0/8", "198.51.100.3", std::nullopt);  // same key, other gateway: replace
    add("10.1.0.0/16", "198.51.100.2", 100);           // other metric: a new route; the old one goes
    add("0.0.0.0/0", "198.51.100.1", std::nullopt);    // same key as the boot route: taken over
    const Plan p = reconcile::make_plan(reconcile::compile(t, {}), obs);
    CHECK(refusals(p).empty());
    CHECK(lines(p) == std::vector<std::string>{
                          "ip route replace 10.0.0.0/8 via 198.51.100.3 dev ens33 proto 77",
                          "ip route add 10.1.0.0/16 via 198.51.100.2 dev ens33 metric 100 proto 77",
                          "ip route replace default via 198.51.100.1 dev ens33 proto 77",
                          "ip route del 10.1.0.0/16 via 198.51.100.2 dev ens33 proto 77",
                      });
    Observed state = obs;
    CHECK(run(state, p) == -1);
    CHECK(reconcile::make_plan(reconcile::compile(t, {}), state).empty());
}

TEST_CASE("owned links are deleted at once, children named first; foreign ones never") {
    Observed obs{{"", host1()}};
    auto& s = obs.at("");
    auto owned = [](model::LinkState l) {
        l.alias = std::string(model::kOwnedAliasPrefix) + l.kind;
        return l;
    };
    s.links["br9"] = owned(nic("br9", 10, "02:00:00:00:00:10", "bridge"));
    s.links["br9"].stp = false;
    s.links["mv9"] = owned(nic("mv9", 11, "02:00:00:00:00:11", "macvlan"));
    s.links["mv9"].parent = "br9";
    s.links["vp9"] = owned(nic("vp9", 12, "02:00:00:00:00:12", "veth"));
    s.links["vp9"].master = "br9";
    s.routes.insert(route("10.9.0.0/16", nullptr, "mv9", 77));
    s.routes.insert(route("10.8.0.0/16", "198.51.100.8", "ens33", 77));
    const Plan p = reconcile::make_plan(reconcile::compile({}, {}), obs);
    CHECK(lines(p) == std::vector<std::string>{
                          "ip route del 10.8.0.0/16 via 198.51.100.8 dev ens33 proto 77",
                          "ip link delete group 7700  # 3 links set to group 7700 first: mv9 vp9 br9",
                      });
    REQUIRE(p.steps.size() == 2);
    CHECK(p.steps[1].members == std::vector<std::string>{"mv9", "vp9", "br9"});
    Observed state = obs;
    CHECK(run(state, p) == -1);
    CHECK(state.at("") == host1());
}

TEST_CASE("preflight refuses what the kernel would reject, and then plans nothing") {
    struct Case {
        const char* name;
        std::function<void(model::Topology&, model::NetnsState&)> setup;
        std::string refusal;
    };
    const std::vector<Case> cases = {
        {"enslaving a macvlan parent",
         [](model::Topology&, model::NetnsState& s) {
             auto mv = nic("mv0", 20, "02:00:00:00:00:20", "macvlan");
             mv.parent = "ens33";
             s.links["mv0"] = mv;
         },
         "ens33: cannot be enslaved to br0: it is the parent of macvlan mv0 (the kernel answers EBUSY)"},
        {"a bridge port as macvlan parent",
         [](model::Topology& t, model::NetnsState&) {
             model::Interface mv;
             mv.name = "mv0";
             mv.kind = model::InterfaceKind::Macvlan;
             mv.parent = "ens33";
             t.interfaces["mv0"] = mv;
         },
         "ens33: cannot be the parent of macvlan mv0: it is a port of br0 (the kernel answers EBUSY)"},
        {"an adopted link that does not exist",
         [](model::Topology& t, model::NetnsState&) {
             model::Interface e;
             e.name = "ens99";
             e.promisc = true;
             t.interfaces["ens99"] = e;
         },
         "ens99: no such interface"},
        {"mac_from naming a missing link",
         [](model::Topology& t, model::NetnsState&) { t.interfaces["br0"].mac_from = "ens77"; },
         "br0: cannot take the MAC of ens77: no such interface"},
        {"a foreign link of another kind holds the name",
         [](model::Topology&, model::NetnsState& s) { s.links["br0"] = nic("br0", 21, "02:00:00:00:00:21", "veth"); },
         "br0: a veth link netlab does not own has this name; it cannot become a bridge"},
        {"a route through a device that will not exist",
         [](model::Topology& t, model::NetnsState&) { t.routes[0].dev = "br7"; },
         "route default via 198.51.100.1: device br7 does not exist"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        model::Topology t = takeover();
        model::NetnsState s = host1();
        c.setup(t, s);
        const Plan p = reconcile::make_plan(reconcile::compile(t, {}), {{"", s}});
        CHECK(refusals(p) == std::vector<std::string>{c.refusal});
        CHECK(p.steps.empty());
    }
}

TEST_CASE("an adopted NIC: only listed attributes change, and they are given back") {
    model::Topology t;
    model::Interface e;
    e.name = "ens33";
    e.promisc = true;
    e.mtu = 9000;
    t.interfaces["ens33"] = e;
    const Observed before{{"", host1()}};
    const Plan p = reconcile::make_plan(reconcile::compile(t, {}), before);
    CHECK(lines(p) == std::vector<std::string>{"ip link set ens33 mtu 9000 promisc on"});
    const Ledger ledger = reconcile::next_ledger({}, t, before, p);
    CHECK(ledger.adopted.at("").at("ens33").attributes == std::set<std::string>{"mtu", "promisc"});
    Observed state = before;
    CHECK(run(state, p) == -1);

    // mtu no longer listed: only mtu goes back; addresses are never managed here
    t.interfaces["ens33"].mtu.reset();
    const Plan p2 = reconcile::make_plan(reconcile::compile(t, ledger), state);
    CHECK(lines(p2) == std::vector<std::string>{"ip link set ens33 mtu 1500"});
    CHECK(run(state, p2) == -1);
    const Ledger l2 = reconcile::next_ledger(ledger, t, state, p2);
    CHECK(l2 == ledger);  // still named: kept

    const Plan p3 = reconcile::make_plan(reconcile::compile({}, l2), state);
    CHECK(lines(p3) == std::vector<std::string>{"ip link set ens33 promisc off"});
    CHECK(run(state, p3) == -1);
    CHECK(state == before);
    CHECK(reconcile::next_ledger(l2, {}, state, p3) == Ledger{});
}

TEST_CASE("a namespace that was not observed is left alone") {
    Desired d = reconcile::compile(takeover(), {});
    d.namespaces[reconcile::container_ns("gone")].links["eth1"] = reconcile::LinkSpec{};
    const Plan p = reconcile::make_plan(d, {{"", host1()}});
    CHECK(lines(p) == kTakeover);
}

TEST_CASE("IPv6 routes are compared as the kernel reports them (metric 0 is 1024, no scopes)") {
    Observed obs{{"", host1()}};
    obs.at("").addresses.insert({"ens33", pfx("2001:db8::10/64")});
    obs.at("").routes.insert(prefix_route("2001:db8::/64", "ens33"));
    model::Topology t;
    model::Route r;
    r.to = model::Prefix::default_route(6);
    r.via = ip("2001:db8::1");
    r.dev = "ens33";
    t.routes.push_back(r);
    model::Route onlink;
    onlink.to = pfx("2001:db8:5::/64");
    onlink.dev = "ens33";
    t.routes.push_back(onlink);
    const Desired d = reconcile::compile(t, {});
    const Plan p = reconcile::make_plan(d, obs);
    CHECK(lines(p) == std::vector<std::string>{
                          "ip -6 route add default via 2001:db8::1 dev ens33 metric 1024 proto 77",
                          "ip -6 route add 2001:db8:5::/64 dev ens33 metric 1024 proto 77",
                      });
    // what the kernel then reports converges
    obs.at("").routes.insert(route("::/0", "2001:db8::1", "ens33", 77, 1024));
    auto on = route("2001:db8:5::/64", nullptr, "ens33", 77, 1024);
    on.scope = 0;
    obs.at("").routes.insert(on);
    CHECK(reconcile::make_plan(d, obs).empty());
}
