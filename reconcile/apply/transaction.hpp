// One run of the engine against the kernel: the container namespaces it
// attaches (and detaches at its end), the journal it writes, and the
// rollback to a snapshot. Internal to reconcile: engine.cpp, restore.cpp and
// commit_confirmed.cpp use it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reconcile/engine.hpp"
#include "reconcile/apply/state_dir.hpp"

namespace netlab::reconcile::detail {

struct Clock {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
};

// Outcome::phases: each lap adds the time since the previous one to a phase.
class PhaseClock {
public:
    explicit PhaseClock(Outcome& out) : out_(out) {}
    void lap(const char* phase) {
        const auto now = std::chrono::steady_clock::now();
        out_.phases[phase] += std::chrono::duration<double, std::milli>(now - mark_).count();
        mark_ = now;
    }

private:
    Outcome& out_;
    std::chrono::steady_clock::time_point mark_ = std::chrono::steady_clock::now();
};

#ifdef NETLAB_TESTING
// Test-only windows and faults (docs/engine.md, "Fault injection").
struct FaultInjection {
    std::size_t fail_at = 0;  // 1-based; 0 = none
    unsigned delay_ms = 0;
    unsigned rollback_delay_ms = 0;
    // The process stops itself (SIGSTOP) at one point, once: a test waits
    // for the stopped state and kills, inspects or continues it there. A
    // sleep would be a window the test has to hit, which a busy machine can
    // miss.
    std::size_t stop_before = 0;          // before forward step k is reported and sent
    std::size_t stop_after = 0;           // after forward step k was sent
    std::size_t stop_after_rollback = 0;  // after rollback (or recovery) step k was sent
    static FaultInjection from_env();
    bool forward_one_by_one() const { return delay_ms || fail_at || stop_before || stop_after; }
    static void sleep(unsigned ms);
    void fail(std::size_t n) const;  // n is 1-based
    // Stops the process when `when` (1-based) is `at`, the first time only:
    // a later reconcile of the same process runs on.
    static void stop_at(std::size_t at, std::size_t when, bool& done);
};
inline bool stopped_before = false, stopped_after = false, stopped_after_rollback = false;
#endif

std::string now_utc();

// Every namespace a desired state or a plan refers to.
std::set<NsId> namespaces_of(const Desired& d, const Plan& p);

// The namespaces a plan can change: where its steps run, where a created
// veth peer or macvlan lands or hangs off; a deletion in the host can take
// links anywhere along (a veth's other end, macvlan children), so it puts
// every observed namespace in play, and one in a container the host too (a
// veth takes its host end along). Only these are snapshot, journaled and
// observed again to verify: at 1000 containers, a change in one of them
// no longer writes and reads back all 1001.
std::set<NsId> in_play(const Plan& p, const Observed& observed);

class Transaction {
public:
    Transaction(Kernel& kernel, const Options& opts, const Engine::Resolver& resolve)
        : kernel_(kernel), opts_(opts), resolve_(resolve), dir_(opts.state_dir) {}
    // Container namespaces are attached for one run only (see
    // Kernel::detach_namespace).
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    const StateDirectory& dir() const { return dir_; }

    // The journal's content. `ledger` is the ledger before the transaction:
    // a crash after the new ledger is written but before the journal is
    // removed rolls both back.
    nlohmann::json journal_json(const Observed& snapshot, const Plan& plan, const Ledger& ledger);
    void write_journal(const Observed& snapshot, const Plan& plan, const Ledger& ledger) {
        dir_.write(StateDirectory::Record::Journal, journal_json(snapshot, plan, ledger));
    }
    const std::string& started() const { return started_; }

    Observed observe(const std::set<NsId>& spaces);

    // Restores `snapshot` for everything `plan` could have touched. Fills
    // out.restored; returns true when the re-observed state matches.
    // The plan's Docker steps too (docs/docker.md): exactly `docker_done`
    // (what this process's docker::Runner sent) when given, else what of
    // them Docker shows as done (a journal's: how far it got is unknown).
    bool roll_back(const Observed& snapshot, const Plan& plan, Outcome& out,
                   const std::vector<docker::Step>* docker_done = nullptr);

    // Resolves and attaches every container's namespace. A container that
    // is missing or stopped is reported and left out of this run (with the
    // links other namespaces would point into it); the rest goes on.
    // `wanted` picks the containers to attach (all when null).
    // Each one left out is named in out.skipped and out.diagnostics.
    void attach_containers(const model::Topology& topo, Desired& desired, Outcome& out,
                           const std::function<bool(const NsId&)>& wanted = nullptr);

    // Re-attaches the namespaces a journal names (recover after a restart),
    // each only if it is still the namespace the snapshot was taken in: a
    // container that restarted (or vanished) meanwhile has a fresh namespace,
    // and what netlab made in the old one went with it. Says why for every
    // namespace it leaves out.
    void attach_targets(const nlohmann::json& targets, std::vector<std::string>& notes);

    bool attached(const NsId& ns) const { return ns.empty() || attached_.count(ns); }
    // A container namespace attached and proven to be the one of its target.
    bool has_target(const NsId& ns) const { return targets_.count(ns) != 0; }

private:
    bool roll_back_kernel(const Observed& snapshot, const Plan& plan, Outcome& out);
    static std::string compare_in_play(const Observed& snapshot, const Desired& target, const Observed& after);
    std::variant<ResolvedNs, std::string> resolve(const model::NetnsTarget& t) const {
        return resolve_ ? resolve_(t) : resolve_netns(t, opts_.resolver);
    }
    // Attaches the resolved namespace (the kernel takes the fd) and returns
    // its identity with the cookie the kernel reads from its socket there.
    NsIdentity attach(const NsId& ns, const ResolvedNs& r);
    void detach(const NsId& ns);
    // The container namespaces of the snapshot (recover re-attaches only these).
    nlohmann::json targets_json(const Observed& snapshot) const;

    struct Target {
        std::string text;  // as written: "docker:test1"
        NsIdentity id;
    };

    Kernel& kernel_;
    const Options& opts_;
    const Engine::Resolver& resolve_;
    StateDirectory dir_;
    std::map<NsId, Target> targets_;  // attached container namespaces in play
    std::set<NsId> attached_;         // what the destructor detaches
    std::string started_;             // of the journal (and pending file) this run writes
};

// Commit-confirmed (commit_confirmed.cpp): the pending file is the journal's
// content plus the deadline, what a rollback needs long after the
// transaction itself has ended.
PendingChange write_pending(Transaction& tx, const Observed& snapshot, const Plan& plan, const Ledger& ledger,
                            const ConfirmRequest& req);
PendingChange pending_from(const nlohmann::json& j);

}  // namespace netlab::reconcile::detail
