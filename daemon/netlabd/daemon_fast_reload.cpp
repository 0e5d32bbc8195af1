// netlabd's side of the fast reload (reconcile::FastReload decides): what
// it hears now and the input it reads for the decision, the answer to an
// apply that need not reconcile, and what a finished job leaves.
#include <spdlog/spdlog.h>

#include "protocol/control_protocol.hpp"
#include "netlabd/daemon.hpp"
#include "netlabd/daemon_reply.hpp"
#include "netlabd/log.hpp"
#include "netlabd/reload_input.hpp"

namespace netlab::daemon {

reconcile::FastReload::Decision Daemon::fast_or_full(const Job& job) {
    reconcile::FastReload::Hearing hearing;
    if (in_force_ && last_) hearing.in_force = &in_force_->topology;
    if (!drift_.watching_all()) hearing.deaf = drift_.not_watching_all();
    hearing.docker_followed = container_watch_.docker_followed();
    return fast_reload_.before_apply(job.full, job.confirm.has_value(), hearing, [this] {
        // What the kernel said until now counts.
        drift_.poll();
        return reconcile::FastReload::Input{
            input_bytes(config_bytes(opts_.config_dir), ledger_bytes(opts_.state_dir)),
            target_identities(in_force_->topology.containers, engine_options(opts_).resolver)};
    });
}

void Daemon::answer_fast(Job& job, const std::string& trigger, Clock::time_point t0) {
    ++reconciles_;
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

void Daemon::settle_fast_reload(const JobResult& r) {
    reconcile::FastReload::JobEnd end;
    end.kind = r.mode;
    end.journal_found = r.journal_found;
    if (r.mode == JobResult::Mode::Apply) {
        end.outcome = &r.outcome;
        end.recovered = r.recovered.has_value();
        end.full_because = r.full_because;
        if (!drift_.watching_all()) end.deaf = drift_.not_watching_all();
        // record_apply has made them the job's.
        for (const auto& c : containers_) end.containers.emplace_back(c.name, c.state);
        if (in_force_) end.containers_in_force = in_force_->topology.containers.size();
        end.baseline = reconcile::Baseline{r.input, r.targets, r.nsids, drift_.desired()};
    }
    if (auto why = fast_reload_.job_ended(std::move(end)))
        spdlog::debug("fast reload: not until a reconcile verifies again: {}", *why);
    // What the job left dirty is what it neither wrote nor observed, changed
    // by someone else while it ran: inside a container, drift.
    if (r.mode == JobResult::Mode::Apply && r.outcome.ok() && fast_reload_.dirty().has_baseline() &&
        !fast_reload_.dirty().all_dirty())
        for (const auto& [ns, why] : fast_reload_.dirty().dirty())
            if (!ns.empty()) drift_.changed_during_job(ns, why);
}

}  // namespace netlab::daemon
