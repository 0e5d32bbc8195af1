// Announcements after an apply: the ARP and NA frames byte by byte, which
// addresses a plan announces, and that the engine announces only what it
// applied and kept.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "lab.hpp"
#include "reconcile/plan/announcements.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/memory_kernel.hpp"
#include "reconcile/nl/announce.hpp"
#include "reconcile/nl/deferred_close.hpp"
#include "tests/unit/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace netlab;
using namespace netlab::reconcile;
using netlab::test::ip;
using netlab::test::mac;
using netlab::test::pfx;

namespace {

using Bytes = std::vector<std::uint8_t>;

class RecordingKernel : public MemoryKernel {
public:
    using MemoryKernel::MemoryKernel;
    std::vector<std::string> announce(const std::vector<Announcement>& what) override {
        told.insert(told.end(), what.begin(), what.end());
        return std::vector<std::string>(what.size());
    }
    std::vector<Announcement> told;
};

using netlab::test::TempDir;

model::Loaded takeover_config() {
    model::Loaded c;
    c.topology = test::takeover();
    model::Interface ens;
    ens.name = "ens33";
    ens.addresses = std::vector<model::Prefix>{};
    c.topology.interfaces["ens33"] = ens;
    return c;
}

}  // namespace

TEST_CASE("announce: the ARP announcement is a request with sender == target and no target MAC") {
    const Bytes want{0x00, 0x01,  // Ethernet
                     0x08, 0x00,  // IPv4
                     6,    4,     0x00, 0x01,  // request
                     0x02, 0x00, 0xc6, 0x33, 0x64, 0x0a,  // sender MAC
                     198,  51,   100,  20,                // sender IP
                     0,    0,    0,    0,    0,    0,     // target MAC
                     198,  51,   100,  20};               // target IP
    CHECK(nl::arp_announcement(mac("02:00:c6:33:64:0a"), ip("198.51.100.20")) == want);
}

TEST_CASE("announce: the unsolicited NA has Override, the target and its link-layer address") {
    Bytes want{136, 0, 0, 0, 0x20, 0, 0, 0};
    const auto target = ip("2001:db8::20");
    want.insert(want.end(), target.bytes.begin(), target.bytes.end());
    const Bytes tlla{2, 1, 0x02, 0x00, 0xc6, 0x33, 0x64, 0x0a};
    want.insert(want.end(), tlla.begin(), tlla.end());
    CHECK(nl::neighbour_advertisement(mac("02:00:c6:33:64:0a"), target, false) == want);
    want[4] = 0xa0;  // Router too
    CHECK(nl::neighbour_advertisement(mac("02:00:c6:33:64:0a"), target, true) == want);
}

TEST_CASE("announce: added addresses and every address of a link whose MAC changed, once each") {
    model::NetnsState after;
    after.links["br0"] = test::nic("br0", 4, "02:00:00:00:00:04", "bridge");
    after.links["eth1"] = test::nic("eth1", 5, "02:00:00:00:00:05", "veth");
    after.links["vh1"] = test::nic("vh1", 6, "02:00:00:00:00:06", "veth");
    after.links["vh1"].master = "br0";  // a bridge with a port: neighbours to tell
    after.addresses.insert({"br0", pfx("198.51.100.10/24")});
    after.addresses.insert({"br0", pfx("2001:db8::10/64")});
    after.addresses.insert({"br0", pfx("fe80::1/64")});
    after.addresses.insert({"eth1", pfx("198.51.100.30/24")});
    const Observed state{{"", after}};
    Plan plan;
    Step add;
    add.op = Step::Op::AddAddress;
    add.address = {"br0", pfx("198.51.100.10/24")};
    plan.steps.push_back(add);
    Step gone = add;  // added, then taken away again by a later step: not there after
    gone.address = {"br0", pfx("198.51.100.99/24")};
    plan.steps.push_back(gone);
    Step mac_change;
    mac_change.op = Step::Op::SetLink;
    mac_change.link.name = "br0";
    mac_change.link.mac = mac("02:00:00:00:00:04");
    plan.steps.push_back(mac_change);
    Step mtu_change;
    mtu_change.op = Step::Op::SetLink;
    mtu_change.link.name = "eth1";
    mtu_change.link.mtu = 9000;
    plan.steps.push_back(mtu_change);

    const auto got = announcements(plan, state);
    REQUIRE(got.size() == 2);  // not fe80::1, not eth1's (its MAC did not change), 198.51.100.10 once
    CHECK(got[0].addr == ip("198.51.100.10"));
    CHECK(got[1].addr == ip("2001:db8::10"));
    for (const auto& a : got) {
        CHECK(a.dev == "br0");
        CHECK(a.ifindex == 4);
        CHECK(a.mac == mac("02:00:00:00:00:04"));
    }
}

