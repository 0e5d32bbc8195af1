// The engine's thread and its jobs (reconciler.hpp): one job at a time,
// results posted back to the loop.
#include "netlabd/reconciler.hpp"

#include <unistd.h>

#include <exception>
#include <thread>
#include <variant>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "model/parse_cache.hpp"
#include "netlabd/reload_input.hpp"
#include "netlabd/probe.hpp"
#include "reconcile/apply/commit_confirmed.hpp"
#include "reconcile/nl/kernel.hpp"
#include "reconcile/containers/target.hpp"

namespace netlab::daemon {

namespace asio = boost::asio;

Reconciler::Reconciler(asio::io_context& loop, std::filesystem::path config_dir, reconcile::Options opts)
    : loop_(loop),
      config_dir_(std::move(config_dir)),
      opts_(std::move(opts)),
      work_(asio::make_work_guard(engine_io_)),
      announce_timer_(engine_io_),
      thread_([this] { engine_io_.run(); }) {
    opts_.progress = [this](const reconcile::StepEvent& e) { log_step(e); };
    opts_.announce_later = true;
}

Reconciler::~Reconciler() {
    work_.reset();
    engine_io_.stop();  // queued jobs are dropped; the running one finishes
    if (thread_.joinable()) thread_.join();
}

void Reconciler::run(JobResult::Mode mode, std::string trigger, std::string tag,
                     std::map<std::string, model::Container> in_force, std::optional<std::chrono::seconds> confirm,
                     reconcile::Known known, Done done) {
    asio::post(engine_io_, [this, mode, trigger = std::move(trigger), tag = std::move(tag),
                            in_force = std::move(in_force), confirm, known = std::move(known),
                            done = std::move(done)]() mutable {
        tag_ = std::move(tag);
        if (mode == JobResult::Mode::Apply || mode == JobResult::Mode::Recover) settle_announcements();
        else if (mode == JobResult::Mode::Rollback) drop_announcements();
        else if (mode == JobResult::Mode::Probe) finish_announcements();
        JobResult r = execute(mode, std::move(trigger), in_force, confirm, std::move(known));
        reconcile::AnnounceLater owed = std::move(r.outcome.announce_later);
        asio::post(loop_, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
        if (!owed.empty()) announce_later(std::move(owed));
    });
}

JobResult Reconciler::execute(JobResult::Mode mode, std::string trigger,
                              const std::map<std::string, model::Container>& in_force,
                              std::optional<std::chrono::seconds> confirm, reconcile::Known known) {
    JobResult r;
    r.mode = mode;
    r.trigger = std::move(trigger);
    r.started = std::chrono::system_clock::now();
    try {
        if (!engine_) {
            kernel_ = std::make_unique<reconcile::nl::NlKernel>();
            engine_ = std::make_unique<reconcile::Engine>(*kernel_, opts_);
        }
        switch (mode) {
        case JobResult::Mode::Recover:
            if (auto o = engine_->recover()) {
                r.journal_found = true;
                r.outcome = std::move(*o);
            }
            // After the journal: a pending change of the interrupted
            // transaction itself is gone with it.
            try {
                r.pending = engine_->pending();
            } catch (const std::exception& e) {
                r.pending_error = e.what();
            }
            break;
        case JobResult::Mode::Probe:
            probe(r);
            break;
        case JobResult::Mode::Confirm:
            r.settled = engine_->confirm_pending();
            break;
        case JobResult::Mode::Rollback:
            if (auto o = engine_->roll_back_pending()) {
                r.settled = true;
                r.outcome = std::move(*o);
            }
            break;
        case JobResult::Mode::Plan:
        case JobResult::Mode::Apply:
            // Before loading: a file changed in between makes the next
            // reload a full one, never the other way round.
            r.input = config_bytes(config_dir_);
            const auto load_start = std::chrono::steady_clock::now();
            r.loaded = model::load_config(config_dir_, model::EmptyDir::NoTopology, parse_cache_);
            const std::chrono::duration<double, std::milli> load_ms = std::chrono::steady_clock::now() - load_start;
            if (r.loaded->no_topology) {
                // Nothing to manage: the engine is not asked, so nothing is
                // written, not even what an earlier topology made (that
                // stays as it is; `version: 1` alone removes it).
                r.outcome.status = reconcile::Outcome::Status::Converged;
            } else if (!r.loaded->ok()) {
                // Validate before touching: nothing reaches the engine.
                r.outcome.status = reconcile::Outcome::Status::Rejected;
                r.outcome.diagnostics = r.loaded->diagnostics;
            } else if (mode == JobResult::Mode::Plan) {
                r.outcome = engine_->plan(*r.loaded);
            } else if (auto rec = engine_->recover()) {
                // Never write a new journal over one not yet recovered (and
                // nothing remembered counts after a recovery wrote).
                const bool ok = rec->status == reconcile::Outcome::Status::RolledBack;
                r.recovered = std::move(*rec);
                if (ok) {
                    r.outcome = engine_->apply(*r.loaded, reconcile::confirm_policy(r.loaded->topology, confirm));
                } else if (r.recovered->retry_later) {
                    // Nothing was changed: the recovery waits for Docker, and so does this.
                    r.outcome.status = reconcile::Outcome::Status::Rejected;
                    r.outcome.error = "not applied: an interrupted transaction waits for Docker to be recovered: " +
                                      r.recovered->error;
                } else {
                    r.outcome.status = reconcile::Outcome::Status::Failed;
                    r.outcome.error = "not applied: the recovery of an interrupted transaction failed first: " +
                                      r.recovered->error;
                }
            } else {
                r.outcome = engine_->apply(*r.loaded, reconcile::confirm_policy(r.loaded->topology, confirm), std::move(known));
            }
            r.outcome.phases["load"] = load_ms.count();
            break;
        }
    } catch (const std::exception& e) {
        r.outcome.status = reconcile::Outcome::Status::Failed;
        r.outcome.error = std::string("internal error: ") + e.what();
        if (!kernel_ || !engine_) {
            engine_.reset();
            kernel_.reset();
        }
    }
    r.finished = std::chrono::system_clock::now();
    if (mode == JobResult::Mode::Rollback && r.settled) {
        observe_after(r, in_force);
    } else if (mode == JobResult::Mode::Apply) {
        const auto t0 = std::chrono::steady_clock::now();
        r.input = input_bytes(r.input, ledger_bytes(opts_.state_dir));
        bool replaced = r.loaded && r.outcome.ok();
        observe_after(r, replaced ? r.loaded->topology.containers : in_force);
        // The status netlabd keeps (owned objects, containers' targets),
        // after the transaction: part of the job, not of the engine's time.
        r.outcome.phases["status"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    return r;
}

void Reconciler::announce_later(reconcile::AnnounceLater owed) {
    owed_ = std::move(owed);
    announce_timer_.expires_after(reconcile::kAnnounceGap);
    announce_timer_.async_wait([this, generation = ++owed_generation_](const boost::system::error_code& ec) {
        if (!ec) announce_round(generation);
    });
}

void Reconciler::announce_round(std::uint64_t generation) {
    if (generation != owed_generation_ || owed_.empty() || !kernel_) return;
    announce_now(owed_.what);  // the reply has gone already
    if (--owed_.rounds > 0) announce_later(std::move(owed_));
    else owed_ = {};
}

void Reconciler::settle_announcements() {
    ++owed_generation_;  // a round already queued finds itself stale
    announce_timer_.cancel();
    if (!owed_.empty() && kernel_) announce_now(owed_.what);
    owed_ = {};
}

void Reconciler::finish_announcements() {
    ++owed_generation_;
    announce_timer_.cancel();
    for (; !owed_.empty() && kernel_; --owed_.rounds) {
        std::this_thread::sleep_for(reconcile::kAnnounceGap);
        announce_now(owed_.what);
    }
    owed_ = {};
}

void Reconciler::drop_announcements() {
    ++owed_generation_;
    announce_timer_.cancel();
    owed_ = {};
}

void Reconciler::announce_now(const std::vector<reconcile::Announcement>& what) {
    try {
        std::vector<std::string> why = kernel_->announce(what);
        std::size_t unsent = 0;
        for (const auto& w : why) unsent += !w.empty();
        if (unsent) spdlog::debug("announce: {} of {} not sent in a later round", unsent, what.size());
    } catch (const std::exception& e) {
        spdlog::warn("announce: a later round was not sent: {}", e.what());
    }
}

// The commit-confirmed probes of a pending change: the host's default
// gateways (the lowest-metric main-table default route per family) on their
// egress links, and the topology's `probes:` as the pending file keeps
// them, until the window's verdict. Recorded in the pending file, so status
// shows it after a restart too.
void Reconciler::probe(JobResult& r) {
    std::optional<reconcile::PendingChange> pending;
    try {
        pending = engine_->pending();
    } catch (const std::exception& e) {
        r.pending_error = e.what();
    }
    if (!pending) {
        probe_stop_ = false;
        return;
    }
    ProbeRun run;
    std::map<std::uint8_t, model::RouteState> best;
    for (const auto& route : kernel_->observe("").routes) {
        if (!route.dst.is_default() || route.table != model::kMainTable || !route.via || route.dev.empty() ||
            route.type != 1)
            continue;
        auto [it, fresh] = best.emplace(route.dst.addr.family, route);
        if (!fresh && route.metric < it->second.metric) it->second = route;
    }
    for (const auto& [_, route] : best) run.gateways.push_back(GatewayTarget{*route.via, route.dev});
    run.settings = pending->settings;
    run.deadline = pending->deadline;
    {
        std::lock_guard lock(stop_mu_);
        probe_stop_ = stop_for_ == probe_key(*pending);  // a stop for this change, queued before it ran
    }
    run.stop = &probe_stop_;
    run.progress = [this](const reconcile::ProbeResult& so_far) {
        if (probe_progress_) asio::post(loop_, [cb = probe_progress_, so_far] { cb(so_far); });
    };
    reconcile::ProbeResult result = run_probes(run);
    probe_stop_ = false;
    try {
        if (engine_->pending()) engine_->record_probe(result);
        r.pending = engine_->pending();
    } catch (const std::exception& e) {
        r.pending_error = e.what();
    }
    if (r.pending && !r.pending->probe) r.pending->probe = result;
}

// Logged as each step is sent, so the log says how far a transaction got
// even when netlabd is killed in the middle of it.
void Reconciler::log_step(const reconcile::StepEvent& e) const {
    if (e.phase == reconcile::StepEvent::Phase::Forward)
        spdlog::info("{}: step {}/{}: {}{}", tag_, e.n, e.total, e.step.describe(),
                     e.step.why.empty() ? "" : " (" + e.step.why + ")");
    else
        spdlog::warn("{}: rollback step {}/{}: {}", tag_, e.n, e.total, e.step.describe());
}

void Reconciler::observe_after(JobResult& r, const std::map<std::string, model::Container>& containers) {
    if (!kernel_) return;
    try {
        // The host as the run just verified it, when it did.
        auto state = r.outcome.state && r.outcome.state->count("") ? r.outcome.state->at("") : kernel_->observe("");
        OwnedCount c;
        for (const auto& [name, link] : state.links)
            if (link.owned()) ++c.links;
        for (const auto& route : state.routes)
            if (route.owned()) ++c.routes;
        r.owned = c;
        r.host = std::move(state);
    } catch (const std::exception& e) {
        spdlog::warn("status: observe: {}", e.what());
    }
    bool ok = r.outcome.ok();
    r.targets = target_identities(containers, opts_.resolver);
    const auto nsids = kernel_->peer_nsids();
    std::map<std::string, Resolved> resolved_now;
    for (const auto& [cname, container] : containers) {
        const std::string& name = cname;  // a structured binding cannot be captured in C++20
        ContainerStatus s{name, container.netns.str(), "", ""};
        // The engine left out a container it could not reach: one that came
        // back since is not attached yet (the event that says so triggers the next run).
        const bool left_out = r.outcome.skipped.count(name) != 0;
        auto found = [&](std::string identity) {
            s.state = ok && !left_out ? "attached" : "not_attached";
            s.detail = std::move(identity);
            if (auto it = nsids.find(reconcile::container_ns(name)); it != nsids.end() && s.state == "attached")
                r.nsids[it->second] = it->first;
        };
        // A netns: or path: target whose stat shows the inode it showed last
        // time leads to the namespace resolve_netns opened then (its identity
        // is that inode): 1000 opens fewer per reload. pid: and docker:
        // identities say more than a stat can, so they are resolved each time.
        const auto kind = container.netns.kind;
        const bool by_stat = kind == model::NetnsTarget::Kind::Netns || kind == model::NetnsTarget::Kind::Path;
        const std::string& target = r.targets[name];
        auto last = resolved_.find(name);
        if (by_stat && target.starts_with("inode ") && last != resolved_.end() && last->second.netns == s.netns &&
            last->second.target == target) {
            found(last->second.identity);
            resolved_now.emplace(name, last->second);
        } else if (auto resolved = reconcile::resolve_netns(container.netns, opts_.resolver);
                   auto* ns = std::get_if<reconcile::ResolvedNs>(&resolved)) {
            ::close(ns->fd);
            if (by_stat) resolved_now.emplace(name, Resolved{s.netns, target, ns->identity});
            found(ns->identity);
        } else {
            s.state = "absent";
            s.detail = std::get<std::string>(resolved);
        }
        r.containers.push_back(std::move(s));
    }
    resolved_ = std::move(resolved_now);
}

}  // namespace netlab::daemon
