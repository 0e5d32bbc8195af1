// The rtnetlink event socket on the loop and what netlabd does with a drift
// event: repair or report (drift.hpp).
#include "netlabd/drift.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "netlabd/events.hpp"
#include "netlabd/log.hpp"
#include "reconcile/plan/compile.hpp"
#include "reconcile/containers/docker_drift.hpp"
#include "reconcile/nl/events.hpp"
#include "reconcile/apply/state_dir.hpp"

namespace netlab::daemon {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxWhat = 8;      // drifts named in one trigger
constexpr std::size_t kMaxReports = 20;  // kept for `status`
constexpr std::size_t kMaxWindows = 8;   // writing jobs whose Docker echo may still come

const char* policy_name(model::DriftPolicy p) { return p == model::DriftPolicy::Repair ? "repair" : "report"; }

reconcile::Ledger read_ledger(const std::filesystem::path& state_dir) {
    try {
        return reconcile::StateDirectory(state_dir).ledger();
    } catch (const std::exception& e) {
        spdlog::warn("drift: {}: the ledger: {}; adopted links are judged by the topology alone", state_dir.string(),
                     e.what());
        return {};
    }
}

}  // namespace

std::string DriftWatch::Drift::str() const {
    std::string s;
    for (const auto& w : what) s += (s.empty() ? "" : ", ") + w;
    if (more) s += " and " + std::to_string(more) + " more";
    return s;
}

DriftWatch::DriftWatch(asio::io_context& io, std::filesystem::path state_dir, std::chrono::milliseconds debounce,
                       std::chrono::milliseconds max_delay, Request request)
    : io_(io),
      state_dir_(std::move(state_dir)),
      debounce_(debounce),
      max_delay_(max_delay),
      request_(std::move(request)),
      fd_(io),
      timer_(io) {}

DriftWatch::~DriftWatch() {
    // The socket closes its own fd.
    if (fd_.is_open()) fd_.release();
}

void DriftWatch::start() {
    try {
        socket_ = std::make_unique<reconcile::nl::EventSocket>();
        fd_.assign(socket_->fd());
    } catch (const std::exception& e) {
        error_ = e.what();
        socket_.reset();
        spdlog::warn("drift: not watched: {}", error_);
        return;
    }
    wait_readable();
}

bool DriftWatch::watching_all() const { return socket_ && socket_->listen_all_nsid(); }

std::string DriftWatch::not_watching_all() const {
    if (!socket_) return "kernel events are not watched: " + error_;
    if (!socket_->listen_all_nsid()) return "container namespaces' events are not heard: " + socket_->listen_all_nsid_error();
    return "";
}

void DriftWatch::stop() {
    stopped_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    fd_.cancel(ignored);
}

void DriftWatch::wait_readable() {
    fd_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        read(in_job_);
        if (socket_) wait_readable();
    });
}

void DriftWatch::read(bool own) {
    if (!socket_) return;
    reconcile::KernelEvents batch;
    try {
        batch = socket_->read();
    } catch (const std::exception& e) {
        error_ = e.what();
        spdlog::error("drift: events can no longer be read ({}); drift is not detected until netlabd restarts",
                      error_);
        fd_.release();
        socket_.reset();
        return;
    }
    if (batch_) batch_(batch, own);
    // A container whose namespace died: the kernel takes its nsid back
    // first, then tears its links down, the host end of its veth with them
    // (set down, then deleted, a grace period apart).
    for (int id : batch.nsids_del)
        if (auto it = nsids_.find(id); it != nsids_.end()) gone_.insert(it->second);
    if (own) {
        // The echo of the running job. Lost events in a job are lost echo, or
        // changes made in the window the job's own observation covers.
        own_events_ += batch.events.size() + batch.peers.size();
        if (batch.lost) ++lost_;
        // A container that died meanwhile: its nsid is not taken from the
        // job's result either (job_ended).
        for (int id : batch.nsids_del) {
            nsids_.erase(id);
            died_in_job_.insert(id);
        }
        return;
    }
    const auto now = WallClock::now();
    for (const auto& e : batch.events) on_event(e, now);
    for (const auto& p : batch.peers) on_peer_event(p, now);
    // A namespace that died takes its nsid with it (the kernel tags nothing
    // of its teardown with it), and the nsid may be given to another one.
    for (int id : batch.nsids_del) nsids_.erase(id);
    if (batch.lost) on_lost(now);
}

