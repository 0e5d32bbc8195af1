#include "netlabd/reconciler.hpp"

#include <unistd.h>

#include <algorithm>
#include <exception>
#include <variant>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "reconcile/nl/kernel.hpp"
#include "reconcile/target.hpp"

namespace netlab::daemon {

namespace asio = boost::asio;

Reconciler::Reconciler(asio::io_context& loop, std::filesystem::path config_dir, reconcile::Options opts)
    : loop_(loop),
      config_dir_(std::move(config_dir)),
      opts_(std::move(opts)),
      work_(asio::make_work_guard(engine_io_)),
      thread_([this] { engine_io_.run(); }) {
    opts_.progress = [this](const reconcile::StepEvent& e) { log_step(e); };
}

Reconciler::~Reconciler() {
    work_.reset();
    engine_io_.stop();  // queued jobs are dropped; the running one finishes
    if (thread_.joinable()) thread_.join();
}

void Reconciler::run(JobResult::Mode mode, std::string trigger, std::string tag,
                     std::map<std::string, model::Container> in_force, Done done) {
    asio::post(engine_io_, [this, mode, trigger = std::move(trigger), tag = std::move(tag),
                            in_force = std::move(in_force), done = std::move(done)]() mutable {
        tag_ = std::move(tag);
        JobResult r = execute(mode, std::move(trigger), in_force);
        asio::post(loop_, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
    });
}

JobResult Reconciler::execute(JobResult::Mode mode, std::string trigger,
                              const std::map<std::string, model::Container>& in_force) {
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
            break;
        case JobResult::Mode::Plan:
        case JobResult::Mode::Apply:
            r.loaded = model::load_config(config_dir_);
            if (!r.loaded->ok()) {
                // Validate before touching: nothing reaches the engine.
                r.outcome.status = reconcile::Outcome::Status::Rejected;
                r.outcome.diagnostics = r.loaded->diagnostics;
            } else if (mode == JobResult::Mode::Plan) {
                r.outcome = engine_->plan(*r.loaded);
            } else if (auto rec = engine_->recover()) {
                // Never write a new journal over one not yet recovered.
                const bool ok = rec->status == reconcile::Outcome::Status::RolledBack;
                r.recovered = std::move(*rec);
                if (ok) {
                    r.outcome = engine_->apply(*r.loaded);
                } else {
                    r.outcome.status = reconcile::Outcome::Status::Failed;
                    r.outcome.error = "not applied: the recovery of an interrupted transaction failed first: " +
                                      r.recovered->error;
                }
            } else {
                r.outcome = engine_->apply(*r.loaded);
            }
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
    if (mode == JobResult::Mode::Apply) {
        bool replaced = r.loaded && r.outcome.ok();
        observe_after(r, replaced ? r.loaded->topology.containers : in_force);
    }
    return r;
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
        auto state = kernel_->observe("");
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
    for (const auto& [name, container] : containers) {
        ContainerStatus s{name, container.netns.str(), "", ""};
        auto resolved = reconcile::resolve_netns(container.netns, opts_.resolver);
        // The engine left out a container it could not reach: one that came
        // back since is not attached yet (the event that says so triggers the next run).
        const std::string skipped = "container " + name + " (" + s.netns + ") skipped: ";
        bool left_out = std::any_of(r.outcome.diagnostics.begin(), r.outcome.diagnostics.end(),
                                    [&](const auto& d) { return d.message.starts_with(skipped); });
        if (auto* ns = std::get_if<reconcile::ResolvedNs>(&resolved)) {
            ::close(ns->fd);
            s.state = ok && !left_out ? "attached" : "not-attached";
            s.detail = ns->identity;
        } else {
            s.state = "absent";
            s.detail = std::get<std::string>(resolved);
        }
        r.containers.push_back(std::move(s));
    }
}

}  // namespace netlab::daemon
