// Step::describe() and Step::to_json(): what an admin reads.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "lab.hpp"
#include "reconcile/plan/plan.hpp"

using netlab::reconcile::LinkKind;

using namespace netlab;
using namespace netlab::test;
using reconcile::Step;

namespace {

Step link_step(Step::Op op, const char* name, const reconcile::NsId& ns = "") {
    Step s;
    s.op = op;
    s.ns = ns;
    s.link.name = name;
    return s;
}

}  // namespace

TEST_CASE("describe() reads like ip(8)") {
    std::vector<std::pair<Step, std::string>> table;

    Step br = link_step(Step::Op::CreateLink, "br0");
    br.link.kind = LinkKind::Bridge;
    br.link.mac = mac("02:00:00:00:00:01");
    br.link.stp = false;
    table.push_back({br, "ip link add br0 address 02:00:00:00:00:01 type bridge stp_state 0 (netlab)"});

    Step mv = link_step(Step::Op::CreateLink, "mv0");
    mv.link.kind = LinkKind::Macvlan;
    mv.link.parent = "ens33";
    mv.link.mode = model::MacvlanMode::Private;
    mv.link.mtu = 1400;
    table.push_back({mv, "ip link add link ens33 name mv0 mtu 1400 type macvlan mode private (netlab)"});

    Step cmv = link_step(Step::Op::CreateLink, "eth1", "container:test1");
    cmv.link.kind = LinkKind::Macvlan;
    cmv.link.parent = "ens33";
    table.push_back({cmv, "[container:test1] ip link add link ens33 name eth1 netns container:test1 (sent from host) type macvlan mode bridge (netlab)"});

    Step veth = link_step(Step::Op::CreateLink, "nl0a1b2c3d");
    veth.link.kind = LinkKind::Veth;
    veth.link.peer_name = "eth1";
    veth.link.peer_ns = "container:test2";
    veth.link.master = "br0";
    table.push_back({veth, "ip link add nl0a1b2c3d master br0 type veth peer name eth1 netns container:test2 (netlab)"});

    Step enslave = link_step(Step::Op::SetLink, "ens33");
    enslave.link.master = "br0";
    enslave.link.up = true;
    table.push_back({enslave, "ip link set ens33 master br0 up"});

    Step promote = link_step(Step::Op::SetLink, "eth1", "container:c9");
    promote.link.promote_secondaries = true;
    table.push_back({promote, "[container:c9] sysctl -w net.ipv4.conf.eth1.promote_secondaries=1"});

    Step upAndBack = link_step(Step::Op::SetLink, "br0");
    upAndBack.link.up = true;
    upAndBack.link.promote_secondaries = false;
    table.push_back({upAndBack, "ip link set br0 up; sysctl -w net.ipv4.conf.br0.promote_secondaries=0"});

    Step release = link_step(Step::Op::SetLink, "ens33");
    release.link.master = "";
    release.link.promisc = false;
    table.push_back({release, "ip link set ens33 promisc off nomaster"});

    Step stp = link_step(Step::Op::SetLink, "br0");
    stp.link.stp = true;
    stp.link.up = true;
    table.push_back({stp, "ip link set br0 up type bridge stp_state 1"});

    table.push_back({link_step(Step::Op::DeleteLink, "br0"), "ip link del br0"});
    table.push_back({link_step(Step::Op::DeleteLink, "eth1", "container:c"), "[container:c] ip link del eth1"});

    Step addr;
    addr.op = Step::Op::AddAddress;
    addr.address = {"br0", pfx("198.51.100.10/24")};
    table.push_back({addr, "ip addr add 198.51.100.10/24 dev br0"});
    addr.op = Step::Op::DelAddress;
    addr.address = {"ens33", pfx("2001:db8::10/64")};
    table.push_back({addr, "ip addr del 2001:db8::10/64 dev ens33"});

    Step r;
    r.op = Step::Op::ReplaceRoute;
    r.route = route("0.0.0.0/0", "198.51.100.1", "br0", 77);
    table.push_back({r, "ip route replace default via 198.51.100.1 dev br0 proto 77"});
    r.op = Step::Op::AddRoute;
    r.route = route("::/0", "2001:db8::1", "br0", 77, 1024);
    table.push_back({r, "ip -6 route add default via 2001:db8::1 dev br0 metric 1024 proto 77"});
    r.op = Step::Op::DelRoute;
    r.ns = "container:x";
    r.route = route("203.0.113.5/32", nullptr, "nl-mynet", 77);
    table.push_back({r, "[container:x] ip route del 203.0.113.5/32 dev nl-mynet scope link proto 77"});

    for (const auto& [step, text] : table) CHECK(step.describe() == text);
}

TEST_CASE("to_json() carries op, ns, object, fields, why and text") {
    Step s = link_step(Step::Op::SetLink, "ens33");
    s.link.master = "br0";
    s.why = "port of br0";
    auto j = s.to_json();
    CHECK(j["op"] == "set-link");
    CHECK(j["ns"] == "");
    CHECK(j["object"] == "ens33");
    CHECK(j["master"] == "br0");
    CHECK_FALSE(j.contains("up"));
    CHECK(j["why"] == "port of br0");
    CHECK(j["text"] == "ip link set ens33 master br0");

    Step r;
    r.op = Step::Op::ReplaceRoute;
    r.ns = "container:t";
    r.route = route("0.0.0.0/0", "198.51.100.1", "eth1", 77);
    j = r.to_json();
    CHECK(j["op"] == "replace-route");
    CHECK(j["object"] == "default");
    CHECK(j["via"] == "198.51.100.1");
    CHECK(j["dev"] == "eth1");
    CHECK(j["protocol"] == 77);
    CHECK(j["text"] == "[container:t] ip route replace default via 198.51.100.1 dev eth1 proto 77");

    Step a;
    a.op = Step::Op::AddAddress;
    a.address = {"br0", pfx("198.51.100.10/24")};
    j = a.to_json();
    CHECK(j["object"] == "198.51.100.10/24 dev br0");
    CHECK(j["address"] == "198.51.100.10/24");
}

TEST_CASE("to_string(Op) is stable") {
    CHECK(std::string(reconcile::to_string(Step::Op::ReplaceRoute)) == "replace-route");
    CHECK(std::string(reconcile::to_string(Step::Op::CreateLink)) == "create-link");
}