void DriftWatch::on_event(const reconcile::KernelEvent& e, WallClock::time_point at) {
    if (!policy_) return;  // nothing in force yet: nothing is netlab's
    auto v = reconcile::classify(desired_, e);
    spdlog::trace("drift: event: {}: {}", e.str(), !v.owned ? "foreign" : v.drift.empty() ? "as desired" : v.drift);
    if (!v.owned) {
        ++foreign_events_;
        return;
    }
    ++owned_events_;
    if (v.drift.empty()) return;
    if (e.object == reconcile::KernelEvent::Object::Link) {
        auto spec = desired_.links.find(e.link.name);
        if (spec != desired_.links.end() && gone_.contains(spec->second.peer_ns)) {
            spdlog::debug("drift: {}: goes with its container's namespace, not drift", v.drift);
            return;
        }
    }
    on_drift("", v.drift, at);
}

// An event inside a container, by the nsid its namespace has here. One of
// an nsid that is not a container of the topology in force (someone else's
// namespace, or a container not attached by the last apply) is ignored.
void DriftWatch::on_peer_event(const reconcile::PeerEvent& p, WallClock::time_point at) {
    if (!policy_ || !desired_all_) return;
    auto it = nsids_.find(p.nsid);
    if (it == nsids_.end()) return;
    auto want = desired_all_->namespaces.find(it->second);
    if (want == desired_all_->namespaces.end()) return;
    ++container_events_;
    // drift_of() also counts an address or route of a link the socket could
    // not name there, unless it is foreign whatever the link is called.
    const auto v = reconcile::classify(want->second, p.event);
    const std::string drift = reconcile::drift_of(want->second, p.event);
    spdlog::trace("drift: {}: event: {}: {}", it->second, p.event.str(),
                  !v.owned && drift.empty() ? "foreign" : drift.empty() ? "as desired" : drift);
    if (!v.owned && drift.empty()) {
        ++foreign_events_;
        return;
    }
    ++owned_events_;
    if (drift.empty()) return;
    ++container_drifts_;
    on_drift(it->second, drift, at);
}

void DriftWatch::on_drift(const reconcile::NsId& ns, const std::string& drift, WallClock::time_point at) {
    ++drifts_;
    if (*policy_ == model::DriftPolicy::Report)
        report(reconcile::drift_where(ns, drift), at, ns);
    else
        repair_later(reconcile::drift_where(ns, drift), at);
}

void DriftWatch::on_lost(WallClock::time_point at) {
    ++lost_;
    if (!policy_) return;
    if (*policy_ == model::DriftPolicy::Repair) {
        spdlog::warn("drift: netlink events were lost (ENOBUFS): a reconcile observes everything again");
        repair_later("events lost (ENOBUFS)", at);
        return;
    }
    spdlog::warn("drift: netlink events were lost (ENOBUFS): a plan observes everything again");
    // Posted: this may run from job_started(), inside the daemon's scheduling.
    asio::post(io_, [this, at] {
        if (stopped_) return;
        request_(JobResult::Mode::Plan, "drift: events lost (ENOBUFS)", [this, at](nlohmann::json reply) {
            const auto result = reply.value("result", nlohmann::json::object());
            const std::string status = result.value("status", "");
            if (status == "converged") {
                spdlog::info("drift: after the lost events, the network is as the topology wants it");
                return;
            }
            if (status != "changes") {
                spdlog::warn("drift: after the lost events, the plan ended {}: {}", status.empty() ? "?" : status,
                             result.value("error", ""));
                return;
            }
            std::string steps;
            std::size_t n = 0;
            for (const auto& s : reply.value("outcome", nlohmann::json::object()).value("steps", nlohmann::json::array())) {
                if (++n <= 3) steps += (steps.empty() ? "" : "; ") + s.value("text", std::string("?"));
            }
            if (n > 3) steps += "; ...";
            report("events were lost; a reconcile would take " + std::to_string(n) + " step" + (n == 1 ? "" : "s") +
                       ": " + steps,
                   at);
        });
    });
}

