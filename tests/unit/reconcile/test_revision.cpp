// Revisions: their JSON reads back, the store keeps the last N (the default
// 50 after 60 changes), origins are named, and the diff between two reads
// like diff -u.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "lab.hpp"
#include "reconcile/apply/revision.hpp"
#include "reconcile/apply/state_dir.hpp"
#include "tests/unit/temp_dir.hpp"

using netlab::reconcile::LinkKind;

using namespace netlab;
using namespace netlab::reconcile;
namespace fs = std::filesystem;

namespace {

Revision sample(const std::string& topology = "version: 1\n") {
    Revision r;
    r.number = 7;
    r.time = "2026-12-03T06:00:00.000Z";
    r.origin = "socket";
    r.by = {"netlabctl apply: pid 42 uid 0"};
    r.result = "applied";
    r.files = {"/etc/netlab/topology.yaml"};
    r.topology = topology;
    Step s;
    s.op = Step::Op::CreateLink;
    s.link.name = "br0";
    s.link.kind = LinkKind::Bridge;
    r.plan.steps.push_back(s);
    return r;
}

using netlab::test::TempDir;

}  // namespace

TEST_CASE("revision: JSON reads back; the summary leaves out topology and plan") {
    const Revision r = sample("version: 1\ninterfaces:\n  br0:\n    kind: bridge\n");
    const auto j = revision_json(r);
    CHECK(j["format"] == 1);
    const Revision back = revision_from(nlohmann::json::parse(j.dump()));
    CHECK(revision_json(back) == j);
    const auto s = revision_summary(r);
    CHECK(!s.contains("topology"));
    CHECK(!s.contains("plan"));
    CHECK(s["steps"] == 1);
    CHECK(s["origin"] == "socket");
}

TEST_CASE("revision: how a pending change settled is kept, and only once it has") {
    Revision r = sample();
    r.pending = true;
    CHECK(!revision_json(r).contains("settled"));
    r.settled = "rolled_back";
    r.settled_at = "2026-12-03T06:00:04.000Z";
    r.settled_by = "probe";
    const auto j = revision_json(r);
    CHECK(j["settled"] == "rolled_back");
    const Revision back = revision_from(nlohmann::json::parse(j.dump()));
    CHECK(back.settled == "rolled_back");
    CHECK(back.settled_at == r.settled_at);
    CHECK(back.settled_by == "probe");
    CHECK(revision_summary(back)["settled"] == "rolled_back");

    TempDir tmp;
    StateDirectory sd(tmp.path);
    Revision stored = sd.add_revision(sample(), 50);
    stored.settled = "confirmed";
    CHECK(sd.update_revision(stored));
    CHECK(sd.revision(stored.number)->settled == "confirmed");
    stored.number = 99;
    CHECK(!sd.update_revision(stored));  // not kept: nothing written
    CHECK(!sd.revision(99));
}

TEST_CASE("revision: another format, or a missing field, is refused") {
    auto j = revision_json(sample());
    j["format"] = 2;
    CHECK_THROWS(revision_from(j));
    j = revision_json(sample());
    j.erase("topology");
    CHECK_THROWS(revision_from(j));
}

TEST_CASE("revision: the oldest are dropped beyond keep") {
    CHECK(revisions_to_drop({1, 2, 3}, 5).empty());
    CHECK(revisions_to_drop({3, 1, 2}, 2) == std::vector<std::uint64_t>{1});
    std::vector<std::uint64_t> sixty;
    for (std::uint64_t n = 1; n <= 60; ++n) sixty.push_back(n);
    const auto drop = revisions_to_drop(sixty, kDefaultRevisions);
    REQUIRE(drop.size() == 10);
    CHECK(drop.front() == 1);
    CHECK(drop.back() == 10);
}

TEST_CASE("revision: origins") {
    CHECK(origin_of("files changed: topology.yaml") == "file");
    CHECK(origin_of("topology.d appeared") == "file");
    CHECK(origin_of("SIGHUP") == "reload");
    CHECK(origin_of("netlabctl reload", "systemd") == "reload");
    CHECK(origin_of("netlabctl reload") == "socket");
    CHECK(origin_of("netlabctl apply --confirm 1m", "ansible") == "ansible");
    CHECK(origin_of("netlabctl rollback --to 3") == "rollback");
    CHECK(origin_of("start") == "start");
    CHECK(origin_of("drift: br0 down") == "drift");
    CHECK(origin_of("containers: test1 started") == "container");
}

TEST_CASE("revision: unified diff") {
    CHECK(unified_diff("a\nb\n", "a\nb\n").empty());
    const std::string from = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n";
    const std::string to = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n12\n13\n";
    const std::vector<std::string> want = {"@@ -2,7 +2,7 @@", " 2", " 3", " 4", "-5", "+five", " 6", " 7", " 8",
                                           "@@ -10,3 +10,4 @@", " 10", " 11", " 12", "+13"};
    CHECK(unified_diff(from, to) == want);
    // From nothing: one hunk of additions.
    CHECK(unified_diff("", "x\n") == std::vector<std::string>{"@@ -0,0 +1,1 @@", "+x"});
}

TEST_CASE("revision: diff names both ends and lists the plans between") {
    Revision a = sample("version: 1\n"), b = sample("version: 1\nroutes: []\n");
    a.number = 1;
    b.number = 3;
    Revision mid = sample();
    mid.number = 2;
    const auto d = revision_diff(a, b, {mid, b});
    CHECK(d["from"] == 1);
    CHECK(d["to"] == 3);
    CHECK(d["topology"] == nlohmann::json::array({"@@ -1,1 +1,2 @@", " version: 1", "+routes: []"}));
    REQUIRE(d["plans"].size() == 2);
    CHECK(d["plans"][0]["revision"] == 2);
    CHECK(d["plans"][1]["steps"].size() == 1);
}

TEST_CASE("state dir: revisions are numbered, kept durably, rotated, and read back") {
    TempDir tmp;
    StateDirectory dir(tmp.path);
    CHECK(dir.revision_numbers().empty());
    for (int i = 0; i < 60; ++i) dir.add_revision(sample(), kDefaultRevisions);
    const auto kept = dir.revision_numbers();
    REQUIRE(kept.size() == 50);
    CHECK(kept.front() == 11);
    CHECK(kept.back() == 60);
    CHECK(!dir.revision(10));
    auto r = dir.revision(60);
    REQUIRE(r);
    CHECK(r->number == 60);
    CHECK(r->topology == "version: 1\n");
    // A smaller limit drops the oldest at the next change; numbers go on.
    CHECK(dir.add_revision(sample(), 3).number == 61);
    CHECK(dir.revision_numbers() == std::vector<std::uint64_t>{59, 60, 61});
    // A temporary left by a kill is no revision, and recovery drops it.
    std::ofstream(tmp.path / "revisions" / "0000000062.json.tmp.123") << "{";
    CHECK(dir.revision_numbers().size() == 3);
    dir.remove_temporaries();
    CHECK(!fs::exists(tmp.path / "revisions" / "0000000062.json.tmp.123"));
}
