// DirtySet: when netlabd may answer a reload without observing anything.
#include <doctest/doctest.h>

#include "reconcile/watch/dirty.hpp"

using netlab::reconcile::Baseline;
using netlab::reconcile::DirtySet;

namespace {

const std::string kInput = "topology.yaml\0bytes";

Baseline baseline() {
    // No desired state: every event counts (test_container_events.cpp
    // judges them against one).
    return Baseline{kInput, {{"a", "inode 1"}, {"b", "docker"}}, {{3, "container:a"}, {7, "container:b"}}, nullptr};
}

const netlab::reconcile::KernelEvent kEvent{};

const std::map<std::string, std::string> kTargets = {{"a", "inode 1"}, {"b", "docker"}};

// A verified job that wrote nothing and saw nothing.
DirtySet cleaned() {
    DirtySet d;
    d.job_started();
    d.clean(baseline(), {});
    return d;
}

}  // namespace

TEST_CASE("dirty: nothing to compare with until a job verifies") {
    DirtySet d;
    CHECK(d.why_full(kInput, kTargets).has_value());
    d.event(std::nullopt, kEvent);
    d.event(3, kEvent);
    CHECK(d.dirty().empty());
    d.job_started();
    d.clean(baseline(), {});
    CHECK_FALSE(d.why_full(kInput, kTargets).has_value());
}

TEST_CASE("dirty: identical input and no event since: fast") {
    DirtySet d = cleaned();
    CHECK_FALSE(d.why_full(kInput, kTargets).has_value());
    // Asking does not change anything.
    CHECK_FALSE(d.why_full(kInput, kTargets).has_value());
}

TEST_CASE("dirty: the input or a target identity differs: full") {
    DirtySet d = cleaned();
    CHECK(d.why_full(kInput + " ", kTargets).has_value());
    auto t = kTargets;
    t["a"] = "inode 2";
    auto why = d.why_full(kInput, t);
    REQUIRE(why.has_value());
    CHECK(why->find("container a") != std::string::npos);
    t = kTargets;
    t["c"] = "inode 9";
    CHECK(d.why_full(kInput, t).has_value());
}

TEST_CASE("dirty: events after the job mark their namespace; unknown nsids are ignored") {
    DirtySet d = cleaned();
    d.event(42, kEvent);  // someone else's namespace
    d.nsid_deleted(42);
    d.nsid_added(43);
    CHECK(d.dirty().empty());
    CHECK_FALSE(d.why_full(kInput, kTargets).has_value());

    d.event(7, kEvent);
    REQUIRE(d.dirty().size() == 1);
    CHECK(d.dirty().begin()->first == "container:b");
    auto why = d.why_full(kInput, kTargets);
    REQUIRE(why.has_value());
    CHECK(why->find("container:b") != std::string::npos);

    DirtySet h = cleaned();
    h.event(std::nullopt, kEvent);
    CHECK(h.dirty().contains(""));
}

TEST_CASE("dirty: one of ours dies or gets its nsid again") {
    DirtySet d = cleaned();
    d.nsid_deleted(3);
    CHECK(d.dirty().contains("container:a"));
    DirtySet e = cleaned();
    e.nsid_added(7);
    CHECK(e.dirty().contains("container:b"));
}

TEST_CASE("dirty: all() makes everything dirty until the next verified job") {
    DirtySet d = cleaned();
    d.all("events lost");
    REQUIRE(d.why_full(kInput, kTargets).has_value());
    CHECK(*d.why_full(kInput, kTargets) == "events lost");
    d.job_started();
    d.clean(baseline(), {});
    CHECK_FALSE(d.why_full(kInput, kTargets).has_value());
}

TEST_CASE("dirty: events in a job are its echo where it wrote, someone else's elsewhere") {
    DirtySet d = cleaned();
    d.job_started();
    d.event(std::nullopt, kEvent);  // host: written
    d.event(3, kEvent);             // container a: written
    d.event(7, kEvent);             // container b: not written
    d.event(99, kEvent);            // not ours
    d.clean(baseline(), {"", "container:a"});
    CHECK(d.dirty().size() == 1);
    CHECK(d.dirty().contains("container:b"));
}

TEST_CASE("dirty: a job that wrote nothing: every event in it counts") {
    DirtySet d = cleaned();
    d.job_started();
    d.event(std::nullopt, kEvent);
    d.clean(baseline(), {});
    CHECK(d.dirty().contains(""));

    DirtySet p = cleaned();
    p.job_started();
    p.event(3, kEvent);
    p.job_ended_without_writes();
    CHECK(p.dirty().contains("container:a"));
}

TEST_CASE("dirty: all() and deaths in a job survive its end; its own nsids do not count") {
    DirtySet d = cleaned();
    d.job_started();
    d.nsid_added(3);  // attach gives nsids
    d.all("a container event: docker start");
    d.clean(baseline(), {});
    CHECK(d.all_dirty().has_value());

    DirtySet e = cleaned();
    e.job_started();
    e.nsid_deleted(7);
    e.clean(baseline(), {"container:b"});
    CHECK(e.dirty().contains("container:b"));
}

TEST_CASE("dirty: forget: no fast path until the next verified job") {
    DirtySet d = cleaned();
    d.job_started();
    d.forget("the last reconcile ended rolled-back");
    auto why = d.why_full(kInput, kTargets);
    REQUIRE(why.has_value());
    CHECK(*why == "the last reconcile ended rolled-back");
    CHECK_FALSE(d.has_baseline());
}
