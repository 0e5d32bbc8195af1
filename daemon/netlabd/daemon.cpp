#include "netlabd/daemon.hpp"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

#include "cli/control_protocol.hpp"
#include "netlabd/fast_reload.hpp"
#include "netlabd/daemon_reply.hpp"
#include "netlabd/events.hpp"
#include "netlabd/log.hpp"
#include "reconcile/state_dir.hpp"
#include "model/duration.hpp"

namespace netlab::daemon {

namespace {

// ", 999 namespaces unchanged since the last reconcile not observed again"
std::string remembered_note(const reconcile::Outcome& o) {
    if (o.reused == 0) return "";
    return ", " + std::to_string(o.reused) + " namespace" + (o.reused == 1 ? "" : "s") +
           " unchanged since the last reconcile not observed again";
}

// NETLAB_NETNS and NETLAB_OBJECT of a failed apply: the namespace and the
// link of the step that failed ("" when no step failed).
events::Fields failed_step_fields(const reconcile::Outcome& o) {
    events::Fields f{.steps = o.plan.steps.size()};
    if (!o.failed_step || *o.failed_step >= o.plan.steps.size()) return f;
    using Op = reconcile::Step::Op;
    const auto& step = o.plan.steps[*o.failed_step];
    f.netns = step.ns.empty() ? "host" : step.ns;
    switch (step.op) {
    case Op::AddAddress:
    case Op::DelAddress: f.object = step.address.dev; break;
    case Op::AddRoute:
    case Op::ReplaceRoute:
    case Op::DelRoute: f.object = step.route.dev; break;
    case Op::DeleteGroup: f.object = step.members.empty() ? "" : step.members.front(); break;
    default: f.object = step.link.name; break;
    }
    return f;
}

// A job running longer than this is taken as stuck: the watchdog keep-alive
// is withheld so systemd restarts netlabd (and the journal restores the
// snapshot at the next start).
constexpr std::chrono::minutes kStuckAfter{10};

// One spelling for every status, netlabctl's JSON and netlabd's alike (docs/json.md).
const char* status_name(reconcile::Outcome::Status s) { return reconcile::to_string(s); }

std::size_t count_errors(const model::Diagnostics& d) {
    std::size_t n = 0;
    for (const auto& x : d)
        if (x.severity == model::Severity::Error) ++n;
    return n;
}

reconcile::Options engine_options(const Options& o) {
    reconcile::Options e;
    e.state_dir = o.state_dir;
    e.resolver.docker_socket = o.docker_socket;
    return e;
}

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
                           dirty_.all("a container event: " + trigger);
                           enqueue(JobResult::Mode::Apply, std::move(trigger), nullptr, false);
                       }),
      drift_(io_, opts_.state_dir, opts_.debounce, opts_.max_delay,
             [this](JobResult::Mode mode, std::string trigger, ControlServer::Reply reply) {
                 enqueue(mode, std::move(trigger), std::move(reply), false);
             }),
      started_(WallClock::now()),
      deadline_(io_),
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
    wait_signals();
    watch_.start();
    drift_.on_batch([this](const reconcile::KernelEvents& batch, bool) { on_kernel_events(batch); });
    drift_.start();
    notifier_.start_watchdog();
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
    bool known = cmd == "reload" || cmd == "apply" || cmd == "plan" || cmd == "confirm" || cmd == "rollback";
    if (known)
        spdlog::info("control: {}: {}", peer.str(), cmd);
    else
        spdlog::warn("control: {}: unknown command", peer.str());
    if (stopping_) {
        reply(error_reply("netlabd is stopping"));
    } else if (cmd == "reload" || cmd == "apply") {
        std::optional<std::chrono::seconds> confirm;
        if (cmd == "apply" && req.contains("confirm") && !req["confirm"].is_null()) {
            const auto& c = req["confirm"];
            if (!c.is_number_integer() || c.get<long long>() < 1 ||
                c.get<long long>() > model::kMaxConfirmDeadline.count()) {
                reply(error_reply("confirm must be a number of seconds from 1 to " +
                                  std::to_string(model::kMaxConfirmDeadline.count())));
                return;
            }
            confirm = std::chrono::seconds(c.get<long long>());
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
        enqueue(JobResult::Mode::Apply, trigger, std::move(reply), true, confirm, full);
    } else if (cmd == "plan") {
        enqueue(JobResult::Mode::Plan, "netlabctl plan", std::move(reply), false);
    } else if (cmd == "confirm") {
        confirm_request(req, std::move(reply));
    } else if (cmd == "rollback") {
        rollback_request(std::move(reply));
    } else {
        reply(error_reply("unknown command '" + cmd + "'"));
    }
}

