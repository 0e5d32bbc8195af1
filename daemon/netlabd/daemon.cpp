// Daemon: the event loop's sources (files, signals, the control socket),
// the job queue, and stopping. What a finished job is reported as is
// daemon_report.cpp's, the fast reload's glue daemon_fast_reload.cpp's,
// commit-confirmed's daemon_confirm.cpp's.
#include "netlabd/daemon.hpp"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

#include "protocol/control_protocol.hpp"
#include "netlabd/daemon_reply.hpp"
#include "netlabd/events.hpp"
#include "netlabd/log.hpp"
#include "reconcile/apply/revision.hpp"
#include "reconcile/apply/state_dir.hpp"
#include "model/duration.hpp"

namespace netlab::daemon {

namespace {

// A job running longer than this is taken as stuck: the watchdog keep-alive
// is withheld so systemd restarts netlabd (and the journal restores the
// snapshot at the next start).
constexpr std::chrono::minutes kStuckAfter{10};

// The hold after a commit-confirmed rollback, kept in the state directory:
// the files still ask for what was rolled back, and a restart of netlabd
// (systemctl restart, Restart=on-failure, the watchdog) must not apply it
// at start without a deadline.
void drop_held(const Options& o) {
    try {
        reconcile::StateDirectory(o.state_dir).drop_held();
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
    }
}

}  // namespace

Daemon::Daemon(Options opts)
    : opts_(std::move(opts)),
      signals_(io_, SIGHUP, SIGTERM, SIGINT),
      debounce_(io_),
      notifier_(io_, [this] { return engine_alive(); }),
      watch_(io_, opts_.config_dir, [this](const std::string& what) { on_file_event(what); }),
      control_(io_, opts_.socket, opts_.status_group,
               [this](const nlohmann::json& req, const Peer& peer, ControlServer::Reply reply) {
                   on_request(req, peer, std::move(reply));
               },
               ControlServer::Limits{control::kMaxRequestBytes, std::chrono::seconds(10),
                                     SessionQuota::Caps{.root = 16, .per_user = 4, .users = 32}}),
      container_watch_(io_, engine_options(opts_).resolver, opts_.debounce,
                       [this](std::string trigger) {
                           fast_reload_.all_stale("a container event: " + trigger);
                           enqueue(JobResult::Mode::Apply, std::move(trigger), nullptr, false);
                       }),
      drift_(io_, opts_.state_dir, opts_.debounce, opts_.max_delay,
             [this](JobResult::Mode mode, std::string trigger, ControlServer::Reply reply) {
                 enqueue(mode, std::move(trigger), std::move(reply), false);
             }),
      started_(WallClock::now()),
      deadline_(io_),
      recovery_retry_(io_),
      reconciler_(io_, opts_.config_dir, engine_options(opts_)) {}

Daemon::~Daemon() = default;

int Daemon::run() {
    spdlog::info("netlabd {} starting: config {}, state {}, socket {}, docker {}", getpid(),
                 opts_.config_dir.string(), opts_.state_dir.string(), opts_.socket.string(), opts_.docker_socket);
    if (std::error_code ec = reconcile::StateDirectory(opts_.state_dir).make()) {
        spdlog::critical("state directory {}: {}", opts_.state_dir.string(), ec.message());
        return 1;
    }
    if (auto why = reconcile::StateDirectory(opts_.state_dir).held()) {
        held_ = *why;
        spdlog::warn("held since before this start ({}): {}; nothing is applied until `netlabctl reload` "
                     "(systemctl reload netlab) or `netlabctl apply`",
                     reconcile::StateDirectory(opts_.state_dir).held_path().string(), *held_);
    }
    try {
        control_.start();
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
    load_revisions();
    wait_signals();
    watch_.start();
    drift_.on_batch([this](const reconcile::KernelEvents& batch, bool) { fast_reload_.on_kernel_events(batch); });
    drift_.start();
    container_watch_.on_network_event([this](const reconcile::docker::Event& e) {
        // The fast reload judges the kernel only: a network gone from Docker
        // needs the full reconcile.
        if (auto drift = drift_.docker_network_event(e); !drift.empty()) fast_reload_.all_stale(drift);
    });
    notifier_.start_watchdog();
    reconciler_.on_probe_progress([this](reconcile::ProbeResult so_far) { probe_progress(std::move(so_far)); });
    // A journal left by an interrupted transaction is restored before anything else.
    enqueue(JobResult::Mode::Recover, "start", nullptr, false);
    enqueue(JobResult::Mode::Apply, "start", nullptr, false);
    io_.run();
    spdlog::info("netlabd stopped; the network is left as it is");
    return 0;
}

// ---- event sources -----------------------------------------------------------

void Daemon::on_file_event(const std::string& what) {
    if (stopping_) return;
    spdlog::debug("watch: {}", what);
    auto now = Clock::now();
    if (!burst_start_) burst_start_ = now;
    if (burst_what_.size() < 8 && std::find(burst_what_.begin(), burst_what_.end(), what) == burst_what_.end())
        burst_what_.push_back(what);
    // Trailing debounce: a burst of writes gives one reconcile of the final
    // content; a steady stream still reconciles every max_delay.
    auto deadline = std::min(now + opts_.debounce, *burst_start_ + opts_.max_delay);
    debounce_.expires_at(deadline);
    debounce_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) on_debounce_expired();
    });
}

