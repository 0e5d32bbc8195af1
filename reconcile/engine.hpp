// The one entry point the CLI and the daemon use: load -> compile -> observe
// -> plan -> apply as a transaction.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/load.hpp"
#include "reconcile/apply/commit_confirmed.hpp"
#include "reconcile/watch/fast_reload.hpp"
#include "reconcile/kernel.hpp"
#include "reconcile/plan/announcements.hpp"
#include "reconcile/plan/kernel_model.hpp"
#include "reconcile/plan/ledger.hpp"
#include "reconcile/plan/plan.hpp"
#include "reconcile/apply/state_dir.hpp"
#include "reconcile/containers/target.hpp"

namespace netlab::reconcile {

// One netlink step about to be sent (see Options::progress).
struct StepEvent {
    enum class Phase { Forward, Rollback };
    Phase phase = Phase::Forward;  // the plan itself, or a rollback (after a failure, or recover)
    std::size_t n = 0;             // 1-based
    std::size_t total = 0;
    const Step& step;
};

struct Options {
    std::filesystem::path state_dir = "/run/netlab";
    // How containers' namespaces are found; the engine resolves and attaches
    // every container of the topology before it observes.
    ResolverOptions resolver;
    // Called on the engine's thread just before each step is handed to the
    // kernel, forward and rollback alike: netlabd logs progress from it. A
    // rollback (and a forward run under fault injection) sends each step on
    // its own, so "step k/K" means steps 1..k-1 are done; a forward run is
    // pipelined (Kernel::execute_steps), so there it means steps 1..k-1 are
    // queued or sent, and any of them may still be waiting for their send.
    std::function<void(const StepEvent&)> progress = nullptr;
    // After an apply, the first round of announcements is sent before
    // apply() returns; the later rounds (kAnnounceRounds, kAnnounceGap apart)
    // too unless this is set: then Outcome::announce_later holds them for
    // the caller to send from a timer (netlabd), so no sleep sits between
    // the change and its answer.
    bool announce_later = false;
};

struct Outcome {
    enum class Status {
        Converged,   // nothing to do; no netlink write was sent
        Changes,     // plan only: there are changes
        Applied,     // applied and verified
        RolledBack,  // a step failed; the snapshot was restored and verified
        Rejected,    // invalid topology or preflight refusal; nothing touched
        Failed,      // a step failed and the rollback did not verify: needs attention
    };
    Status status = Status::Converged;
    Plan plan;
    model::Diagnostics diagnostics;       // validation / preflight findings
    std::optional<std::size_t> failed_step;  // 0-based index into plan.steps
    std::string error;                    // the kernel's message for the failed step
    // The errno the kernel (or the preflight's kernel model) answered the
    // failed step with; 0 when the failure carried none (verification).
    int error_code = 0;
    // Containers this run left out (their namespace could not be found or
    // attached), by name; `diagnostics` says why for each.
    std::set<std::string> skipped;
    std::vector<std::string> restored;    // what the rollback put back, one line each
    // recover(): nothing was done and the journal is kept, because Docker,
    // whose steps it must undo, does not answer; try again later.
    bool retry_later = false;
    std::uint64_t writes = 0;             // netlink write requests this run sent
    double seconds = 0;
    // Where the time went, in milliseconds, by phase: compile (ledger +
    // compile), attach (resolve and attach containers), observe, plan,
    // journal (snapshot of extra namespaces + durable write), execute,
    // verify, commit (ledger + journal removal), rollback. Only the phases
    // the run reached; the CLI adds load (reading the topology files).
    std::map<std::string, double> phases;
    // apply with a ConfirmPolicy that asked for it: the change is applied
    // and verified and now waits for confirm_pending() or roll_back_pending().
    std::optional<PendingChange> pending;
    // Converged or Applied: every namespace of the topology as this run last
    // saw it (what it verified), for the next run's Known. Shared, not
    // copied: 1000 containers are ~14,000 objects.
    std::shared_ptr<Observed> state;
    // Namespaces taken from Known instead of being attached and observed.
    std::size_t reused = 0;
    // Applied: addresses announced to their links' neighbours afterwards
    // (gratuitous ARP / unsolicited NA; topology `announce:`).
    // Counted over the rounds sent before apply() returned (an IPv6 address
    // still tentative in the first may go out in a later one).
    std::size_t announced = 0;
    // Those that went out in none of those rounds, each with why the last
    // round did not send it.
    struct NotAnnounced {
        Announcement what;
        std::string reason;
    };
    std::vector<NotAnnounced> not_announced;
    // Options::announce_later: the rounds still owed, for the caller.
    AnnounceLater announce_later;

    nlohmann::json to_json() const;
    bool ok() const { return status == Status::Converged || status == Status::Changes || status == Status::Applied; }
};

const char* to_string(Outcome::Status s);

class Engine {
public:
    Engine(Kernel& kernel, Options opts);
    using Resolver = std::function<std::variant<ResolvedNs, std::string>(const model::NetnsTarget&)>;
    // Resolves containers' targets instead of resolve_netns(target,
    // opts.resolver) (unit tests play restarts with it, without namespaces).
    void set_resolver(Resolver resolve) { resolve_ = std::move(resolve); }
    // Compute the plan without writing anything.
    Outcome plan(const model::Loaded& config);
    // Apply as one transaction (snapshot, journal, execute, verify, roll back on failure).
    // Refused (rejected) while a commit-confirmed change is pending.
    // `known`: see Known; empty = attach and observe everything.
    Outcome apply(const model::Loaded& config, const ConfirmPolicy& confirm = nullptr, Known known = {});
    // If a journal from an interrupted transaction exists, restore its
    // snapshot. A pending change of that same transaction is dropped with it
    // (it never completed; its snapshot is the one just restored). When the
    // journal holds Docker steps and Docker does not answer, nothing is
    // restored and the journal is kept (Outcome::retry_later).
    std::optional<Outcome> recover();

    // Commit-confirmed. pending() reads STATE_DIR/pending.json (nullopt when
    // there is none; throws when it cannot be read).
    std::optional<PendingChange> pending() const;
    // Stores the probe result in the pending file (atomically replaced).
    void record_probe(const ProbeResult& probe);
    // Keeps the change: removes the pending file. False when there was none.
    bool confirm_pending();
    // Restores the pending change's snapshot (like recover), writes back the
    // ledger from before it and removes the pending file. nullopt when none.
    std::optional<Outcome> roll_back_pending();

private:
    // recover() and roll_back_pending(): the snapshot of one record put back.
    std::optional<Outcome> restore(StateDirectory::Record which);

    Kernel& kernel_;
    Options opts_;
    Resolver resolve_;
};

}  // namespace netlab::reconcile
