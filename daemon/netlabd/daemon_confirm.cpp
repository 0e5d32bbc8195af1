// netlabd's side of commit-confirmed: the deadline timer, the probe job and
// what its verdict starts (a rollback at once, or in auto mode a confirm),
// the socket's confirm and rollback, and what a settled change leaves
// (status, the hold). What a pending change is and when a confirm is refused
// is reconcile/apply/commit_confirmed's.
#include <spdlog/spdlog.h>

#include "protocol/control_protocol.hpp"
#include "netlabd/daemon.hpp"
#include "netlabd/daemon_reply.hpp"
#include "netlabd/events.hpp"
#include "netlabd/log.hpp"
#include "model/duration.hpp"
#include "reconcile/apply/commit_confirmed.hpp"
#include "reconcile/apply/state_dir.hpp"

namespace netlab::daemon {

void Daemon::pending_started(const reconcile::PendingChange& change, bool probe) {
    // Found at start with its window unfinished (netlabd stopped while it
    // probed): probed again. No probe for a change whose deadline has
    // passed: it is rolled back at once.
    const bool unfinished = change.probe && (change.probe->verdict == "running" || change.probe->verdict == "stopped");
    probe = (probe || unfinished) && change.deadline > WallClock::now();
    pending_ = Pending{change, probe, std::nullopt, {}};
    arm_deadline();
    if (probe) enqueue(JobResult::Mode::Probe, "probe", nullptr, false);
    // Found at start after a probe had failed, before its rollback ran.
    if (change.probe && change.probe->verdict == "failed" && change.deadline > WallClock::now())
        enqueue(JobResult::Mode::Rollback, "probe", nullptr, false);
    notifier_.status(status_line());
}

void Daemon::arm_deadline() {
    const std::string id = pending_->change.id;
    // Wall-clock: the deadline was set as a time of day and survives restarts.
    deadline_.expires_at(pending_->change.deadline);
    deadline_.async_wait([this, id](const boost::system::error_code& ec) {
        if (!ec) on_deadline(id);
    });
}

void Daemon::on_deadline(const std::string& id) {
    if (stopping_ || !pending_ || pending_->change.id != id) return;
    stop_probing();
    for (const auto& q : queue_)
        if (q.mode == JobResult::Mode::Rollback) return;
    spdlog::warn("commit-confirmed: the deadline {} has come without `netlabctl confirm`; rolling back",
                 iso_time(pending_->change.deadline));
    enqueue(JobResult::Mode::Rollback, "deadline", nullptr, false);
}

void Daemon::confirm_request(const nlohmann::json& req, ControlServer::Reply reply) {
    const bool force = req.value("force", false);
    if (!pending_) {
        reply(error_reply("no change is pending confirmation" +
                          (settled_ ? " (the last one was " + (*settled_)["status"].get<std::string>() + " by " +
                                          (*settled_)["trigger"].get<std::string>() + ")"
                                    : std::string())));
        return;
    }
    const auto& p = *pending_;
    const auto verdict = reconcile::may_confirm(p.change, p.probing, force);
    if (verdict == reconcile::ConfirmVerdict::ProbeRunning) {
        reply(error_reply("the probes have not passed yet; ask again in a few seconds (or "
                          "`netlabctl confirm --force`)"));
        return;
    }
    if (verdict == reconcile::ConfirmVerdict::ProbeFailed) {
        spdlog::warn("commit-confirmed: confirm refused: the probe failed: {}", p.change.probe->text);
        reply(error_reply("refused: the probe failed: " + p.change.probe->text +
                          "; the change is rolled back once a probe has failed for its grace period, or at " +
                          iso_time(p.change.deadline) + ", unless `netlabctl confirm --force` keeps it anyway"));
        return;
    }
    stop_probing();  // the window's verdict is not needed any more
    enqueue(JobResult::Mode::Confirm, force ? "netlabctl confirm --force" : "netlabctl confirm", std::move(reply),
            false);
}

void Daemon::rollback_request(ControlServer::Reply reply) {
    if (!pending_) {
        reply(error_reply("no change is pending confirmation: nothing to roll back"));
        return;
    }
    stop_probing();
    enqueue(JobResult::Mode::Rollback, "netlabctl rollback", std::move(reply), false);
}

void Daemon::stop_probing() {
    if (pending_ && pending_->probing) reconciler_.stop_probes(pending_->change);
}

void Daemon::probe_progress(reconcile::ProbeResult so_far) {
    if (pending_ && pending_->probing) pending_->change.probe = std::move(so_far);
}

void Daemon::record_probe(const JobResult& r) {
    if (!pending_) return;
    pending_->probing = false;
    if (!r.pending_error.empty()) spdlog::error("commit-confirmed: probe: {}", r.pending_error);
    if (!r.pending || r.pending->id != pending_->change.id) return;
    pending_->change.probe = r.pending->probe;
    if (!r.pending->probe) return;
    const auto& p = *r.pending->probe;
    const auto& settings = pending_->change.settings;
    const bool automatic = settings.mode == model::ConfirmMode::Auto;
    if (p.verdict == "failed") {
        // The change cut something off: undone now, not at the deadline.
        spdlog::error("commit-confirmed: probe FAILED: {} failed for its grace period ({}): {}; rolling back now",
                      p.failed, model::format_duration(settings.grace), p.text);
        for (const auto& q : queue_)
            if (q.mode == JobResult::Mode::Rollback) return;
        enqueue(JobResult::Mode::Rollback, "probe", nullptr, false);
    } else if (p.verdict == "passed" && automatic && !p.checks.empty()) {
        spdlog::info("commit-confirmed: probe ok: every probe passed for {}: {}; confirming (mode auto)",
                     model::format_duration(settings.window), p.text);
        enqueue(JobResult::Mode::Confirm, "probes passed", nullptr, false);
    } else if (p.verdict == "passed") {
        spdlog::info("commit-confirmed: probe ok: {}{}", p.text,
                     automatic ? "; nothing to probe, so mode auto does not confirm: `netlabctl confirm` keeps it"
                               : "");
    } else {
        spdlog::info("commit-confirmed: probing stopped after {} ms: {}", p.elapsed_ms, p.text);
    }
}

void Daemon::record_settled(Job& job, JobResult& r) {
    using S = reconcile::Outcome::Status;
    const bool rollback = r.mode == JobResult::Mode::Rollback;
    if (!r.settled) {
        // Settled meanwhile (a confirm and the deadline crossed).
        spdlog::info("commit-confirmed: {}: no change is pending any more", r.trigger);
        for (auto& w : job.waiters)
            w(error_reply("no change is pending confirmation" +
                          (settled_ ? " (the last one was " + (*settled_)["status"].get<std::string>() + " by " +
                                          (*settled_)["trigger"].get<std::string>() + ")"
                                    : std::string())));
        job.waiters.clear();
        return;
    }
    reconcile::PendingChange change = pending_ ? pending_->change : reconcile::PendingChange{};
    if (r.outcome.pending) change = *r.outcome.pending;
    nlohmann::json settled = {{"trigger", r.trigger},
                              {"at", iso_time(r.finished)},
                              {"started", change.started},
                              {"deadline", iso_time(change.deadline)},
                              {"summary", change.summary}};
    nlohmann::json reply = {{"version", control::kVersion}, {"ok", true}};
    if (!rollback) {
        settled["status"] = "confirmed";
        events::emit(spdlog::level::info, events::Kind::CommitConfirmed, {.object = change.summary},
                     fmt::format("commit-confirmed: confirmed ({}): the change applied {} stays: {}", r.trigger,
                                 change.started, change.summary));
        reply["message"] = "confirmed: the change applied " + change.started + " stays";
    } else {
        const auto& o = r.outcome;
        const auto after_deadline =
            std::chrono::duration_cast<std::chrono::milliseconds>(r.finished - change.deadline).count();
        const bool by_probe = r.trigger == "probe" && change.probe;
        const std::string how = r.trigger == "deadline" ? "not confirmed by " + iso_time(change.deadline)
                                : by_probe ? "the probe " + change.probe->failed + " failed for its grace period"
                                           : "rolled back as asked (" + r.trigger + ")";
        for (const auto& line : o.restored)
            (o.status == S::RolledBack ? spdlog::warn("commit-confirmed: restored {}", line)
                                       : spdlog::critical("commit-confirmed: restored {}", line));
        if (o.status == S::RolledBack) {
            settled["status"] = reconcile::to_string(S::RolledBack);  // docs/json.md
            events::emit(spdlog::level::warn, events::Kind::CommitRolledBack, {.object = change.summary},
                         fmt::format("commit-confirmed: {}; rolled back ({} netlink writes, {:.3f} s{}); the change "
                                     "applied {} is undone: {}",
                                     how, o.writes, o.seconds,
                                     r.trigger == "deadline" ? ", restored " + std::to_string(after_deadline) +
                                                                   " ms after the deadline"
                                                             : std::string(),
                                     change.started, change.summary));
        } else {
            settled["status"] = "failed";
            events::emit(spdlog::level::critical, events::Kind::CommitRolledBack, {.object = change.summary},
                         fmt::format("commit-confirmed: {}; the rollback FAILED and did not verify; the network "
                                     "needs attention: {}",
                                     how, o.error));
        }
        if (r.trigger == "deadline") settled["after_deadline_ms"] = after_deadline;
        settled["writes"] = o.writes;
        settled["restored"] = o.restored;
        // What cut the host off is still in the files: hold them until an
        // explicit reload/apply, after the admin has looked.
        held_ = "a commit-confirmed change was " +
                (r.trigger == "deadline" ? "not confirmed by " + iso_time(change.deadline) + " and was rolled back"
                 : by_probe ? "rolled back: the probe " + change.probe->failed + " failed"
                            : "rolled back (" + r.trigger + ")") +
                "; the files still ask for it";
        try {
            reconcile::StateDirectory(opts_.state_dir).store_held(*held_);
        } catch (const std::exception& e) {
            spdlog::error("{}: the hold does not survive a restart", e.what());
        }
        spdlog::warn("commit-confirmed: netlabd applies nothing until `netlabctl reload` (systemctl reload netlab) "
                     "or `netlabctl apply`{}",
                     deferred_.empty() ? "" : "; not applied: " + join(deferred_));
        deferred_.clear();
        if (pending_ && pending_->previous) {
            in_force_ = std::move(pending_->previous);
            in_force_since_ = pending_->previous_since;
        } else if (pending_) {
            in_force_.reset();  // unknown after a restart: nothing netlabd applied is in force
        }
        last_ = result_json(r);
        if (r.owned) owned_ = r.owned;
        reply["ok"] = o.status == S::RolledBack;
        reply["result"] = *last_;
        reply["message"] = std::string(o.status == S::RolledBack ? "rolled back" : "FAILED to roll back") +
                           ": the change applied " + change.started + " (" + std::to_string(o.writes) +
                           " netlink writes)";
        if (o.status != S::RolledBack) reply["error"] = o.error;
    }
    if (change.probe) settled["probe"] = reconcile::probe_json(*change.probe);
    settle_revision(settled["status"].get<std::string>(), r.trigger, settled["at"].get<std::string>());
    settled_ = settled;
    pending_.reset();
    deadline_.cancel();
    for (auto& w : job.waiters) w(reply);
    job.waiters.clear();
    if (!rollback && !deferred_.empty()) {
        const std::string trigger = "deferred while pending: " + join(deferred_);
        deferred_.clear();
        enqueue(JobResult::Mode::Apply, trigger, nullptr, false);
    }
    notifier_.status(status_line());
}

nlohmann::json Daemon::pending_json() const {
    if (!pending_) return nullptr;
    const auto& c = pending_->change;
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(c.deadline - WallClock::now()).count();
    nlohmann::json probe = nullptr;
    if (c.probe)
        probe = reconcile::probe_json(*c.probe);
    else if (pending_->probing)
        probe = "running";
    return {{"started", c.started},
            {"deadline", iso_time(c.deadline)},
            {"seconds_left", std::max<long long>(left, 0)},
            {"reason", c.reason},
            {"summary", c.summary},
            {"probe", probe},
            {"probing", pending_->probing},
            {"probe_settings", reconcile::settings_json(c.settings)}};
}

}  // namespace netlab::daemon