// ---- scheduling --------------------------------------------------------------

void Daemon::enqueue(JobResult::Mode mode, std::string trigger, ControlServer::Reply waiter, bool reload,
                     std::optional<std::chrono::seconds> confirm, bool full) {
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
        queue_.push_back(Job{mode, {}, {}, false, std::nullopt, false, {}});
        job = &queue_.back();
    }
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
        std::optional<std::map<std::string, std::string>> identities;  // by why_full, for known_for_job
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
        if (job.mode == JobResult::Mode::Apply && !job.confirm) {
            // Nothing changed since the last verified reconcile: answered
            // without observing anything.
            const auto t0 = Clock::now();
            if (job.full) {
                job.full_because = "asked for (--full)";
            } else if (auto why = why_full(identities)) {
                job.full_because = *why;
            } else {
                answer_fast(job, trigger, t0);
                continue;
            }
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
        // Before the job starts for the dirty set: what why_full's poll
        // read predates the job and keeps its namespace out of what the
        // job takes from memory (nothing runs in between: one handler).
        reconcile::Known known;
        if (job.mode == JobResult::Mode::Apply && !job.full && !job.confirm && identities)
            known = known_for_job(*identities);
        // Handed to the job, or stale once a job that may write has run.
        if (job.mode != JobResult::Mode::Plan && job.mode != JobResult::Mode::Probe &&
            job.mode != JobResult::Mode::Confirm)
            remembered_.reset();
        running_ = std::move(job);
        running_since_ = Clock::now();
        std::map<std::string, model::Container> containers;
        if (in_force_) containers = in_force_->topology.containers;
        drift_.job_started(running_->mode);
        if (running_->mode != JobResult::Mode::Plan) dirty_.job_started();
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
    settle_dirty(r);
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

void Daemon::record_recovery(const JobResult& r, const reconcile::Outcome& o) {
    JobResult as_run;
    as_run.trigger = r.trigger;
    as_run.started = r.started;
    as_run.finished = r.finished;
    as_run.outcome = o;
    recovery_ = result_json(as_run);
    for (const auto& line : o.restored) spdlog::warn("recovery: restored {}", line);
    if (o.status == reconcile::Outcome::Status::RolledBack) {
        spdlog::warn("recovery: an interrupted transaction was found; its snapshot was restored ({} writes): {}",
                     o.writes, o.error);
        return;
    }
    held_ = "the crash recovery failed: " + o.error;
    spdlog::critical("recovery: FAILED: {}", o.error);
    spdlog::critical("recovery: netlabd changes nothing until `netlabctl reload` (systemctl reload netlab); "
                     "check the network first");
}

void Daemon::record_apply(Job& job, JobResult& r) {
    using S = reconcile::Outcome::Status;
    if (r.recovered) record_recovery(r, *r.recovered);
    const auto& o = r.outcome;
    ++reconciles_;
    std::string tag = "reconcile #" + std::to_string(reconciles_) + " (" + r.trigger + ")";
    std::size_t n = o.plan.steps.size();
    switch (o.status) {
    case S::Converged:
    case S::Changes:
    case S::Applied:
        for (const auto& d : o.diagnostics) spdlog::warn("{}", d.str());
        if (r.loaded)
            for (const auto& d : r.loaded->diagnostics)
                if (d.severity == model::Severity::Warning) spdlog::warn("{}", d.str());
        if (r.loaded && r.loaded->no_topology && (!in_force_ || !in_force_->no_topology)) {
            if (in_force_ && !in_force_->files.empty())
                spdlog::warn("{}: the topology files are gone from {}: netlabd manages nothing now and leaves "
                             "the network as it is (a topology.yaml of `version: 1` alone removes what netlab made)",
                             tag, opts_.config_dir.string());
            else
                spdlog::info("{}: no topology: {} holds neither topology.yaml nor topology.d/*.yaml or *.yml; netlabd "
                             "manages nothing until one is written",
                             tag, opts_.config_dir.string());
        }
        if (r.loaded) {
            bool changed_files = !in_force_ || in_force_->files != r.loaded->files;
            if (o.status == S::Applied || changed_files) in_force_since_ = r.finished;
            in_force_ = std::move(r.loaded);
            r.loaded.reset();
        }
        if (o.status == S::Applied)
            events::emit(spdlog::level::info, events::Kind::ReconcileDone, {.steps = n},
                         fmt::format("{}: applied {} steps, {} netlink writes, {:.3f} s{}; in force: {}{}", tag, n,
                                     o.writes, o.seconds, remembered_note(o), files_in_force(),
                                     r.full_because.empty() ? "" : "; fast path not taken: " + r.full_because));
        else
            events::emit(spdlog::level::info, events::Kind::ReconcileDone, {.steps = n},
                         fmt::format("{}: converged, no netlink write ({:.3f} s{}); in force: {}{}", tag, o.seconds,
                                     remembered_note(o), files_in_force(),
                                     r.full_because.empty() ? "" : "; fast path not taken: " + r.full_because));
        break;
    case S::Rejected:
        ++rejected_;
        // One diagnostic per line, file:line:col first, so journalctl and
        // `netlabctl reload` show exactly where.
        for (const auto& d : o.diagnostics) spdlog::error("{}", d.str());
        for (const auto& d : o.plan.refusals) spdlog::error("{}", d.str());
        {
            std::size_t errors = count_errors(o.diagnostics) + count_errors(o.plan.refusals);
            events::emit(spdlog::level::err, events::Kind::Rejected, {.steps = n},
                         fmt::format("{}: rejected ({} error{}); nothing was changed; still in force: {}", tag,
                                     errors, errors == 1 ? "" : "s", files_in_force()));
        }
        break;
    case S::RolledBack:
        if (o.failed_step && *o.failed_step < n)
            spdlog::error("{}: step {}/{} failed: {}: {}", tag, *o.failed_step + 1, n,
                          o.plan.steps[*o.failed_step].describe(), o.error);
        else
            spdlog::error("{}: failed: {}", tag, o.error);
        for (const auto& line : o.restored) spdlog::error("{}: restored {}", tag, line);
        events::emit(spdlog::level::err, events::Kind::RolledBack, failed_step_fields(o),
                     fmt::format("{}: rolled back and verified; still in force: {}", tag, files_in_force()));
        break;
    case S::Failed:
        for (const auto& line : o.restored) spdlog::critical("{}: restored {}", tag, line);
        events::emit(spdlog::level::critical, events::Kind::RolledBack, failed_step_fields(o),
                     fmt::format("{}: FAILED and the rollback did not verify; the network needs attention: {}", tag,
                                 o.error));
        break;
    }
    last_ = result_json(r);
    metrics_.count_apply(status_name(o.status), o.seconds, n,
                         std::chrono::duration<double>(r.finished.time_since_epoch()).count());
    if (r.owned) owned_ = r.owned;
    containers_ = std::move(r.containers);
    container_watch_.reconciled(tag, r.started, r.finished, containers_);
    if (in_force_) container_watch_.follow(in_force_->topology.containers, r.started);
    for (const auto& c : containers_)
        if (c.state != "attached")
            spdlog::warn("{}: container {} ({}): {}{}", tag, c.name, c.netns, c.state,
                         c.detail.empty() ? "" : ": " + c.detail);

    nlohmann::json reply = {{"version", control::kVersion}, {"ok", o.ok()}, {"result", *last_}};
    if (o.pending && pending_) {
        reply["pending"] = pending_json();
        events::emit(spdlog::level::warn, events::Kind::CommitPending, {.steps = n},
                     fmt::format("{}: commit-confirmed: pending until {} ({}): {}; `netlabctl confirm` keeps it, "
                                 "`netlabctl rollback` undoes it, and it is rolled back at the deadline",
                                 tag, iso_time(o.pending->deadline), o.pending->reason, o.pending->summary));
    }
    for (const auto& w : job.waiters) w(reply);
    job.waiters.clear();

    if (!ready_sent_) {
        notifier_.ready(status_line());
        ready_sent_ = true;
    } else if (job.reload) {
        notifier_.ready(status_line());
    } else {
        notifier_.status(status_line());
    }
}

void Daemon::begin_stop(const std::string& why) {
    stopping_ = true;
    spdlog::info("{}: stopping; the network is left as it is", why);
    notifier_.stopping("stopping");
    control_.stop();
    debounce_.cancel();
    // A pending change stays pending: its file keeps the deadline for the
    // next start.
    deadline_.cancel();
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

// ---- reports -----------------------------------------------------------------

std::string Daemon::files_in_force() const {
    if (!in_force_) return "nothing";
    if (in_force_->no_topology) return "no topology";
    return in_force_->files.empty() ? "(no files)" : join(in_force_->files);
}

nlohmann::json Daemon::result_json(const JobResult& r) const {
    const auto& o = r.outcome;
    nlohmann::json j = {
        {"trigger", r.trigger},
        {"started", iso_time(r.started)},
        {"finished", iso_time(r.finished)},
        {"status", status_name(o.status)},
        {"writes", o.writes},
        {"steps", o.plan.steps.size()},
        {"seconds", o.seconds},
    };
    if (r.loaded) j["files"] = r.loaded->files;
    if (r.mode == JobResult::Mode::Apply) {
        j["fast"] = false;
        if (!r.full_because.empty()) j["full_because"] = r.full_because;
        j["reused_namespaces"] = o.reused;
        j["phases"] = o.phases;
    }
    auto diags = nlohmann::json::array();
    for (const auto& d : o.diagnostics) diags.push_back(d.str());
    for (const auto& d : o.plan.refusals) diags.push_back(d.str());
    j["diagnostics"] = diags;
    if (!o.error.empty()) j["error"] = o.error;
    if (o.failed_step) j["failed_step"] = *o.failed_step;
    if (!o.restored.empty()) j["restored"] = o.restored;
    return j;
}

nlohmann::json Daemon::status_json() const {
    nlohmann::json j = {{"version", control::kVersion}, {"ok", true}};
    j["daemon"] = {
        {"pid", getpid()},
        {"config_dir", opts_.config_dir.string()},
        {"state_dir", opts_.state_dir.string()},
        {"docker_socket", opts_.docker_socket},
        {"started", iso_time(started_)},
        {"busy", running_.has_value()},
        {"queued", queue_.size()},
        {"reconciles", reconciles_},
        {"rejected", rejected_},
    };
    if (in_force_) {
        j["in_force"] = {{"files", in_force_->files},
                         {"since", iso_time(in_force_since_)},
                         {"no_topology", in_force_->no_topology}};
    } else {
        j["in_force"] = nullptr;
    }
    j["last"] = last_ ? *last_ : nlohmann::json();
    j["recovery"] = recovery_ ? *recovery_ : nlohmann::json();
    j["held"] = held_ ? nlohmann::json(*held_) : nlohmann::json();
    j["pending"] = pending_json();
    j["settled"] = settled_ ? *settled_ : nlohmann::json();
    if (owned_) {
        std::size_t adopted = 0;
        if (in_force_)
            for (const auto& [name, iface] : in_force_->topology.interfaces)
                if (iface.kind == model::InterfaceKind::Adopted) ++adopted;
        j["owned"] = {{"links", owned_->links}, {"routes", owned_->routes}, {"adopted", adopted}};
    } else {
        j["owned"] = nullptr;
    }
    auto containers = nlohmann::json::array();
    for (const auto& c : containers_) {
        nlohmann::json cj = {{"name", c.name}, {"netns", c.netns}, {"state", c.state}};
        if (!c.detail.empty()) cj["detail"] = c.detail;
        containers.push_back(cj);
    }
    j["containers"] = containers;
    j["reattach"] = container_watch_.status_json();
    j["drift"] = drift_.status_json();
    j["fast_reload"] = fast_reload_json();
    return j;
}

// ---- fast reload ---------------------------------------------------------------

std::optional<std::string> Daemon::why_full(std::optional<std::map<std::string, std::string>>& identities) {
    if (!in_force_ || !last_) return "nothing in force yet";
    if (!drift_.watching_all()) return drift_.not_watching_all();
    if (!container_watch_.docker_followed()) return "the Docker events are not followed right now";
    // What the kernel said until now counts.
    drift_.poll();
    const std::string input = input_bytes(config_bytes(opts_.config_dir), ledger_bytes(opts_.state_dir));
    identities = target_identities(in_force_->topology.containers, engine_options(opts_).resolver);
    return dirty_.why_full(input, *identities);
}

// The namespaces a reconcile may take from the last verified one instead of
// observing: every one the dirty set has had no event of, whose target
// still stats as the same namespace (`identities`: why_full's stat()s, after
// its poll of the event socket). Moved out of remembered_: the job hands
// back a fresh state when it verifies.
reconcile::Known Daemon::known_for_job(const std::map<std::string, std::string>& identities) {
    reconcile::Known k;
    if (!remembered_ || !in_force_ || !dirty_.has_baseline() || dirty_.all_dirty()) return k;
    const auto& baseline = *dirty_.baseline();
    const auto& containers = in_force_->topology.containers;
    k.state = std::move(*remembered_);
    remembered_.reset();
    for (auto it = k.state.begin(); it != k.state.end();) {
        bool keep = !dirty_.dirty().count(it->first);
        if (const std::string name = reconcile::container_of(it->first); keep && !name.empty()) {
            auto c = containers.find(name);
            auto then = baseline.targets.find(name);
            auto now = identities.find(name);
            keep = c != containers.end() && then != baseline.targets.end() && now != identities.end() &&
                   c->second.netns.kind != model::NetnsTarget::Kind::Docker && now->second == then->second;
            if (keep) k.targets[it->first] = c->second.netns.str();
        }
        it = keep ? std::next(it) : k.state.erase(it);
    }
    return k;
}

void Daemon::answer_fast(Job& job, const std::string& trigger, Clock::time_point t0) {
    ++reconciles_;
    ++fast_;
    const std::string tag = "reconcile #" + std::to_string(reconciles_) + " (" + trigger + ")";
    const auto now = WallClock::now();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const char* message =
        "converged, nothing changed since the last reconcile (files identical, no kernel or container events)";
    nlohmann::json j = {
        {"trigger", trigger},  {"started", iso_time(now)}, {"finished", iso_time(now)}, {"status", "converged"},
        {"writes", 0},         {"steps", 0},               {"seconds", seconds},        {"fast", true},
        {"message", message},  {"files", in_force_->files}, {"diagnostics", nlohmann::json::array()},
    };
    last_ = j;
    metrics_.count_apply("converged", seconds, 0, std::chrono::duration<double>(now.time_since_epoch()).count());
    publish_metrics();
    spdlog::info("{}: {}: fast path, nothing attached or observed ({:.1f} ms); in force: {}", tag, message,
                 seconds * 1000, files_in_force());
    nlohmann::json reply = {{"version", control::kVersion}, {"ok", true}, {"result", j}};
    for (const auto& w : job.waiters) w(reply);
    if (!ready_sent_ || job.reload) {
        notifier_.ready(status_line());
        ready_sent_ = true;
    } else {
        notifier_.status(status_line());
    }
}

void Daemon::on_kernel_events(const reconcile::KernelEvents& batch) {
    for (const auto& e : batch.events) dirty_.event(std::nullopt, e);
    for (const auto& p : batch.peers) dirty_.event(p.nsid, p.event);
    for (int id : batch.nsids_new) dirty_.nsid_added(id);
    for (int id : batch.nsids_del) dirty_.nsid_deleted(id);
    if (batch.lost) dirty_.all("kernel events were lost (ENOBUFS)");
}

void Daemon::settle_dirty(const JobResult& r) {
    using S = reconcile::Outcome::Status;
    using M = JobResult::Mode;
    switch (r.mode) {
    case M::Plan: return;  // not in a job for the dirty set
    case M::Probe:
    case M::Confirm: dirty_.job_ended_without_writes(); return;
    case M::Recover:
        if (r.journal_found) dirty_.forget("a crash recovery ran");
        else dirty_.job_ended_without_writes();
        return;
    case M::Rollback: dirty_.forget("a commit-confirmed change was rolled back"); return;
    case M::Apply: break;
    }
    const auto& o = r.outcome;
    ++full_;
    last_full_because_ = r.full_because;
    std::string why;
    if (o.status != S::Converged && o.status != S::Applied)
        why = std::string("the last reconcile ended ") + status_name(o.status);
    else if (o.pending)
        why = "a commit-confirmed change is pending";
    else if (r.recovered)
        why = "the last reconcile recovered an interrupted transaction first";
    else if (!drift_.watching_all())
        why = drift_.not_watching_all();
    for (const auto& c : containers_) {
        if (!why.empty()) break;
        if (c.state != "attached")
            why = "container " + c.name + " is " + c.state;
    }
    if (why.empty() && in_force_) {
        if (r.nsids.size() != in_force_->topology.containers.size())
            why = "a container namespace has no nsid, so its events are not heard";
    }
    if (!why.empty()) {
        spdlog::debug("fast reload: not until a reconcile verifies again: {}", why);
        dirty_.forget(why);
        return;
    }
    remembered_ = o.state;
    std::set<reconcile::NsId> written;
    if (o.status == S::Applied)
        for (const auto& step : o.plan.steps) {
            written.insert(step.ns);
            if (!step.link.peer_name.empty()) written.insert(step.link.peer_ns);
            if (!step.link.parent.empty()) written.insert(step.link.parent_ns);
        }
    dirty_.clean(reconcile::Baseline{r.input, r.targets, r.nsids, drift_.desired()}, written);
}

nlohmann::json Daemon::fast_reload_json() const {
    auto dirty = nlohmann::json::array();
    for (const auto& [ns, why] : dirty_.dirty()) {
        if (dirty.size() == 20) break;
        dirty.push_back({{"namespace", ns.empty() ? "host" : ns}, {"why", why}});
    }
    nlohmann::json j = {
        {"containers_heard", drift_.watching_all()},
        {"baseline", dirty_.has_baseline()},
        {"all_dirty", dirty_.all_dirty() ? nlohmann::json(*dirty_.all_dirty()) : nlohmann::json()},
        {"dirty", dirty},
        {"dirty_count", dirty_.dirty().size()},
        {"events", {{"as_desired", dirty_.events_as_desired()}, {"drift", dirty_.events_drift()}}},
        {"fast", fast_},
        {"full", full_},
        {"last_full_because", last_full_because_ ? nlohmann::json(*last_full_because_) : nlohmann::json()},
    };
    return j;
}

std::string Daemon::status_line() const {
    if (held_) return "HELD: nothing is applied until `netlabctl reload`: " + *held_;
    if (pending_)
        return "PENDING: a change waits for `netlabctl confirm` until " + iso_time(pending_->change.deadline) +
               "; in force: " + files_in_force();
    if (!last_) return "starting";
    std::string st = (*last_)["status"].get<std::string>();
    std::string s;
    if ((st == "applied" || st == "converged") && in_force_ && in_force_->no_topology)
        s = "no topology in " + opts_.config_dir.string() + ": managing nothing";
    else if (st == "applied" || st == "converged")
        s = st + "; in force: " + files_in_force();
    else if (st == "rejected")
        s = "last change rejected (see journal); in force: " + files_in_force();
    else if (st == status_name(reconcile::Outcome::Status::RolledBack))
        s = "last change failed and was rolled back; in force: " + files_in_force();
    else
        s = "FAILED: rollback did not verify; the network needs attention";
    return s;
}

}  // namespace netlab::daemon
