// FastReload: when an apply may skip the reconcile, why not, and what a
// reconcile may take from memory (Known).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "reconcile/engine.hpp"
#include "reconcile/watch/fast_reload.hpp"

using netlab::reconcile::Baseline;
using netlab::reconcile::FastReload;
using netlab::reconcile::JobKind;
using netlab::reconcile::Known;
using netlab::reconcile::Observed;
using netlab::reconcile::Outcome;
namespace model = netlab::model;

namespace {

const std::string kBytes = "topology.yaml\0bytes";

// Containers a (netns:a), b (docker:b) and c (netns:c).
model::Topology topology() {
    model::Topology t;
    auto add = [&](const std::string& name, model::NetnsTarget::Kind kind) {
        model::Container c;
        c.name = name;
        c.netns = model::NetnsTarget{kind, name};
        t.containers[name] = c;
    };
    add("a", model::NetnsTarget::Kind::Netns);
    add("b", model::NetnsTarget::Kind::Docker);
    add("c", model::NetnsTarget::Kind::Netns);
    return t;
}

const std::map<std::string, std::string> kTargets = {{"a", "inode 1"}, {"b", "docker"}, {"c", "inode 3"}};

Baseline baseline() {
    return Baseline{kBytes, kTargets, {{3, "container:a"}, {7, "container:b"}, {9, "container:c"}}, nullptr};
}

std::shared_ptr<Observed> state() {
    auto s = std::make_shared<Observed>();
    for (const char* ns : {"", "container:a", "container:b", "container:c"}) (*s)[ns];
    return s;
}

Outcome verified(Outcome::Status status = Outcome::Status::Converged) {
    Outcome o;
    o.status = status;
    o.state = state();
    return o;
}

FastReload::JobEnd apply_end(const Outcome& o) {
    FastReload::JobEnd e;
    e.kind = JobKind::Apply;
    e.outcome = &o;
    e.containers = {{"a", "attached"}, {"b", "attached"}, {"c", "attached"}};
    e.containers_in_force = 3;
    e.baseline = baseline();
    return e;
}

struct Lab {
    model::Topology in_force = topology();
    FastReload::Hearing hearing{&in_force, std::nullopt, true};
    FastReload::Input input{kBytes, kTargets};
    int reads = 0;
    FastReload f;

    FastReload::Decision ask(bool full = false, bool confirm = false) {
        return f.before_apply(full, confirm, hearing, [&] {
            ++reads;
            return input;
        });
    }
    // A verified apply that wrote nothing: the next one may be fast.
    void settle(const Outcome& o) {
        f.job_started(JobKind::Apply);
        f.job_ended(apply_end(o));
    }
    void settle() { settle(verified()); }
};

}  // namespace

TEST_CASE("fast reload: nothing changed since a verified apply: fast, and counted") {
    Lab l;
    CHECK(l.ask().full_because == "no verified reconcile to compare with yet");
    l.reads = 0;
    l.settle();
    auto d = l.ask();
    CHECK(d.fast);
    CHECK(d.full_because.empty());
    CHECK(l.reads == 1);
    auto j = l.f.status_json(true);
    CHECK(j["fast"] == 1);
    CHECK(j["full"] == 1);
    CHECK(j["baseline"] == true);
    CHECK(j["containers_heard"] == true);
    CHECK(j["last_full_because"] == "");
}

TEST_CASE("fast reload: what is asked or not heard goes full without reading the input") {
    Lab l;
    l.settle();
    CHECK(l.ask(true).full_because == "asked for (--full)");
    auto c = l.ask(false, true);
    CHECK_FALSE(c.fast);
    CHECK(c.full_because.empty());  // apply --confirm: never asked
    l.hearing.deaf = "the event socket is down";
    CHECK(l.ask().full_because == "the event socket is down");
    l.hearing.deaf.reset();
    l.hearing.docker_followed = false;
    CHECK(l.ask().full_because == "the Docker events are not followed right now");
    l.hearing.in_force = nullptr;
    CHECK(l.ask().full_because == "nothing in force yet");
    CHECK(l.reads == 0);
    CHECK(l.f.status_json(true)["fast"] == 0);
}

TEST_CASE("fast reload: files, the ledger or a target changed: full") {
    Lab l;
    l.settle();
    l.input.bytes += " ";
    CHECK(l.ask().full_because == "the topology files or the ledger changed");
    l.input = {kBytes, kTargets};
    l.input.targets["a"] = "inode 2";
    CHECK(l.ask().full_because.find("container a: its namespace is not the one reconciled") == 0);
}

