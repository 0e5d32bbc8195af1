// Issue 17 in the planner: what an address carries (broadcast, label,
// flags, scope) when netlab adds it, moves it, gives it back or changes it.
#include <doctest/doctest.h>

#include "lab.hpp"
#include "reconcile/plan/compile.hpp"
#include "reconcile/plan/planner.hpp"
#include "reconcile/plan/rollback_target.hpp"

using namespace netlab;
using namespace netlab::test;
using reconcile::Observed;
using reconcile::Step;

namespace {

// host1 as a network manager leaves it: brd, a label, host scope flags, a lease.
Observed managed_host1(bool leased) {
    model::NetnsState s = host1();
    s.addresses.erase({"ens33", pfx("198.51.100.10/24")});
    model::AddressAttrs a;
    a.broadcast = ip("198.51.100.255");
    a.label = "ens33:lan";
    a.flags = 0x100;  // managetempaddr: a flag the kernel keeps as given
    if (leased) a.valid_lft = a.preferred_lft = 3600;
    s.addresses.insert({"ens33", pfx("198.51.100.10/24"), false, a});
    return {{"", s}};
}

const model::AddressState& addr_on(const Observed& o, const char* dev, const char* p) {
    return *o.at("").addresses.find({dev, pfx(p)});
}

}  // namespace

TEST_CASE("takeover: br0 gets ens33's address with its exact attributes; the rollback gives them back") {
    for (bool leased : {false, true}) {
        CAPTURE(leased);
        const Observed before = managed_host1(leased);
        const auto desired = reconcile::compile(takeover(), {});
        const auto plan = reconcile::make_plan(desired, before);
        REQUIRE(plan.refusals.empty());
        Observed after = before;
        for (const auto& st : plan.steps) reconcile::apply_step(after, st);
        const auto& moved = addr_on(after, "br0", "198.51.100.10/24");
        CHECK(moved.attrs.broadcast == ip("198.51.100.255"));
        CHECK(moved.attrs.label == "br0:lan");
        CHECK(moved.attrs.flags == 0x100);
        CHECK(!moved.attrs.leased());  // a lease moves as a static address
        bool said = false;
        for (const auto& st : plan.steps)
            if (st.op == Step::Op::AddAddress) {
                CHECK(st.describe() == "ip addr add 198.51.100.10/24 dev br0 brd 198.51.100.255 label br0:lan");
                said = st.why.find("DHCP lease") != std::string::npos;
            }
        CHECK(said == leased);

        // Rolling back restores ens33's address as it was (lifetimes too).
        const auto back = reconcile::make_plan(reconcile::restore_target(before, plan), after);
        for (const auto& st : back.steps) reconcile::apply_step(after, st);
        const auto& restored = addr_on(after, "ens33", "198.51.100.10/24");
        CHECK(restored.attrs == addr_on(before, "ens33", "198.51.100.10/24").attrs);
    }
}

TEST_CASE("new addresses get the default broadcast; broadcast: changes re-add the address and its routes") {
    model::Topology t = takeover();
    t.interfaces.at("br0").addresses->push_back(pfx("198.51.100.202/32"));
    Observed state{{"", host1()}};
    auto plan = reconcile::make_plan(reconcile::compile(t, {}), state);
    for (const auto& st : plan.steps) reconcile::apply_step(state, st);
    CHECK(!addr_on(state, "br0", "198.51.100.202/32").attrs.broadcast);
    CHECK(!addr_on(state, "br0", "198.51.100.10/24").attrs.broadcast);  // ens33 had none: carried as it was
    CHECK(reconcile::make_plan(reconcile::compile(t, {}), state).empty());

    t.interfaces.at("br0").broadcasts[pfx("198.51.100.10/24")] = ip("198.51.100.127");
    plan = reconcile::make_plan(reconcile::compile(t, {}), state);
    std::vector<std::string> got;
    for (const auto& st : plan.steps) got.push_back(st.describe());
    CHECK(got == std::vector<std::string>{
                     "ip addr del 198.51.100.10/24 dev br0",
                     "ip addr add 198.51.100.10/24 dev br0 brd 198.51.100.127",
                     "ip route add default via 198.51.100.1 dev br0 proto 77",
                 });
    for (const auto& st : plan.steps) reconcile::apply_step(state, st);
    CHECK(addr_on(state, "br0", "198.51.100.10/24").attrs.broadcast == ip("198.51.100.127"));
    CHECK(reconcile::make_plan(reconcile::compile(t, {}), state).empty());
}