void Daemon::on_debounce_expired() {
    std::string trigger = "files changed: " + join(burst_what_);
    burst_start_.reset();
    burst_what_.clear();
    enqueue(JobResult::Mode::Apply, std::move(trigger), nullptr, false);
}

void Daemon::wait_signals() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            spdlog::info("SIGHUP: reloading {}", opts_.config_dir.string());
            if (!stopping_) {
                notifier_.reloading("reloading (SIGHUP)");
                enqueue(JobResult::Mode::Apply, "SIGHUP", nullptr, true);
            }
        } else if (!stopping_) {
            begin_stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
        } else {
            spdlog::warn("{} again: still waiting for the running transaction to end",
                         sig == SIGTERM ? "SIGTERM" : "SIGINT");
        }
        wait_signals();
    });
}

void Daemon::on_request(const nlohmann::json& req, const Peer& peer, ControlServer::Reply reply) {
    std::string cmd = req.at("cmd").get<std::string>();
    if (cmd == "status") {
        reply(status_json());
        return;
    }
    bool known = cmd == "reload" || cmd == "apply" || cmd == "plan" || cmd == "confirm" || cmd == "rollback" ||
                 cmd == "history" || cmd == "diff";
    if (known)
        spdlog::info("control: {}: {}", peer.str(), cmd);
    else
        spdlog::warn("control: {}: unknown command", peer.str());
    if (stopping_) {
        reply(error_reply("netlabd is stopping"));
    } else if (cmd == "reload" || cmd == "apply") {
        std::optional<std::chrono::seconds> confirm;
        std::string bad;
        if (cmd == "apply" && !confirm_of(req, confirm, bad)) {
            reply(error_reply(bad));
            return;
        }
        if (pending_) {
            reply(error_reply("a commit-confirmed change is pending until " + iso_time(pending_->change.deadline) +
                              ": `netlabctl confirm` or `netlabctl rollback` first; nothing was changed"));
            return;
        }
        const bool full = cmd == "reload" && req.contains("full") && req["full"].is_boolean() && req["full"].get<bool>();
        const std::string trigger = "netlabctl " + cmd +
                                    (confirm ? " --confirm " + model::format_duration(*confirm) : "") +
                                    (full ? " --full" : "");
        notifier_.reloading("reloading (" + trigger + ")");
        const std::string client = req.contains("client") && req["client"].is_string() ? req["client"].get<std::string>() : "";
        enqueue(JobResult::Mode::Apply, trigger, std::move(reply), true, confirm, full,
                trigger + ": " + peer.str() + (client.empty() ? "" : " (" + client + ")"), client);
    } else if (cmd == "plan") {
        enqueue(JobResult::Mode::Plan, "netlabctl plan", std::move(reply), false);
    } else if (cmd == "confirm") {
        confirm_request(req, std::move(reply));
    } else if (cmd == "history") {
        history_request(std::move(reply));
    } else if (cmd == "diff") {
        diff_request(req, std::move(reply));
    } else if (cmd == "rollback" && req.contains("to")) {
        rollback_to_request(req, peer, std::move(reply));
    } else if (cmd == "rollback") {
        rollback_request(std::move(reply));
    } else {
        reply(error_reply("unknown command '" + cmd + "'"));
    }
}

