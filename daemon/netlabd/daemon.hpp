// netlabd's event loop: decides WHEN to reconcile and reports how it went.
// Event sources (each feeds enqueue()): start-up, inotify on the config
// directory (debounced), SIGHUP, the control socket, container events
// (ContainerWatch), drift (DriftWatch). Commit-confirmed deadlines plug in
// the same way. Jobs run one at
// a time on the engine thread (Reconciler); the loop itself never blocks.
#pragma once

#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>
#include <nlohmann/json.hpp>

#include "model/load.hpp"
#include "netlabd/config_watch.hpp"
#include "netlabd/container_watch.hpp"
#include "netlabd/control_server.hpp"
#include "netlabd/drift.hpp"
#include "netlabd/metrics.hpp"
#include "netlabd/notify.hpp"
#include "netlabd/options.hpp"
#include "netlabd/reconciler.hpp"
#include "reconcile/watch/fast_reload.hpp"

namespace netlab::daemon {

class Daemon {
public:
    explicit Daemon(Options opts);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    int run();  // until SIGTERM/SIGINT; returns the exit code

private:
    using Clock = std::chrono::steady_clock;
    using WallClock = std::chrono::system_clock;

    struct Job {
        JobResult::Mode mode = JobResult::Mode::Apply;
        std::vector<std::string> triggers;          // coalesced requests, in arrival order
        std::vector<ControlServer::Reply> waiters;  // control clients waiting for the outcome
        bool reload = false;                        // systemd was told RELOADING=1
        std::optional<std::chrono::seconds> confirm;  // Apply: netlabctl apply --confirm DUR
        bool full = false;          // Apply: netlabctl reload --full (never the fast path)
        std::string full_because;   // Apply: why the fast path was not taken
        // Apply: the revision's origin (of the first request) and who asked,
        // one line per request (docs/daemon.md, "Revisions").
        std::string origin;
        std::vector<std::string> by;
        // Apply for `rollback --to`: where the files it replaced were moved
        // (put back when it does not take).
        std::optional<std::filesystem::path> replaced;
    };

    // event sources
    void on_file_event(const std::string& what);
    void on_debounce_expired();
    void wait_signals();
    void on_request(const nlohmann::json& req, const Peer& peer, ControlServer::Reply reply);

    // scheduling
    // `by`: who asked, for the revision (the trigger when empty); `client`:
    // what a control-socket client says it is (reconcile::origin_of).
    void enqueue(JobResult::Mode mode, std::string trigger, ControlServer::Reply waiter, bool reload,
                 std::optional<std::chrono::seconds> confirm = std::nullopt, bool full = false,
                 std::string by = {}, const std::string& client = {});
    void start_next();
    void on_done(JobResult r);
    void record_apply(Job& job, JobResult& r);

    // The fast reload (reconcile/watch/fast_reload.hpp decides; daemon_fast_reload.cpp):
    // whether an apply must reconcile, answering one that need not, and what
    // a finished job leaves for the next.
    reconcile::FastReload::Decision fast_or_full(const Job& job);
    void answer_fast(Job& job, const std::string& trigger, Clock::time_point t0);
    void settle_fast_reload(const JobResult& r);
    void record_recovery(const JobResult& r, const reconcile::Outcome& o);
    void retry_recovery_later(const reconcile::Outcome& o);

    // commit-confirmed (docs/daemon.md)
    void confirm_request(const nlohmann::json& req, ControlServer::Reply reply);
    void rollback_request(ControlServer::Reply reply);
    void pending_started(const reconcile::PendingChange& change, bool probe);
    void arm_deadline();
    void on_deadline(const std::string& id);
    void record_probe(const JobResult& r);
    void probe_progress(reconcile::ProbeResult so_far);
    void stop_probing();
    void record_settled(Job& job, JobResult& r);
    nlohmann::json pending_json() const;
    bool engine_alive() const;

    // revisions (daemon_revisions.cpp)
    void load_revisions();
    void record_revision(const Job& job, const JobResult& r);
    void give_back_files(const Job& job, const std::string& why);  // rollback --to did not take
    void history_request(ControlServer::Reply reply);
    // Marks the pending change's revision with how it settled.
    void settle_revision(const std::string& status, const std::string& by, const std::string& at);
    void diff_request(const nlohmann::json& req, ControlServer::Reply reply);
    void rollback_to_request(const nlohmann::json& req, const Peer& peer, ControlServer::Reply reply);

    void begin_stop(const std::string& why);
    void finish_stop();

    // reports
    void publish_metrics();  // --metrics-file (daemon_metrics.cpp)
    nlohmann::json status_json() const;
    nlohmann::json result_json(const JobResult& r) const;
    std::string status_line() const;
    std::string files_in_force() const;

    Options opts_;
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer debounce_;
    std::optional<Clock::time_point> burst_start_;
    std::vector<std::string> burst_what_;
    Notifier notifier_;
    ConfigWatch watch_;
    ControlServer control_;
    ContainerWatch container_watch_;  // re-attach on container restarts
    DriftWatch drift_;                // repair or report changes made from outside

    std::deque<Job> queue_;
    std::optional<Job> running_;
    std::optional<Clock::time_point> running_since_;
    bool ready_sent_ = false;
    bool stopping_ = false;
    bool finishing_ = false;  // inside on_done: start_next waits for its end

    // What is in force and how the last runs went (read by `status`).
    WallClock::time_point started_;
    std::optional<model::Loaded> in_force_;
    WallClock::time_point in_force_since_;
    std::optional<nlohmann::json> last_;
    std::optional<nlohmann::json> recovery_;
    std::deque<nlohmann::json> history_;  // the revisions kept, as `history` lists them
    // Set when a crash recovery failed: no reconcile runs until one is asked
    // for explicitly (netlabctl reload/apply, SIGHUP) — the admin has then
    // been told and looked. File changes meanwhile are logged, not applied.
    // Also after a commit-confirmed rollback; that hold is kept in
    // STATE_DIR/held and survives restarts.
    std::optional<std::string> held_;
    // Commit-confirmed: the change applied and waiting for `netlabctl
    // confirm` (also found at start in the state directory). While it is
    // pending, applies are deferred (`deferred_`); its deadline is
    // wall-clock time (it survives restarts).
    struct Pending {
        reconcile::PendingChange change;
        bool probing = false;
        // What was in force before it (unknown after a restart).
        std::optional<model::Loaded> previous;
        WallClock::time_point previous_since;
    };
    std::optional<Pending> pending_;
    boost::asio::system_timer deadline_;
    // An interrupted transaction with Docker steps whose recovery waits for
    // Docker to answer: the journal is kept and an apply (which recovers
    // first) is retried with backoff; `status` says so (recovery.retry).
    boost::asio::steady_timer recovery_retry_;
    unsigned recovery_attempts_ = 0;
    std::optional<std::string> recovery_waiting_;
    std::vector<std::string> deferred_;          // triggers not applied while pending
    std::optional<nlohmann::json> settled_;      // how the last pending change ended
    std::optional<OwnedCount> owned_;
    std::vector<ContainerStatus> containers_;
    std::uint64_t reconciles_ = 0;
    // What netlabd remembers of the kernel and what changed since: whether
    // an apply may skip the reconcile, and what one need not observe again.
    reconcile::FastReload fast_reload_;
    std::uint64_t rejected_ = 0;
    Metrics metrics_;
    std::string metrics_error_;  // the last write's failure, logged once

    // Last: its destructor waits for the engine thread, whose results are
    // posted to io_.
    Reconciler reconciler_;
};

}  // namespace netlab::daemon
