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

#include <set>

#include <nlohmann/json.hpp>

#include "reconcile/announcements.hpp"
#include "reconcile/compile.hpp"
#include "reconcile/ledger.hpp"
#include "reconcile/nl/error.hpp"
#include "reconcile/planner.hpp"
#include "reconcile/serialize.hpp"
#include "reconcile/state_dir.hpp"
#include "reconcile/transaction.hpp"

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
    json steps = json::array();
    for (std::size_t i = 0; i < plan.steps.size(); ++i) {
        json s = serial::step(plan.steps[i]);
        s["n"] = i + 1;
        s["text"] = plan.steps[i].describe();
        steps.push_back(std::move(s));
    }
    json diags = json::array();
    for (const auto& d : diagnostics) diags.push_back(serial::diagnostic(d));
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
};

// Validation, compile, observe, plan. Fills `out` (status Rejected /
// Converged / Changes) and returns what apply needs to go on.
std::optional<Prepared> prepare(Transaction& tx, const model::Loaded& config, Outcome& out, Known known = {}) {
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
    prepare(tx, config, out);
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
    auto prepared = prepare(tx, config, out, std::move(known));
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
    const std::size_t total = out.plan.steps.size();
    bool one_by_one = false;  // a window or a fault before a given step needs each step sent on its own
#ifdef NETLAB_TESTING
    one_by_one = faults.forward_one_by_one();
#endif
    if (one_by_one) {
        for (std::size_t i = 0; i < total; ++i) {
            try {
#ifdef NETLAB_TESTING
                FaultInjection::sleep(faults.delay_ms);
                FaultInjection::stop_at(faults.stop_before, i + 1, detail::stopped_before);
#endif
                if (opts_.progress)
                    opts_.progress(StepEvent{StepEvent::Phase::Forward, i + 1, total, out.plan.steps[i]});
#ifdef NETLAB_TESTING
                faults.fail(i + 1);
#endif
                kernel_.execute(out.plan.steps[i]);
#ifdef NETLAB_TESTING
                FaultInjection::stop_at(faults.stop_after, i + 1, detail::stopped_after);
#endif
            } catch (const std::exception& e) {
                out.failed_step = i;
                failure = e.what();
                out.error_code = errno_of(e);
                break;
            }
        }
    } else {
        // The kernel may pipeline the steps (NlKernel: one sendmsg() per
        // namespace); a refusal still names the first failing step, and
        // whatever later steps did is undone by the rollback below, which
        // restores the snapshot whatever the kernel holds now.
        auto failed = kernel_.execute_steps(out.plan.steps, [&](std::size_t i) {
            if (opts_.progress) opts_.progress(StepEvent{StepEvent::Phase::Forward, i + 1, total, out.plan.steps[i]});
        });
        if (failed) {
            out.failed_step = failed->step;
            try {
                std::rethrow_exception(failed->error);
            } catch (const std::exception& e) {
                failure = e.what();
                out.error_code = errno_of(e);
            }
        }
    }
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
            if (residual.empty()) out.state = std::move(after);
            else
                failure = "verification failed: still to do after apply: " + residual.steps.front().describe() +
                          (residual.steps.size() > 1
                               ? " (and " + std::to_string(residual.steps.size() - 1) + " more)"
                               : "");
        } catch (const std::exception& e) {
            failure = std::string("verification failed: ") + e.what();
        }
    }
    phase.lap("verify");

    if (failure.empty()) {
        try {
            tx.dir().save_ledger(next_ledger(prepared->ledger, config.topology, snapshot, out.plan));
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
                out.announced = kernel_.announce(announcements(out.plan, *out.state));
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
    const bool restored = tx.roll_back(snapshot, out.plan, out);
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