// ---- scheduling --------------------------------------------------------------

void Daemon::enqueue(JobResult::Mode mode, std::string trigger, ControlServer::Reply waiter, bool reload,
                     std::optional<std::chrono::seconds> confirm, bool full, std::string by,
                     const std::string& client) {
    if (stopping_) {
        if (waiter) waiter(error_reply("netlabd is stopping"));
        return;
    }
    // An apply that has not started yet reads the files when it starts, so a
    // later request joins it instead of queueing another.
    Job* job = nullptr;
    if (mode == JobResult::Mode::Apply)
        for (auto& q : queue_)
            if (q.mode == mode) job = &q;
    if (!job) {
        queue_.push_back(Job{mode, {}, {}, false, std::nullopt, false, {}, {}, {}, std::nullopt});
        job = &queue_.back();
    }
    if (job->origin.empty()) job->origin = reconcile::origin_of(trigger, client);
    job->by.push_back(by.empty() ? trigger : std::move(by));
    job->triggers.push_back(std::move(trigger));
    if (waiter) job->waiters.push_back(std::move(waiter));
    job->reload = job->reload || reload;
    if (confirm) job->confirm = confirm;
    job->full = job->full || full;
    start_next();
}

void Daemon::start_next() {
    // on_done starts the next job itself once the drift watch has taken the
    // echo of the one that ended: jobs it queues meanwhile wait for that.
    if (finishing_) return;
    while (!running_ && !queue_.empty() && !stopping_) {
        Job job = std::move(queue_.front());
        queue_.pop_front();
        const std::string trigger = join(job.triggers, " + ");
        if (job.mode == JobResult::Mode::Apply && pending_) {
            // Never applied over a pending change: its rollback must find
            // the network as the change left it.
            spdlog::warn("{}: deferred: a commit-confirmed change is pending until {} (`netlabctl confirm` or "
                         "`netlabctl rollback`)",
                         trigger, iso_time(pending_->change.deadline));
            for (auto& w : job.waiters)
                w(error_reply("a commit-confirmed change is pending until " + iso_time(pending_->change.deadline) +
                              ": `netlabctl confirm` or `netlabctl rollback` first; nothing was changed"));
            if (job.waiters.empty()) deferred_.push_back(trigger);
            give_back_files(job, "deferred");
            // The start-up reconcile deferred behind a change found pending:
            // systemd must still hear READY=1.
            if (job.reload || !ready_sent_) notifier_.ready(status_line());
            ready_sent_ = true;
            continue;
        }
        if (job.mode == JobResult::Mode::Apply && held_) {
            if (!job.reload) {
                spdlog::warn("{}: not applied: held ({}); netlabd changes nothing until `netlabctl reload` "
                             "(systemctl reload netlab) or `netlabctl apply`",
                             trigger, *held_);
                for (auto& w : job.waiters) w(error_reply("held: " + *held_));
                continue;
            }
            spdlog::warn("{}: going on, as asked, after: {}", trigger, *held_);
            held_.reset();
            drop_held(opts_);
        }
        // Before the job starts for the dirty set: what the poll before the
        // decision read predates the job and keeps its namespace out of what
        // the job takes from memory (nothing runs in between: one handler).
        reconcile::Known known;
        if (job.mode == JobResult::Mode::Apply) {
            const auto t0 = Clock::now();
            auto decision = fast_or_full(job);
            if (decision.fast) {
                // Nothing changed since the last verified reconcile: answered
                // without observing anything.
                answer_fast(job, trigger, t0);
                continue;
            }
            job.full_because = std::move(decision.full_because);
            known = std::move(decision.known);
        }
        std::string tag = "recovery";
        if (job.mode == JobResult::Mode::Apply) {
            // This job reads the files now: pending file events are covered.
            debounce_.cancel();
            burst_start_.reset();
            burst_what_.clear();
            // The number record_apply gives it: applies run one at a time.
            tag = "reconcile #" + std::to_string(reconciles_ + 1) + " (" + trigger + ")";
        } else if (job.mode == JobResult::Mode::Plan) {
            tag = "plan";
        } else if (job.mode == JobResult::Mode::Probe) {
            tag = "commit-confirmed: probe";
        } else if (job.mode == JobResult::Mode::Confirm || job.mode == JobResult::Mode::Rollback) {
            tag = "commit-confirmed: " + trigger;
        }
        running_ = std::move(job);
        running_since_ = Clock::now();
        std::map<std::string, model::Container> containers;
        if (in_force_) containers = in_force_->topology.containers;
        drift_.job_started(running_->mode);
        fast_reload_.job_started(running_->mode);
        reconciler_.run(running_->mode, trigger, std::move(tag), std::move(containers), running_->confirm,
                        std::move(known), [this](JobResult r) { on_done(std::move(r)); });
    }
}

