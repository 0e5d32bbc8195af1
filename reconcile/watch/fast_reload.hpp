// What netlabd remembers of the kernel between reconciles, and when that is
// stale: the state the last verified reconcile left, the DirtySet that says
// which namespaces something has touched since (reconcile/watch/dirty.hpp), and
// the one decision built on both — whether an apply may be answered without
// a reconcile (the fast reload, docs/daemon.md), and if not, why not and
// which namespaces the reconcile may take from memory instead of observing
// them (Known). Pure: the daemon hands it what its watches hear and what a
// job left; reading the files and stat()ing the targets is the caller's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/topology.hpp"
#include "reconcile/plan/desired.hpp"
#include "reconcile/watch/dirty.hpp"
#include "reconcile/watch/drift.hpp"
#include "reconcile/plan/kernel_model.hpp"

namespace netlab::reconcile {

struct Outcome;

// The engine's operations as a daemon runs them, one job each: recover(),
// plan(), apply(), and commit-confirmed's record_probe(), confirm_pending()
// and roll_back_pending().
enum class JobKind { Recover, Plan, Apply, Probe, Confirm, Rollback };

// What the caller already knows of the kernel (netlabd: the state a verified
// run left, of the namespaces no event has touched since). Engine::apply()
// takes a namespace's state from here instead of attaching and observing it,
// as long as the plan writes nothing into it; a namespace the plan writes
// into is attached and observed afresh first and the plan made again, so the
// journal, the steps and the verification never rest on a remembered state.
struct Known {
    Observed state;
    // A container namespace's entry counts only if the topology still names
    // the same target ("netns:c1") for it; the caller has checked that the
    // target still leads to the same namespace (netlabd: the inode).
    std::map<NsId, std::string> targets;

    // The engine's check: drops every entry `desired` has no namespace for
    // (the host's always stands) and every container's whose target the
    // topology no longer names as `targets` says.
    void keep_standing(const model::Topology& topology, const Desired& desired);
};

class FastReload {
public:
    // What the daemon hears right now.
    struct Hearing {
        // The topology in force; null until a reconcile has put one in force.
        const model::Topology* in_force = nullptr;
        // Why some namespace's events are not heard (the event socket, a
        // container namespace without nsid); nullopt when all are.
        std::optional<std::string> deaf;
        bool docker_followed = true;  // the Docker events stream is connected
    };
    // A reconcile's input as it stands now: the bytes of the topology files
    // and of the ledger, and each container's target identity (a stat()).
    struct Input {
        std::string bytes;
        std::map<std::string, std::string> targets;
    };
    struct Decision {
        bool fast = false;         // answer without a reconcile
        std::string full_because;  // why not ("" for apply --confirm: never asked)
        Known known;               // for the reconcile: the namespaces still clean
    };

    // An apply is about to start. `full` (reload --full) and `confirm`
    // (apply --confirm) never take the fast path nor the remembered state.
    // `read` is called only once all else allows the fast path; it takes
    // what the event socket has said until now first (the caller's poll
    // feeds on_kernel_events), then reads the input. Everything remembered
    // that the reconcile may use moves into `known`.
    Decision before_apply(bool full, bool confirm, const Hearing& hearing, const std::function<Input()>& read);

    // A job starts: the remembered state is stale once one that may write
    // runs, and events from now on may be its echo.
    void job_started(JobKind kind);

    // How a job ended, as far as the fast path cares.
    struct JobEnd {
        JobKind kind = JobKind::Apply;
        bool journal_found = false;         // Recover: an interrupted transaction was restored
        const Outcome* outcome = nullptr;   // Apply
        bool recovered = false;             // Apply: it recovered an interrupted transaction first
        std::string full_because;           // Apply: why the fast path was not taken
        std::optional<std::string> deaf;    // as Hearing's, after the job
        // Apply: each container's state after the job (name, "attached" or
        // not), in the order reported.
        std::vector<std::pair<std::string, std::string>> containers;
        // Apply: how many containers the topology in force names (nullopt:
        // nothing in force).
        std::optional<std::size_t> containers_in_force;
        // Apply: what the job read and reached (nsids: of the attached
        // container namespaces).
        Baseline baseline;
    };
    // Remembers what a verified apply left, or forgets everything with the
    // reason the next apply will give; that reason is returned when an
    // apply is what left nothing to remember (for the log).
    std::optional<std::string> job_ended(JobEnd end);

    // The event socket's batch (the host's, and every container's by nsid).
    void on_kernel_events(const KernelEvents& batch);
    // Everything is stale (a container started or stopped, ...).
    void all_stale(const std::string& why) { dirty_.all(why); }

    // `status` → fast_reload (docs/daemon.md).
    nlohmann::json status_json(bool containers_heard) const;
    const DirtySet& dirty() const { return dirty_; }

private:
    Known take_known(const model::Topology& in_force, const std::map<std::string, std::string>& identities);

    DirtySet dirty_;
    // The kernel state the last verified reconcile left (Outcome::state),
    // while dirty_ has its baseline.
    std::shared_ptr<Observed> remembered_;
    std::uint64_t fast_ = 0, full_ = 0;  // applies answered each way
    std::optional<std::string> last_full_because_;
};

}  // namespace netlab::reconcile