void DriftWatch::repair_later(const std::string& what, WallClock::time_point at) {
    if (stopped_) return;
    if (!pending_) pending_ = Drift{{}, 0, at};
    if (std::find(pending_->what.begin(), pending_->what.end(), what) == pending_->what.end()) {
        if (pending_->what.size() < kMaxWhat)
            pending_->what.push_back(what);
        else
            ++pending_->more;
    }
    spdlog::info("drift: {}: repair in {} ms unless more follows", what, debounce_.count());
    // Trailing debounce, as for file changes: what one command changes (an
    // address and the routes through it) gives one reconcile.
    const auto now = std::chrono::steady_clock::now();
    if (!burst_start_) burst_start_ = now;
    timer_.expires_at(std::min(now + debounce_, *burst_start_ + max_delay_));
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !stopped_) request_repair();
    });
}

void DriftWatch::request_repair() {
    burst_start_.reset();
    if (!pending_) return;
    Drift d = std::move(*pending_);
    pending_.reset();
    const std::string trigger = "drift: " + d.str();
    if (requested_) {
        // Joins the reconcile already asked for (the daemon merges them too).
        requested_->what.insert(requested_->what.end(), d.what.begin(), d.what.end());
        requested_->more += d.more;
    } else {
        requested_ = std::move(d);
    }
    request_(JobResult::Mode::Apply, trigger, nullptr);
}

void DriftWatch::report(const std::string& what, WallClock::time_point at, const reconcile::NsId& ns) {
    ++reported_;
    spdlog::warn("drift: {}; left as it is (drift: report)", what);
    reports_.push_back(Report{what, ns, at});
    while (reports_.size() > kMaxReports) reports_.pop_front();
}

void DriftWatch::job_started(JobResult::Mode mode) {
    // What came before the job is someone else's.
    read(false);
    // A plan writes nothing: it has no echo, and what happens meanwhile is
    // judged as usual.
    in_job_ = mode != JobResult::Mode::Plan;
    if (in_job_ && mode != JobResult::Mode::Probe) {
        windows_.push_back(Window{WallClock::now(), std::nullopt});
        while (windows_.size() > kMaxWindows) windows_.pop_front();
    }
    if (mode != JobResult::Mode::Apply) return;
    // An apply reconciles everything: whatever drift was seen is repaired by
    // it, whoever asked for it.
    std::optional<Drift> covered = std::move(requested_);
    requested_.reset();
    if (pending_) {
        timer_.cancel();
        burst_start_.reset();
        if (!covered) {
            covered = std::move(pending_);
        } else {
            covered->what.insert(covered->what.end(), pending_->what.begin(), pending_->what.end());
            covered->more += pending_->more;
        }
        pending_.reset();
    }
    if (covered) repairing_ = std::move(covered);
}

