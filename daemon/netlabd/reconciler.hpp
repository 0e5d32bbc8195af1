// The engine's thread. Every call into reconcile::Engine (and so every
// netlink request and every setns) happens here, one job at a time, so the
// loop keeps answering the control socket, feeding the watchdog and reading
// file events while a transaction runs. Results come back to the loop through
// asio::post; the loop never shares mutable state with this thread.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "model/load.hpp"
#include "model/parse_cache.hpp"
#include "reconcile/apply/commit_confirmed.hpp"
#include "reconcile/engine.hpp"

namespace netlab::daemon {

struct OwnedCount {
    std::size_t links = 0;   // links carrying the netlab alias mark
    std::size_t routes = 0;  // routes with netlab's rtm_protocol
};

struct ContainerStatus {
    std::string name;
    std::string netns;   // as written: docker:test1, netns:test2, ...
    std::string state;   // attached | not_attached | absent
    std::string detail;  // identity of the namespace, or why it is absent
};

struct JobResult {
    // Probe, Confirm, Rollback: commit-confirmed (the pending change).
    using Mode = reconcile::JobKind;
    Mode mode = Mode::Apply;
    std::string trigger;
    std::chrono::system_clock::time_point started, finished;
    bool journal_found = false;            // Recover: an interrupted transaction was found
    // Apply: the journal of an interrupted transaction was still there (a
    // rollback that did not verify keeps it) and was recovered first.
    std::optional<reconcile::Outcome> recovered;
    std::optional<model::Loaded> loaded;   // Plan/Apply: what was read from the config dir
    reconcile::Outcome outcome;
    std::optional<OwnedCount> owned;       // after the job, in the daemon's namespace
    std::optional<model::NetnsState> host; // Apply: the daemon's namespace as observed after the job
    std::vector<ContainerStatus> containers;
    // Recover: the pending commit-confirmed change found at start; Probe:
    // the pending change with its probe result. (Apply: outcome.pending.)
    std::optional<reconcile::PendingChange> pending;
    std::string pending_error;             // the pending file could not be read
    bool settled = false;                  // Confirm/Rollback: there was a pending change
    // Plan/Apply, for the fast path (reconcile/watch/fast_reload.hpp): the bytes of the
    // files as read before loading them, and of the ledger as the job left
    // it (reload_input.hpp); after the job, each container's target identity
    // and the nsid of each attached container namespace.
    std::string input;
    std::map<std::string, std::string> targets;
    std::map<int, reconcile::NsId> nsids;
    // Apply: why the fast path was not taken (for the reply and the log).
    std::string full_because;
};

class Reconciler {
public:
    using Done = std::function<void(JobResult)>;

    Reconciler(boost::asio::io_context& loop, std::filesystem::path config_dir, reconcile::Options opts);
    ~Reconciler();  // waits for the running job
    Reconciler(const Reconciler&) = delete;
    Reconciler& operator=(const Reconciler&) = delete;

    // Runs the job on the engine thread; `done` runs on the loop. `in_force`
    // is the topology in force now (for the containers' status when the job
    // does not replace it). `tag` starts the log line of each step as it is
    // sent ("reconcile #3 (SIGHUP)", "recovery").
    // `confirm` (Apply): `netlabctl apply --confirm DUR`, the change stays
    // pending for DUR whatever it moves. `known` (Apply): the namespaces
    // nothing touched since the last verified reconcile (Engine::apply).
    void run(JobResult::Mode mode, std::string trigger, std::string tag,
             std::map<std::string, model::Container> in_force, std::optional<std::chrono::seconds> confirm,
             reconcile::Known known, Done done);

    // Commit-confirmed probes (probe.hpp): `progress` gets the result so far
    // on the loop after every attempt; stop_probes() ends a Probe job
    // running or queued (its verdict is then "stopped"). The stop is for the
    // pending change applied at `started` only: one that comes as a run
    // ends must not stop the next change's probes.
    void on_probe_progress(std::function<void(reconcile::ProbeResult)> progress) { probe_progress_ = std::move(progress); }
    void stop_probes(const reconcile::PendingChange& change) {
        std::lock_guard lock(stop_mu_);
        stop_for_ = probe_key(change);
        probe_stop_ = true;
    }

private:
    JobResult execute(JobResult::Mode mode, std::string trigger,
                      const std::map<std::string, model::Container>& in_force,
                      std::optional<std::chrono::seconds> confirm, reconcile::Known known);
    void probe(JobResult& r);
    void observe_after(JobResult& r, const std::map<std::string, model::Container>& containers);
    void log_step(const reconcile::StepEvent& e) const;
    // The announcement rounds an apply still owes (Options::announce_later),
    // sent from a timer on the engine thread after the job has answered.
    void announce_later(reconcile::AnnounceLater owed);
    void announce_round(std::uint64_t generation);
    // Before a job that may write: what is still owed goes out once now
    // (the kernel still holds what it announces) and the rest is dropped.
    void settle_announcements();
    // Before a Probe job, which holds the engine thread for the probe window
    // and so would hold the timer's rounds back by as long: every owed round
    // now, kAnnounceGap apart, so the probed change is announced on time.
    void finish_announcements();
    // Before a rollback: what is owed names what is about to be undone.
    void drop_announcements();
    // One round; never throws (a timer's handler must not): a failure to
    // announce is logged, as a send that no neighbour heard would be.
    void announce_now(const std::vector<reconcile::Announcement>& what);

    boost::asio::io_context& loop_;
    std::filesystem::path config_dir_;
    reconcile::Options opts_;
    boost::asio::io_context engine_io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    // The status of each netns:/path: container as the last status step
    // resolved it, with the target's identity (a stat) then: the same
    // identity now means the same namespace, and the same answer without
    // opening it again (observe_after).
    struct Resolved {
        std::string netns;     // the target as written then
        std::string target;    // target_identity() then
        std::string identity;  // ResolvedNs::identity then
    };
    std::map<std::string, Resolved> resolved_;
    // Each configuration file's reading, while its text stays the same
    // (a drop-in changed is the one parsed again). Engine thread only.
    model::ParseCache parse_cache_;
    // Engine thread only.
    boost::asio::steady_timer announce_timer_;
    reconcile::AnnounceLater owed_;
    std::uint64_t owed_generation_ = 0;
    // Created on the engine thread on first use (and again after a failure to
    // open the netlink socket).
    std::unique_ptr<reconcile::Kernel> kernel_;
    std::unique_ptr<reconcile::Engine> engine_;
    std::string tag_;  // of the running job; engine thread only
    std::function<void(reconcile::ProbeResult)> probe_progress_;
    std::atomic<bool> probe_stop_{false};
    std::mutex stop_mu_;
    std::string stop_for_;  // probe_key() of the change stop_probes() was for
    // A pending change told apart from the next: when applied (seconds) and its deadline.
    static std::string probe_key(const reconcile::PendingChange& c) {
        return c.started + "/" + std::to_string(c.deadline.time_since_epoch().count());
    }
    std::thread thread_;
};

}  // namespace netlab::daemon
