// What netlabd makes of a finished apply or crash recovery (the log lines,
// the reply, what `status` keeps of it) and how it describes itself: the
// `status` document and sd_notify's status line.
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "protocol/control_protocol.hpp"
#include "netlabd/daemon.hpp"
#include "netlabd/daemon_reply.hpp"
#include "netlabd/events.hpp"
#include "netlabd/log.hpp"
#include "reconcile/containers/docker_drift.hpp"

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

// One spelling for every status, netlabctl's JSON and netlabd's alike (docs/json.md).
const char* status_name(reconcile::Outcome::Status s) { return reconcile::to_string(s); }

std::size_t count_errors(const model::Diagnostics& d) {
    std::size_t n = 0;
    for (const auto& x : d)
        if (x.severity == model::Severity::Error) ++n;
    return n;
}

}  // namespace

void Daemon::record_recovery(const JobResult& r, const reconcile::Outcome& o) {
    JobResult as_run;
    as_run.trigger = r.trigger;
    as_run.started = r.started;
    as_run.finished = r.finished;
    as_run.outcome = o;
    recovery_ = result_json(as_run);
    if (o.retry_later) {
        retry_recovery_later(o);
        return;
    }
    if (recovery_waiting_) {
        spdlog::info("recovery: Docker answers again after {} attempt{}", recovery_attempts_,
                     recovery_attempts_ == 1 ? "" : "s");
        recovery_waiting_.reset();
        recovery_attempts_ = 0;
        recovery_retry_.cancel();
    }
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

// Backoff as for Docker's events: doubling from 250 ms up to 5 s.
void Daemon::retry_recovery_later(const reconcile::Outcome& o) {
    const auto delay = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(250 * (1 << std::min(recovery_attempts_, 5u))), std::chrono::seconds(5));
    ++recovery_attempts_;
    (*recovery_)["retry"] = {{"attempt", recovery_attempts_}, {"in_ms", delay.count()}, {"reason", o.error}};
    if (!recovery_waiting_)
        spdlog::warn("recovery: {}; retrying with backoff (now {} ms)", o.error, delay.count());
    else
        spdlog::debug("recovery: still waiting for Docker (attempt {}); retrying in {} ms", recovery_attempts_,
                      delay.count());
    recovery_waiting_ = o.error;
    if (stopping_) return;
    recovery_retry_.expires_after(delay);
    recovery_retry_.async_wait([this](const boost::system::error_code& ec) {
        // An apply recovers first, then applies the topology in force.
        if (!ec && !stopping_) enqueue(JobResult::Mode::Apply, "recovery retry (Docker)", nullptr, false, std::nullopt, true);
    });
}

void Daemon::record_apply(Job& job, JobResult& r) {
    using S = reconcile::Outcome::Status;
    if (r.recovered) record_recovery(r, *r.recovered);
    record_revision(job, r);
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
                spdlog::info("{}: no topology: {} holds neither topology.yaml nor topology.d/*.yaml; netlabd "
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
    if (in_force_)
        container_watch_.follow(in_force_->topology.containers, reconcile::docker::followed(in_force_->topology),
                                r.started);
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
    j["fast_reload"] = fast_reload_.status_json(drift_.watching_all());
    return j;
}

std::string Daemon::status_line() const {
    if (held_) return "HELD: nothing is applied until `netlabctl reload`: " + *held_;
    if (recovery_waiting_)
        return "WAITING for Docker to recover an interrupted transaction (attempt " +
               std::to_string(recovery_attempts_) + "); nothing is applied meanwhile: " + *recovery_waiting_;
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
