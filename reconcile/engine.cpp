// The Engine: plan, and apply as a Transaction.
//
//   plan:   validate -> ledger -> compile -> observe -> make_plan
//   apply:  plan -> snapshot (= what was just observed) -> journal (fsync'd)
//           -> execute every step -> re-observe -> verify (residual plan empty)
//           -> ledger -> remove journal
//   failure anywhere after the journal: roll back = make_plan(restore_target(
//           snapshot, plan), observe()) executed best effort, then compare the
//           re-observed objects in play with the snapshot (transaction.cpp).
//
// Rollback is not a second mechanism: it is the same diff with the snapshot
// as the desired state. See docs/engine.md.
#include "reconcile/engine.hpp"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "reconcile/announce_applied.hpp"
#include "reconcile/plan/announcements.hpp"
#include "reconcile/plan/compile.hpp"
#include "reconcile/containers/docker_calls.hpp"
#include "reconcile/plan/ledger.hpp"
#include "reconcile/nl/error.hpp"
#include "reconcile/plan/planner.hpp"
#include "reconcile/apply/serialize.hpp"
#include "reconcile/apply/state_dir.hpp"
#include "reconcile/apply/transaction.hpp"

namespace netlab::reconcile {

using nlohmann::json;
using detail::Clock;
using detail::PhaseClock;
using detail::Transaction;
#ifdef NETLAB_TESTING
using detail::FaultInjection;
#endif
using nlohmann::json;

const char* to_string(Outcome::Status s) {
    switch (s) {
        case Outcome::Status::Converged: return "converged";
        case Outcome::Status::Changes: return "changes";
        case Outcome::Status::Applied: return "applied";
        case Outcome::Status::RolledBack: return "rolled_back";
        case Outcome::Status::Rejected: return "rejected";
        case Outcome::Status::Failed: return "failed";
    }
    return "?";
}

json Outcome::to_json() const {
    // One numbering: Docker's take-down steps, the kernel's, Docker's build-up.
    json steps = json::array();
    auto docker_steps = [&](const std::vector<docker::Step>& v) {
        for (const auto& d : v) {
            json s = d.to_json();
            s["n"] = steps.size() + 1;
            s["text"] = d.describe();
            steps.push_back(std::move(s));
        }
    };
    docker_steps(plan.docker_before());
    for (std::size_t i = 0; i < plan.steps.size(); ++i) {
        json s = serial::step(plan.steps[i]);
        s["n"] = steps.size() + 1;
        s["text"] = plan.steps[i].describe();
        steps.push_back(std::move(s));
    }
    docker_steps(plan.docker_after());
    json diags = json::array();
    for (const auto& d : diagnostics) diags.push_back(serial::diagnostic(d));
    json missed = json::array();
    for (const auto& m : not_announced)
        missed.push_back({{"ns", m.what.ns},
                          {"link", m.what.dev},
                          {"address", m.what.addr.str()},
                          {"reason", m.reason}});
    return json{{"status", to_string(status)},
                {"ok", ok()},
                {"steps", steps},
                {"writes", writes},
                {"seconds", seconds},
                {"failed_step", failed_step ? json(*failed_step + 1) : json(nullptr)},
                {"error", error},
                {"restored", restored},
                {"diagnostics", diags},
                {"phases", phases},
                {"reused_namespaces", reused},
                {"announced", announced},
                {"not_announced", missed},
                {"pending", pending ? json{{"deadline", pending->deadline.time_since_epoch().count()},
                                           {"reason", pending->reason},
                                           {"summary", pending->summary}}
                                    : json(nullptr)}};
}


// ---- Engine -----------------------------------------------------------------

Engine::Engine(Kernel& kernel, Options opts) : kernel_(kernel), opts_(std::move(opts)) {}

namespace {

// The errno a refused step carries: NlKernel throws nl::NlError, the
// in-memory kernel model KernelRefusal.
int errno_of(const std::exception& e) {
    if (const auto* n = dynamic_cast<const nl::NlError*>(&e)) return n->code();
    if (const auto* k = dynamic_cast<const KernelRefusal*>(&e)) return k->code;
    return 0;
}

struct Prepared {
    Ledger ledger;
    Desired desired;
    Observed observed;
    // The published networks with their endpoints bound to running
    // containers, and the endpoints left out: verification and the ledger.
    std::vector<docker::NetworkSpec> published;
    std::vector<docker::LeftOut> left;
};

// The Docker side of the plan (docs/docker.md). Docker is asked only when
// the topology publishes a network or netlab published one before; then
// an unreachable Docker rejects the run before any write.
bool plan_docker(const model::Topology& topo, Prepared& p, const ResolverOptions& ro, Outcome& out) {
    p.published = docker::published(topo);
    if (p.published.empty() && p.ledger.docker.empty()) return true;
    const docker::Client client(ro.docker_socket, ro.docker_timeout);
    auto unreachable = [&](const docker::Error& e) {
        out.status = Outcome::Status::Rejected;
        out.error = "cannot reach Docker, which the topology's published networks need: " + e.message +
                    "; nothing was changed";
        return false;
    };
    auto seen = docker::observe(client);
    if (auto* e = std::get_if<docker::Error>(&seen)) return unreachable(*e);
    if (std::any_of(p.published.begin(), p.published.end(), [](const auto& n) { return !n.endpoints.empty(); })) {
        auto containers = docker::observe_containers(client);
        if (auto* e = std::get_if<docker::Error>(&containers)) return unreachable(*e);
        p.left = docker::bind_endpoints(p.published, std::get<docker::SeenContainers>(containers));
    }
    // A container Docker cannot connect now is skipped like one whose
    // namespace cannot be found (it may be one already).
    for (const auto& l : p.left)
        for (const auto& [name, c] : topo.containers)
            if (c.netns.kind == model::NetnsTarget::Kind::Docker && c.netns.value == l.ref && out.skipped.insert(name).second)
                out.diagnostics.push_back(model::Diagnostic{
                    model::Severity::Warning, {},
                    "container " + name + " (" + c.netns.str() + ") skipped on Docker network " + l.network + ": " + l.why,
                    "it is connected at the next reconcile after it runs"});
    auto dp = docker::plan(p.published, std::get<docker::Seen>(seen), p.ledger.docker);
    out.plan.docker = std::move(dp.steps);
    out.plan.refusals.insert(out.plan.refusals.end(), dp.refusals.begin(), dp.refusals.end());
    return true;
}

// Validation, compile, observe, plan. Fills `out` (status Rejected /
// Converged / Changes) and returns what apply needs to go on.
std::optional<Prepared> prepare(Transaction& tx, const model::Loaded& config, Outcome& out, const ResolverOptions& ro,
                                Known known = {}) {
    PhaseClock phase(out);
    out.diagnostics = config.diagnostics;
    if (!config.ok()) {
        out.status = Outcome::Status::Rejected;
        out.error = "the topology has errors; nothing was changed";
        return std::nullopt;
    }
    Prepared p;
    try {
        p.ledger = tx.dir().ledger();
    } catch (const std::exception& e) {
        out.status = Outcome::Status::Rejected;
        out.error = std::string("cannot read the ledger: ") + e.what();
        return std::nullopt;
    }
    p.desired = compile(config.topology, p.ledger);
    phase.lap("compile");
    known.keep_standing(config.topology, p.desired);
    tx.attach_containers(config.topology, p.desired, out,
                         [&](const NsId& ns) { return !known.state.count(ns); });
    phase.lap("attach");
    // Observation is the one kernel read here; a failure rejects the run.
    auto observed = [&](const std::function<void()>& read) {
        try {
            read();
            return true;
        } catch (const std::exception& e) {
            out.status = Outcome::Status::Rejected;
            out.error = std::string("cannot observe the kernel: ") + e.what();
            return false;
        }
    };
    std::set<NsId> remembered;  // taken from `known`, not observed in this run
    if (!observed([&] {
            std::set<NsId> fresh;
            for (const auto& ns : detail::namespaces_of(p.desired, {}))
                (known.state.count(ns) ? remembered : fresh).insert(ns);
            p.observed = tx.observe(fresh);
            for (const auto& ns : remembered) p.observed.emplace(ns, std::move(known.state.at(ns)));
        }))
        return std::nullopt;
    known = {};
    phase.lap("observe");
    out.plan = make_plan(p.desired, p.observed);
    phase.lap("plan");
    // A remembered namespace the plan writes into is attached and observed
    // now, and the plan made again with what the kernel says. Ends: each
    // round takes at least one namespace out of `remembered`.
    for (;;) {
        std::set<NsId> now;
        for (const auto& ns : detail::in_play(out.plan, p.observed))
            if (remembered.count(ns)) now.insert(ns);
        if (now.empty()) break;
        tx.attach_containers(config.topology, p.desired, out,
                             [&](const NsId& ns) { return now.count(ns) != 0; });
        phase.lap("attach");
        if (!observed([&] {
                for (const auto& ns : now) {
                    remembered.erase(ns);
                    if (tx.attached(ns)) p.observed[ns] = tx.observe({ns}).at(ns);
                    else p.observed.erase(ns);  // gone meanwhile: left out, as attach_containers says
                }
            }))
            return std::nullopt;
        phase.lap("observe");
        out.plan = make_plan(p.desired, p.observed);
        phase.lap("plan");
    }
    out.reused = remembered.size();
    if (!plan_docker(config.topology, p, ro, out)) return std::nullopt;
    if (!out.plan.docker.empty()) phase.lap("docker");
    if (!out.plan.refusals.empty()) {
        out.diagnostics.insert(out.diagnostics.end(), out.plan.refusals.begin(), out.plan.refusals.end());
        out.status = Outcome::Status::Rejected;
        out.error = "the kernel would refuse this plan; nothing was changed";
        return std::nullopt;
    }
    out.status = out.plan.empty() ? Outcome::Status::Converged : Outcome::Status::Changes;
    return p;
}

}  // namespace

Outcome Engine::plan(const model::Loaded& config) {
    Clock clock;
    Outcome out;
    Transaction tx(kernel_, opts_, resolve_);
    const auto w0 = kernel_.writes();
    prepare(tx, config, out, opts_.resolver);
    out.writes = kernel_.writes() - w0;
    out.seconds = clock.seconds();
    return out;
}

Outcome Engine::apply(const model::Loaded& config, const ConfirmPolicy& confirm, Known known) {
    Clock clock;
    Outcome out;
    Transaction tx(kernel_, opts_, resolve_);
    const auto w0 = kernel_.writes();
    auto finish = [&]() -> Outcome {
        out.writes = kernel_.writes() - w0;
        out.seconds = clock.seconds();
        return out;
    };

    std::optional<StateDirectory::Lock> lock;
    try {
        lock.emplace(opts_.state_dir);
    } catch (const std::exception& e) {
        out.diagnostics = config.diagnostics;
        out.status = Outcome::Status::Rejected;
        out.error = e.what();
        return finish();
    }
    if (tx.dir().has(StateDirectory::Record::Journal)) {
        // Writing a new journal would lose the snapshot of the interrupted
        // transaction: recover() restores it first (netlabd and netlabctl
        // apply both call it before apply).
        out.diagnostics = config.diagnostics;
        out.status = Outcome::Status::Rejected;
        out.error = "the journal of an interrupted transaction (" + tx.dir().file(StateDirectory::Record::Journal).string() +
                    ") has not been recovered yet; nothing was changed";
        return finish();
    }
    if (tx.dir().has(StateDirectory::Record::Pending)) {
        // A new change over a pending one would leave nothing to roll back
        // to at its deadline but this change's own snapshot.
        out.diagnostics = config.diagnostics;
        out.status = Outcome::Status::Rejected;
        out.error = "a commit-confirmed change is pending (" + tx.dir().file(StateDirectory::Record::Pending).string() +
                    "); `netlabctl confirm` or `netlabctl rollback` first; nothing was changed";
        return finish();
    }
    auto prepared = prepare(tx, config, out, opts_.resolver, std::move(known));
    if (!prepared) return finish();
    if (out.plan.empty()) {
        out.state = std::make_shared<Observed>(std::move(prepared->observed));
        return finish();
    }

    PhaseClock phase(out);
    const std::set<NsId> spaces = detail::in_play(out.plan, prepared->observed);
    // The snapshot is what was observed to make the plan, of the namespaces
    // in play (observed now if only the plan's steps name them).
    Observed snapshot;
    try {
        for (const auto& ns : spaces) {
            auto seen = prepared->observed.find(ns);
            snapshot.emplace(ns, seen != prepared->observed.end() ? seen->second : kernel_.observe(ns));
        }
        // Commit-confirmed: the pending file first, so a change the kernel
        // has seen always has its way back on disk.
        if (confirm)
            if (auto req = confirm(out.plan)) out.pending = detail::write_pending(tx, snapshot, out.plan, prepared->ledger, *req);
        // Durable before the first write: a crash from here on is repaired by
        // recover() at the next start.
        tx.write_journal(snapshot, out.plan, prepared->ledger);
    } catch (const std::exception& e) {
        if (out.pending) tx.dir().remove(StateDirectory::Record::Pending);
        out.pending.reset();
        out.status = Outcome::Status::Rejected;
        out.error = std::string("cannot write the journal: ") + e.what();
        return finish();
    }
    phase.lap("journal");

#ifdef NETLAB_TESTING
    const auto faults = FaultInjection::from_env();
#endif
    std::string failure;
    const std::size_t total = out.plan.total();
    const auto docker_before = out.plan.docker_before(), docker_after = out.plan.docker_after();
    const std::size_t base = docker_before.size();  // the kernel's steps are numbered after these
    const docker::Client docker_client(opts_.resolver.docker_socket, opts_.resolver.docker_timeout);
    docker::Runner docker_runner(docker_client);
    // Docker steps are sent one at a time, numbered with the kernel's
    // (NETLAB_FAIL_AT_STEP and the stop points count them too).
    auto run_docker = [&](const std::vector<docker::Step>& steps, std::size_t first) {
        for (std::size_t i = 0; i < steps.size() && failure.empty(); ++i) {
            const std::size_t n = first + i + 1;
            try {
#ifdef NETLAB_TESTING
                FaultInjection::sleep(faults.delay_ms);
                FaultInjection::stop_at(faults.stop_before, n, detail::stopped_before);
                faults.fail(n);
#endif
                if (auto e = docker_runner.execute(steps[i])) failure = e->message;
#ifdef NETLAB_TESTING
                else FaultInjection::stop_at(faults.stop_after, n, detail::stopped_after);
#endif
            } catch (const std::exception& e) {
                failure = e.what();
            }
            if (!failure.empty()) out.failed_step = n - 1;
        }
    };
    run_docker(docker_before, 0);
    bool one_by_one = false;  // a window or a fault before a given step needs each step sent on its own
#ifdef NETLAB_TESTING
    one_by_one = faults.forward_one_by_one();
#endif
    const std::size_t kernel_steps = failure.empty() ? out.plan.steps.size() : 0;
    if (one_by_one) {
        for (std::size_t i = 0; i < kernel_steps; ++i) {
            const std::size_t n = base + i + 1;
            try {
#ifdef NETLAB_TESTING
                FaultInjection::sleep(faults.delay_ms);
                FaultInjection::stop_at(faults.stop_before, n, detail::stopped_before);
#endif
                if (opts_.progress)
                    opts_.progress(StepEvent{StepEvent::Phase::Forward, n, total, out.plan.steps[i]});
#ifdef NETLAB_TESTING
                faults.fail(n);
#endif
                kernel_.execute(out.plan.steps[i]);
#ifdef NETLAB_TESTING
                FaultInjection::stop_at(faults.stop_after, n, detail::stopped_after);
#endif
            } catch (const std::exception& e) {
                out.failed_step = n - 1;
                failure = e.what();
                out.error_code = errno_of(e);
                break;
            }
        }
    } else if (kernel_steps) {
        // The kernel may pipeline the steps (NlKernel: one sendmsg() per
        // namespace); a refusal still names the first failing step, and
        // whatever later steps did is undone by the rollback below, which
        // restores the snapshot whatever the kernel holds now.
        auto failed = kernel_.execute_steps(out.plan.steps, [&](std::size_t i) {
            if (opts_.progress)
                opts_.progress(StepEvent{StepEvent::Phase::Forward, base + i + 1, total, out.plan.steps[i]});
        });
        if (failed) {
            out.failed_step = base + failed->step;
            try {
                std::rethrow_exception(failed->error);
            } catch (const std::exception& e) {
                failure = e.what();
                out.error_code = errno_of(e);
            }
        }
    }
    if (failure.empty()) run_docker(docker_after, base + out.plan.steps.size());
#ifdef NETLAB_TESTING
    // A window after the last step too, so a test can kill the transaction
    // with every step sent and the journal still there.
    if (failure.empty()) FaultInjection::sleep(faults.delay_ms);
#endif
    phase.lap("execute");
    if (failure.empty()) {
        try {
            // The namespaces in play observed again; the others as they were
            // observed for the plan (nothing here wrote to them).
            // Nothing below reads prepared->observed: the rollback works
            // from `snapshot`.
            auto after = std::make_shared<Observed>(std::move(prepared->observed));
            for (auto& [ns, state] : tx.observe(spaces)) (*after)[ns] = std::move(state);
            Plan residual = make_plan(prepared->desired, *after);
            if (residual.empty() && !out.plan.docker.empty()) {
                // Docker verified the same way: nothing left to do there.
                auto seen = docker::observe(docker_client);
                if (auto* e = std::get_if<docker::Error>(&seen)) throw std::runtime_error(e->message);
                const auto& published = prepared->published;
                residual.docker = docker::plan(published, std::get<docker::Seen>(seen), docker::connected_by(published)).steps;
            }
            if (residual.empty()) out.state = std::move(after);
            else
                failure = "verification failed: still to do after apply: " + residual.describe_at(0) +
                          (residual.total() > 1 ? " (and " + std::to_string(residual.total() - 1) + " more)" : "");
        } catch (const std::exception& e) {
            failure = std::string("verification failed: ") + e.what();
        }
    }
    phase.lap("verify");

    if (failure.empty()) {
        try {
            Ledger next = next_ledger(prepared->ledger, config.topology, snapshot, out.plan);
            next.docker = docker::connected_by(prepared->published, prepared->ledger.docker, prepared->left);
            tx.dir().save_ledger(next);
        } catch (const std::exception& e) {
            // The kernel is right; only the memory of adopted originals is
            // stale. Say so, keep the change.
            out.diagnostics.push_back(model::Diagnostic{model::Severity::Warning, {},
                                                        std::string("cannot write the ledger: ") + e.what(), ""});
        }
        tx.dir().remove(StateDirectory::Record::Journal);
        phase.lap("commit");
        // Only now, with the change verified and kept: a rolled-back change
        // announces nothing. Neighbours holding an address's old MAC would
        // otherwise keep sending to it until their entry goes stale.
        if (config.topology.announce) {
            // Best effort: the change is verified and kept whatever happens
            // here (a thread that cannot be started, memory).
            try {
                announce_applied(kernel_, announcements(out.plan, *out.state), opts_.announce_later, out);
            } catch (const std::exception& e) {
                out.diagnostics.push_back(model::Diagnostic{model::Severity::Warning, {},
                                                            std::string("announcements not sent: ") + e.what(), ""});
            }
            phase.lap("announce");
        }
        out.status = Outcome::Status::Applied;
        return finish();
    }

    out.error = failure;
    // A Docker step whose answer never came is undone if Docker shows it done.
    std::vector<docker::Step> docker_done = docker_runner.done();
    if (const auto& unsure = docker_runner.unsure())
        if (auto now = docker::observe(docker_client); std::holds_alternative<docker::Seen>(now))
            for (const auto& back : docker::undo({*unsure}, std::get<docker::Seen>(now)))
                docker_done.push_back(back.inverse());
    const bool restored = tx.roll_back(snapshot, out.plan, out, &docker_done);
    out.status = restored ? Outcome::Status::RolledBack : Outcome::Status::Failed;
    // Nothing is pending after a failed apply: rolled back here, or left to
    // the journal (recover) when the rollback did not verify.
    if (out.pending) tx.dir().remove(StateDirectory::Record::Pending);
    out.pending.reset();
    // A rollback that did not verify keeps the journal: the next start
    // tries once more (recover) and then lets it go.
    if (restored) tx.dir().remove(StateDirectory::Record::Journal);
    phase.lap("rollback");
    return finish();
}

}  // namespace netlab::reconcile