TEST_CASE("announce: nothing on a bridge without a port; any port counts, one netlab does not name too") {
    model::NetnsState after;
    after.links["br0"] = test::nic("br0", 4, "02:00:00:00:00:04", "bridge");
    after.links["br1"] = test::nic("br1", 7, "02:00:00:00:00:07", "bridge");
    after.links["tap0"] = test::nic("tap0", 8, "02:00:00:00:00:08", "tun");
    after.links["eth1"] = test::nic("eth1", 5, "02:00:00:00:00:05", "veth");
    after.addresses.insert({"br0", pfx("198.51.100.10/24")});
    after.addresses.insert({"br0", pfx("2001:db8::10/64")});
    after.addresses.insert({"br1", pfx("203.0.113.1/24")});
    after.addresses.insert({"eth1", pfx("198.51.100.30/24")});
    Plan plan;  // every address added (announcements() sorts what it returns)
    for (const auto& a : after.addresses) {
        Step add;
        add.op = Step::Op::AddAddress;
        add.address = a;
        plan.steps.push_back(add);
    }
    Step mac_change;  // a new MAC on a bridge without a port: nobody holds the old one
    mac_change.op = Step::Op::SetLink;
    mac_change.link.name = "br0";
    mac_change.link.mac = mac("02:00:00:00:00:04");
    plan.steps.push_back(mac_change);

    // br0 and br1 have no port: only the veth's address is announced.
    auto got = announcements(plan, Observed{{"", after}});
    REQUIRE(got.size() == 1);
    CHECK(got[0].dev == "eth1");
    CHECK(got[0].addr == ip("198.51.100.30"));

    // A port on br1 the topology does not name (a VM's tap): br1's address is announced.
    after.links["tap0"].master = "br1";
    got = announcements(plan, Observed{{"", after}});
    REQUIRE(got.size() == 2);
    CHECK(got[0].dev == "br1");
    CHECK(got[0].addr == ip("203.0.113.1"));
    CHECK(got[1].dev == "eth1");

    // The same bridge in another namespace is another bridge: its ports do not count here.
    model::NetnsState other;
    other.links["vh9"] = test::nic("vh9", 9, "02:00:00:00:00:09", "veth");
    other.links["vh9"].master = "br0";
    got = announcements(plan, Observed{{"", after}, {"netns:c9", other}});
    REQUIRE(got.size() == 2);
    CHECK(got[0].dev == "br1");
}

TEST_CASE("announce: the engine announces a verified apply, unless the topology says announce: false") {
    for (bool on : {true, false}) {
        CAPTURE(on);
        TempDir dir;
        RecordingKernel k(Observed{{"", test::host1()}});
        auto config = takeover_config();
        config.topology.announce = on;
        Outcome o = Engine(k, Options{dir.path, {}}).apply(config);
        REQUIRE(o.status == Outcome::Status::Applied);
        CHECK(o.to_json()["announced"] == o.announced);
        if (!on) {
            CHECK(k.told.empty());
            CHECK(o.announced == 0);
            continue;
        }
        // netlabctl: every round before apply() returns, the same each time.
        REQUIRE(k.told.size() == kAnnounceRounds);
        CHECK(o.announced == 1);
        CHECK(o.announce_later.empty());
        CHECK(k.told[0].dev == "br0");
        CHECK(k.told[0].addr == ip("198.51.100.10"));
        CHECK(k.told[0].mac == k.state[""].links.at("br0").mac);
        for (const auto& a : k.told) CHECK(a == k.told[0]);
    }
}