void DriftWatch::job_ended(const JobResult& r, const model::Topology* in_force) {
    // The job's whole echo is queued by now: drain it as the job's own.
    read(in_job_);
    in_job_ = false;
    if (!windows_.empty() && !windows_.back().to) windows_.back().to = WallClock::now();
    follow(in_force);
    // A container dropped from the topology is not watched for again.
    if (desired_all_)
        std::erase_if(gone_, [&](const reconcile::NsId& ns) { return !desired_all_->namespaces.contains(ns); });
    std::set<int> died = std::move(died_in_job_);
    died_in_job_.clear();
    if (r.mode != JobResult::Mode::Apply) return;
    // The container namespaces a successful apply attached (a failed one
    // changed nothing in force: the ones heard before stay heard).
    if (r.outcome.ok()) {
        nsids_ = r.nsids;
        for (int id : died) nsids_.erase(id);
        // A container attached again has a veth of its own again.
        for (const auto& [nsid, ns] : nsids_) gone_.erase(ns);
    }
    const bool repair = repairing_.has_value();
    if (repairing_) {
        Drift d = std::move(*repairing_);
        repairing_.reset();
        ++repairs_;
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.finished - d.detected).count();
        last_repair_ = Repaired{d.str(), r.trigger, reconcile::to_string(r.outcome.status), d.detected, r.finished};
        if (r.outcome.ok())
            events::emit(spdlog::level::info, events::Kind::DriftRepaired,
                         {.object = d.str(), .steps = r.outcome.plan.steps.size()},
                         fmt::format("drift: repaired in {} ms ({} netlink writes): {}", ms, r.outcome.writes,
                                     d.str()));
        else
            spdlog::error("drift: the reconcile that was to repair it ended {}: {}", last_repair_->status, d.str());
    }
    // The window: what someone changed while the job ran was drained with its
    // echo. The state the job observed at its end shows it: after a success,
    // against the new topology; after a rollback, against the one still in
    // force — a change made during the transaction is what usually fails its
    // verification, and the rollback restores only what the plan touched.
    // (A rollback that did not verify leaves no state worth judging.)
    const bool settled = r.outcome.ok() || r.outcome.status == reconcile::Outcome::Status::RolledBack;
    if (!policy_ || !settled) return;
    std::vector<std::pair<reconcile::NsId, std::string>> found;
    if (r.host)
        for (auto& f : reconcile::drift_in(desired_, *r.host)) found.emplace_back("", std::move(f));
    // Each container as the apply verified it (after a success only: a
    // rollback's state is not kept).
    if (r.outcome.ok() && r.outcome.state && desired_all_) {
        for (const auto& [nsid, ns] : nsids_) {
            auto seen = r.outcome.state->find(ns);
            auto want = desired_all_->namespaces.find(ns);
            if (seen == r.outcome.state->end() || want == desired_all_->namespaces.end()) continue;
            for (auto& f : reconcile::drift_in(want->second, seen->second)) found.emplace_back(ns, std::move(f));
        }
    }
    if (found.empty()) return;
    std::string what;
    for (const auto& [ns, f] : found) what += (what.empty() ? "" : ", ") + reconcile::drift_where(ns, f);
    if (repair) {
        // Never a loop: a repair that did not hold is reported, not retried;
        // the next event about it is judged afresh.
        spdlog::error("drift: still there after the repair: {}", what);
        return;
    }
    spdlog::warn("drift: changed while the reconcile ran: {}", what);
    for (const auto& [ns, f] : found) {
        if (!ns.empty()) ++container_drifts_;
        on_drift(ns, f, r.finished);
    }
}

void DriftWatch::changed_during_job(const reconcile::NsId& ns, const std::string& why) {
    if (!policy_ || stopped_) return;
    // Only a container still watched: one that died is the re-attach's.
    if (std::none_of(nsids_.begin(), nsids_.end(), [&](const auto& kv) { return kv.second == ns; })) return;
    spdlog::warn("drift: changed while the reconcile ran: {}", reconcile::drift_where(ns, why));
    ++container_drifts_;
    on_drift(ns, why, WallClock::now());
}