bool Daemon::engine_alive() const { return !running_since_ || Clock::now() - *running_since_ < kStuckAfter; }

void Daemon::on_done(JobResult r) {
    finishing_ = true;
    Job job = std::move(*running_);
    running_.reset();
    running_since_.reset();
    const auto& o = r.outcome;

    switch (r.mode) {
    case JobResult::Mode::Recover:
        if (r.journal_found || o.status == reconcile::Outcome::Status::Failed)
            record_recovery(r, o);
        else
            spdlog::debug("recovery: no interrupted transaction");
        if (!r.pending_error.empty()) {
            held_ = r.pending_error;
            spdlog::critical("commit-confirmed: {}", r.pending_error);
        } else if (r.pending) {
            spdlog::warn("commit-confirmed: a change applied {} is still pending (found in {}); {}",
                         r.pending->started, opts_.state_dir.string(),
                         r.pending->deadline <= WallClock::now() ? "its deadline has passed"
                                                                 : "its deadline is re-armed");
            pending_started(*r.pending, !r.pending->probe);
        }
        if (held_) {
            // The start-up reconcile will not run: tell systemd now.
            if (!ready_sent_) {
                notifier_.ready(status_line());
                ready_sent_ = true;
            } else {
                notifier_.status(status_line());
            }
        }
        break;
    case JobResult::Mode::Plan: {
        nlohmann::json reply = {{"version", control::kVersion}, {"ok", o.ok()}, {"result", result_json(r)}};
        try {
            reply["outcome"] = o.to_json();
        } catch (const std::exception& e) {
            spdlog::warn("plan: outcome as JSON: {}", e.what());
        }
        for (auto& w : job.waiters) w(reply);
        job.waiters.clear();
        break;
    }
    case JobResult::Mode::Apply:
        r.full_because = job.full_because;
        if (r.outcome.pending) {
            std::optional<model::Loaded> previous = in_force_;
            pending_started(*r.outcome.pending, true);
            pending_->previous = std::move(previous);
            pending_->previous_since = in_force_since_;
        }
        record_apply(job, r);
        break;
    case JobResult::Mode::Probe:
        record_probe(r);
        break;
    case JobResult::Mode::Confirm:
    case JobResult::Mode::Rollback:
        record_settled(job, r);
        break;
    }
    for (auto& w : job.waiters) w(error_reply("internal error: no reply"));
    drift_.job_ended(r, in_force_ ? &in_force_->topology : nullptr);
    settle_fast_reload(r);
    publish_metrics();
    finishing_ = false;
    // Once `r` is gone: a reconcile of 1000 containers frees tens of
    // thousands of small blocks, from the engine thread's arena and this
    // one; glibc keeps them unless asked (W6: netlabd's RSS stays flat).
    boost::asio::post(io_, [] { ::malloc_trim(0); });
    if (stopping_)
        finish_stop();
    else
        start_next();
}

void Daemon::begin_stop(const std::string& why) {
    stopping_ = true;
    spdlog::info("{}: stopping; the network is left as it is", why);
    notifier_.stopping("stopping");
    control_.stop();
    debounce_.cancel();
    recovery_retry_.cancel();
    // A pending change stays pending: its file keeps the deadline for the
    // next start (and its probes run again there).
    deadline_.cancel();
    stop_probing();
    container_watch_.stop();
    drift_.stop();
    for (auto& job : queue_)
        for (auto& w : job.waiters) w(error_reply("netlabd is stopping"));
    queue_.clear();
    if (running_)
        spdlog::info("waiting for the running transaction to end");
    else
        finish_stop();
}

void Daemon::finish_stop() { io_.stop(); }

}  // namespace netlab::daemon