TEST_CASE("announce: an address no round sent is reported with the last round's reason") {
    // A kernel that refuses the first `refusals` rounds, saying why.
    class Refusing : public RecordingKernel {
    public:
        using RecordingKernel::RecordingKernel;
        int refusals = 0;
        std::vector<std::string> announce(const std::vector<Announcement>& what) override {
            RecordingKernel::announce(what);
            if (refusals == 0) return std::vector<std::string>(what.size());
            --refusals;
            return std::vector<std::string>(what.size(), "send: No buffer space available");
        }
    };
    for (int refusals : {1, kAnnounceRounds}) {
        CAPTURE(refusals);
        TempDir dir;
        Refusing k(Observed{{"", test::host1()}});
        k.refusals = refusals;
        Outcome o = Engine(k, Options{dir.path, {}}).apply(takeover_config());
        REQUIRE(o.status == Outcome::Status::Applied);
        REQUIRE(k.told.size() == kAnnounceRounds);
        const auto j = o.to_json();
        if (refusals < kAnnounceRounds) {
            // A later round sent it: announced, nothing to report.
            CHECK(o.announced == 1);
            CHECK(o.not_announced.empty());
            CHECK(j["not_announced"].empty());
            continue;
        }
        CHECK(o.announced == 0);
        REQUIRE(o.not_announced.size() == 1);
        CHECK(o.not_announced[0].what == k.told[0]);
        REQUIRE(j["not_announced"].size() == 1);
        CHECK(j["not_announced"][0]["ns"] == "");
        CHECK(j["not_announced"][0]["link"] == "br0");
        CHECK(j["not_announced"][0]["address"] == "198.51.100.10");
        CHECK(j["not_announced"][0]["reason"] == "send: No buffer space available");
    }
}

TEST_CASE("announce: with announce_later the engine sends one round and hands back the rest") {
    TempDir dir;
    RecordingKernel k(Observed{{"", test::host1()}});
    Options opts{dir.path, {}};
    opts.announce_later = true;
    Outcome o = Engine(k, opts).apply(takeover_config());
    REQUIRE(o.status == Outcome::Status::Applied);
    REQUIRE(k.told.size() == 1);
    CHECK(o.announced == 1);
    CHECK(o.announce_later.rounds == kAnnounceRounds - 1);
    CHECK(o.announce_later.what == k.told);
}

TEST_CASE("announce: a mass attach is announced once, a small change repeated") {
    std::vector<Announcement> few(kAnnounceRepeatMax), many(kAnnounceRepeatMax + 1);
    CHECK(repeats_of(few).rounds == kAnnounceRounds - 1);
    CHECK(repeats_of(few).what.size() == kAnnounceRepeatMax);
    CHECK(repeats_of(many).empty());
    CHECK(repeats_of({}).empty());
}

TEST_CASE("announce: a rolled-back apply announces nothing") {
    TempDir dir;
    RecordingKernel k(Observed{{"", test::host1()}});
    k.fail_at = 3;
    Outcome o = Engine(k, Options{dir.path, {}}).apply(takeover_config());
    CHECK(o.status == Outcome::Status::RolledBack);
    CHECK(k.told.empty());
    CHECK(o.announced == 0);
}

TEST_CASE("announce: DeferredClose closes every fd it is given, by wait() or its end at the latest") {
    auto pipes = [] {
        std::vector<int> fds;
        for (int i = 0; i < 40; ++i) {
            int p[2];
            REQUIRE(::pipe(p) == 0);
            fds.insert(fds.end(), {p[0], p[1]});
        }
        return fds;
    };
    auto all_closed = [](const std::vector<int>& fds) {
        for (int fd : fds)
            if (::fcntl(fd, F_GETFD) != -1) return false;
        return true;
    };
    const auto first = pipes();
    {
        nl::DeferredClose closer;
        closer.close_later(first);
        closer.wait();
        CHECK(all_closed(first));
        closer.close_later({});
    }
    const auto second = pipes();
    {
        nl::DeferredClose closer;
        closer.close_later(second);
        closer.close_later({});  // joins what has ended
    }
    CHECK(all_closed(second));
}