std::string DriftWatch::docker_network_event(const reconcile::docker::Event& e) {
    if (!policy_ || stopped_) return "";
    const auto v = reconcile::docker::classify(docker_networks_, e);
    if (!v.owned) {
        ++foreign_events_;
        ++docker_foreign_;
        spdlog::trace("drift: docker: network {} {}: foreign", e.name, e.action);
        return "";
    }
    const WallClock::time_point at{std::chrono::duration_cast<WallClock::duration>(
        std::chrono::nanoseconds(e.time_nano != 0 ? e.time_nano : e.time * 1'000'000'000))};
    // Docker stamps whole seconds where it gives no nanoseconds: a window
    // then counts from the start of its second.
    const auto slack = e.time_nano != 0 ? WallClock::duration::zero() : std::chrono::seconds(1);
    const bool own = std::any_of(windows_.begin(), windows_.end(), [&](const Window& w) {
        return at + slack >= w.from && (!w.to || at <= *w.to);
    });
    if (own) {
        ++own_events_;
        ++docker_own_;
        spdlog::trace("drift: docker: network {} {}: netlabd's own", e.name, e.action);
        return "";
    }
    ++owned_events_;
    ++docker_owned_;
    if (v.drift.empty()) return "";
    on_drift("", v.drift, at);
    return v.drift;
}

void DriftWatch::follow(const model::Topology* in_force) {
    if (!in_force) return;
    if (!policy_ || *policy_ != in_force->drift)
        spdlog::info("drift: {} ({})", policy_name(in_force->drift),
                     socket_ ? std::string("watching the host's links, addresses and routes") +
                                   (socket_->listen_all_nsid() ? ", and the containers' by their nsids"
                                                               : "; not the containers': " +
                                                                     socket_->listen_all_nsid_error())
                             : "not watched: " + error_);
    policy_ = in_force->drift;
    docker_networks_ = reconcile::docker::followed(*in_force);
    auto desired = std::make_shared<reconcile::Desired>(reconcile::compile(*in_force, read_ledger(state_dir_)));
    desired_ = desired->namespaces[""];
    desired_all_ = std::move(desired);
}

nlohmann::json DriftWatch::status_json() const {
    nlohmann::json j = {
        {"mode", policy_ ? nlohmann::json(policy_name(*policy_)) : nlohmann::json()},
        {"watching", socket_ != nullptr},
        {"containers_heard", watching_all()},
        {"events",
         {{"owned", owned_events_},
          {"foreign", foreign_events_},
          {"own", own_events_},
          {"containers", container_events_},
          {"docker_networks", {{"owned", docker_owned_}, {"foreign", docker_foreign_}, {"own", docker_own_}}}}},
        {"drifts", drifts_},
        {"container_drifts", container_drifts_},
        {"repairs", repairs_},
        {"reported", reported_},
        {"lost", lost_},
    };
    if (!socket_) j["error"] = error_;
    j["pending"] = pending_ ? nlohmann::json(pending_->str())
                 : requested_ ? nlohmann::json(requested_->str())
                              : nlohmann::json();
    if (last_repair_) {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(last_repair_->finished - last_repair_->detected)
                .count();
        j["last_repair"] = {{"what", last_repair_->what},
                            {"detected", iso_time(last_repair_->detected)},
                            {"finished", iso_time(last_repair_->finished)},
                            {"latency_ms", ms},
                            {"status", last_repair_->status},
                            {"trigger", last_repair_->by}};
    } else {
        j["last_repair"] = nullptr;
    }
    auto reports = nlohmann::json::array();
    for (const auto& r : reports_)
        reports.push_back({{"what", r.what}, {"at", iso_time(r.at)}, {"namespace", r.ns}});
    j["reports"] = reports;
    // The containers whose events are judged: those the last successful
    // apply attached (and gave an nsid), less those that died since.
    std::set<std::string> watched;
    for (const auto& [nsid, ns] : nsids_) watched.insert(reconcile::container_of(ns));
    j["containers_watched"] = watched;
    return j;
}

}  // namespace netlab::daemon