TEST_CASE("a container's veth takes its bridge's MTU, both ends, and follows it in the same plan") {
    model::Topology t;
    model::Interface br;
    br.name = "br9";
    br.kind = model::InterfaceKind::Bridge;
    br.mtu = 9000;
    t.interfaces["br9"] = br;
    model::Container c;
    c.name = "c9";
    c.netns = *model::NetnsTarget::parse("netns:c9");
    model::ContainerInterface ci;
    ci.name = "eth1";
    ci.bridge = "br9";
    ci.addresses = {pfx("203.0.113.200/26")};
    c.interfaces["eth1"] = ci;
    t.containers["c9"] = c;
    const std::string hostEnd = reconcile::veth_host_name("c9", "eth1");
    Observed state{{"", host1()}, {reconcile::container_ns("c9"), {}}};
    auto mtus = [&](const Observed& o) {
        return std::vector<std::uint32_t>{o.at("").links.at("br9").mtu, o.at("").links.at(hostEnd).mtu,
                                          o.at(reconcile::container_ns("c9")).links.at("eth1").mtu};
    };
    auto plan = reconcile::make_plan(reconcile::compile(t, {}), state);
    REQUIRE(plan.refusals.empty());
    for (const auto& st : plan.steps) reconcile::apply_step(state, st);
    CHECK(mtus(state) == std::vector<std::uint32_t>{9000, 9000, 9000});
    CHECK(reconcile::make_plan(reconcile::compile(t, {}), state).empty());

    t.interfaces.at("br9").mtu = 4000;
    plan = reconcile::make_plan(reconcile::compile(t, {}), state);
    CHECK(plan.steps.size() == 3);
    for (const auto& st : plan.steps) reconcile::apply_step(state, st);
    CHECK(mtus(state) == std::vector<std::uint32_t>{4000, 4000, 4000});

    // `mtu:` on the interface wins over the bridge's.
    t.containers.at("c9").interfaces.at("eth1").mtu = 1500;
    plan = reconcile::make_plan(reconcile::compile(t, {}), state);
    for (const auto& st : plan.steps) reconcile::apply_step(state, st);
    CHECK(mtus(state) == std::vector<std::uint32_t>{4000, 1500, 1500});
}

TEST_CASE("on-link gateway: the host route to it first, then the default; removed in reverse") {
    model::Topology t;
    model::Interface br;
    br.name = "br0";
    br.kind = model::InterfaceKind::Bridge;
    t.interfaces["br0"] = br;
    model::Container c;
    c.name = "c2";
    c.netns = *model::NetnsTarget::parse("netns:c2");
    model::ContainerInterface ci;
    ci.name = "eth1";
    ci.bridge = "br0";
    ci.addresses = {pfx("198.51.100.20/32")};
    ci.gateway = ip("198.51.100.1");
    ci.gateway_on_link = true;
    c.interfaces["eth1"] = ci;
    t.containers["c2"] = c;
    const auto ns = reconcile::container_ns("c2");
    Observed state{{"", host1()}, {ns, {}}};
    auto routes = [&](const reconcile::Plan& p) {
        std::vector<std::string> out;
        for (const auto& st : p.steps)
            if (st.op == Step::Op::AddRoute || st.op == Step::Op::DelRoute) out.push_back(st.describe());
        return out;
    };
    auto plan = reconcile::make_plan(reconcile::compile(t, {}), state);
    CHECK(routes(plan) == std::vector<std::string>{
                              "[container:c2] ip route add 198.51.100.1/32 dev eth1 scope link proto 77",
                              "[container:c2] ip route add default via 198.51.100.1 dev eth1 proto 77",
                          });
    for (const auto& st : plan.steps) reconcile::apply_step(state, st);  // the kernel model checks on-link
    CHECK(reconcile::make_plan(reconcile::compile(t, {}), state).empty());

    t.containers.at("c2").interfaces.at("eth1").gateway.reset();
    t.containers.at("c2").interfaces.at("eth1").gateway_on_link = false;
    plan = reconcile::make_plan(reconcile::compile(t, {}), state);
    CHECK(routes(plan) == std::vector<std::string>{
                              "[container:c2] ip route del default via 198.51.100.1 dev eth1 proto 77",
                              "[container:c2] ip route del 198.51.100.1/32 dev eth1 scope link proto 77",
                          });
}