TEST_CASE("fast reload: an apply that did not verify, or left something unheard, is not remembered") {
    using S = Outcome::Status;
    struct Case {
        const char* name;
        std::function<void(Outcome&, FastReload::JobEnd&)> make;
        std::string why;
    };
    const std::vector<Case> cases = {
        {"rolled back", [](Outcome& o, auto&) { o.status = S::RolledBack; }, "the last reconcile ended rolled_back"},
        {"rejected", [](Outcome& o, auto&) { o.status = S::Rejected; }, "the last reconcile ended rejected"},
        {"pending", [](Outcome& o, auto&) { o.pending.emplace(); }, "a commit-confirmed change is pending"},
        {"recovered", [](Outcome&, auto& e) { e.recovered = true; },
         "the last reconcile recovered an interrupted transaction first"},
        {"deaf", [](Outcome&, auto& e) { e.deaf = "not watching: x"; }, "not watching: x"},
        {"container", [](Outcome&, auto& e) { e.containers[1].second = "absent"; }, "container b is absent"},
        {"nsid", [](Outcome&, auto& e) { e.baseline.nsids.erase(9); },
         "a container namespace has no nsid, so its events are not heard"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        Lab l;
        Outcome o = verified();
        auto end = apply_end(o);
        c.make(o, end);
        l.f.job_started(JobKind::Apply);
        auto why = l.f.job_ended(std::move(end));
        REQUIRE(why.has_value());
        CHECK(*why == c.why);
        auto d = l.ask();
        CHECK(d.full_because == c.why);
        CHECK(d.known.state.empty());
        CHECK(l.f.status_json(true)["last_full_because"] == "");
    }
}

TEST_CASE("fast reload: a crash recovery or a rollback forgets; a probe or a plan does not") {
    Lab l;
    l.settle();
    FastReload::JobEnd e;
    e.kind = JobKind::Recover;
    e.journal_found = true;
    l.f.job_started(JobKind::Recover);
    CHECK_FALSE(l.f.job_ended(e).has_value());
    CHECK(l.ask().full_because == "a crash recovery ran");

    Lab r;
    r.settle();
    e.kind = JobKind::Rollback;
    r.f.job_started(JobKind::Rollback);
    r.f.job_ended(e);
    CHECK(r.ask().full_because == "a commit-confirmed change was rolled back");

    for (JobKind k : {JobKind::Probe, JobKind::Plan, JobKind::Confirm}) {
        Lab p;
        p.settle();
        e.kind = k;
        p.f.job_started(k);
        p.f.job_ended(e);
        CHECK(p.ask().fast);
    }
    Lab n;  // a recovery that found no journal
    n.settle();
    e.kind = JobKind::Recover;
    e.journal_found = false;
    n.f.job_started(JobKind::Recover);
    n.f.job_ended(e);
    CHECK(n.ask().fast);
}

TEST_CASE("fast reload: lost events and container events make everything stale") {
    Lab l;
    l.settle();
    netlab::reconcile::KernelEvents batch;
    batch.lost = true;
    l.f.on_kernel_events(batch);
    CHECK(l.ask().full_because == "kernel events were lost (ENOBUFS)");
    CHECK(l.f.status_json(true)["all_dirty"] == "kernel events were lost (ENOBUFS)");

    Lab c;
    c.settle();
    c.f.all_stale("a container event: docker start b");
    auto d = c.ask();
    CHECK(d.full_because == "a container event: docker start b");
    CHECK(d.known.state.empty());
}

TEST_CASE("fast reload: a full reconcile takes the clean namespaces from memory, once") {
    Lab l;
    l.settle();
    netlab::reconcile::KernelEvents batch;
    batch.peers.push_back({9, {}});  // container c: any event counts without a desired state
    l.f.on_kernel_events(batch);
    auto d = l.ask();
    CHECK(d.full_because.find("container:c") != std::string::npos);
    // The host and a (same inode); not b (docker: followed by its events),
    // not c (dirty).
    CHECK(d.known.state.size() == 2);
    CHECK(d.known.state.contains(""));
    CHECK(d.known.state.contains("container:a"));
    CHECK(d.known.targets == std::map<std::string, std::string>{{"container:a", "netns:a"}});
    // Moved out: a second ask has nothing left to hand.
    CHECK(l.ask().known.state.empty());
}

TEST_CASE("fast reload: a changed target, or a job that may write, leaves nothing to take") {
    Lab l;
    l.settle();
    l.input.bytes += " ";
    l.input.targets["a"] = "inode 2";
    auto d = l.ask();
    CHECK_FALSE(d.known.state.contains("container:a"));
    CHECK(d.known.state.contains(""));

    Lab p;  // a plan keeps the memory; an apply (or rollback) drops it
    p.settle();
    p.input.bytes += " ";
    p.f.job_started(JobKind::Plan);
    CHECK_FALSE(p.ask().known.state.empty());
    Lab w;
    w.settle();
    w.input.bytes += " ";
    w.f.job_started(JobKind::Apply);
    CHECK(w.ask().known.state.empty());
}

TEST_CASE("fast reload: the namespaces an applied plan wrote into are not dirtied by its echo") {
    Lab l;
    l.settle();
    Outcome o = verified(Outcome::Status::Applied);
    netlab::reconcile::Step s;
    s.ns = "container:a";
    o.plan.steps.push_back(s);
    // An event in a (written) and one in c (not) during the job.
    l.f.job_started(JobKind::Apply);
    netlab::reconcile::KernelEvents batch;
    batch.peers = {{3, {}}, {9, {}}};
    l.f.on_kernel_events(batch);
    l.f.job_ended(apply_end(o));
    CHECK(l.f.dirty().dirty().size() == 1);
    CHECK(l.f.dirty().dirty().contains("container:c"));
}

TEST_CASE("Known: the engine keeps what the topology still names the same way") {
    model::Topology t = topology();
    netlab::reconcile::Desired desired;
    desired.namespaces["container:a"];
    desired.namespaces["container:c"];
    Known k;
    k.state = *state();
    k.state["container:gone"];
    k.targets = {{"container:a", "netns:a"}, {"container:c", "netns:other"}};
    k.keep_standing(t, desired);
    // The host always; a as named; not b (no desired state), c (another
    // target) nor gone (not in the topology).
    CHECK(k.state.size() == 2);
    CHECK(k.state.contains(""));
    CHECK(k.state.contains("container:a"));
}
