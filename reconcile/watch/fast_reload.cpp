// FastReload: the remembered kernel state, the dirty set, and whether an
// apply must observe (docs/daemon.md, "Fast reload").
#include "reconcile/watch/fast_reload.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "reconcile/engine.hpp"

namespace netlab::reconcile {

namespace {

// Erases every entry of `state` that keep(ns, container) refuses.
// `container` is the topology's container of a container namespace (null
// when the topology names none, or for the host), `is_container` says which.
template <class Keep>
void keep_if(Observed& state, const model::Topology& topology, Keep keep) {
    for (auto it = state.begin(); it != state.end();) {
        const std::string name = container_of(it->first);
        const model::Container* c = nullptr;
        if (!name.empty())
            if (auto f = topology.containers.find(name); f != topology.containers.end()) c = &f->second;
        it = keep(it->first, !name.empty(), c) ? std::next(it) : state.erase(it);
    }
}

}  // namespace

void Known::keep_standing(const model::Topology& topology, const Desired& desired) {
    keep_if(state, topology, [&](const NsId& ns, bool is_container, const model::Container* c) {
        if (!ns.empty() && !desired.namespaces.count(ns)) return false;
        if (!is_container) return true;
        auto t = targets.find(ns);
        return c && t != targets.end() && c->netns.str() == t->second;
    });
}

// The namespaces a reconcile may take from the last verified one instead of
// observing: every one the dirty set has had no event of, whose target
// still stats as the same namespace (`identities`, read after the poll of
// the event socket). Moved out of remembered_: the job hands back a fresh
// state when it verifies.
Known FastReload::take_known(const model::Topology& in_force, const std::map<std::string, std::string>& identities) {
    Known k;
    if (!remembered_ || !dirty_.has_baseline() || dirty_.all_dirty()) return k;
    const auto& baseline = *dirty_.baseline();
    k.state = std::move(*remembered_);
    remembered_.reset();
    keep_if(k.state, in_force, [&](const NsId& ns, bool is_container, const model::Container* c) {
        if (dirty_.dirty().count(ns)) return false;
        if (!is_container) return true;
        const std::string name = container_of(ns);
        auto then = baseline.targets.find(name);
        auto now = identities.find(name);
        if (!c || then == baseline.targets.end() || now == identities.end() ||
            c->netns.kind == model::NetnsTarget::Kind::Docker || now->second != then->second)
            return false;
        k.targets[ns] = c->netns.str();
        return true;
    });
    return k;
}

FastReload::Decision FastReload::before_apply(bool full, bool confirm, const Hearing& hearing,
                                              const std::function<Input()>& read) {
    Decision d;
    if (confirm) return d;
    if (full) {
        d.full_because = "asked for (--full)";
        return d;
    }
    if (!hearing.in_force) {
        d.full_because = "nothing in force yet";
        return d;
    }
    if (hearing.deaf) {
        d.full_because = *hearing.deaf;
        return d;
    }
    if (!hearing.docker_followed) {
        d.full_because = "the Docker events are not followed right now";
        return d;
    }
    const Input now = read();
    if (auto why = dirty_.why_full(now.bytes, now.targets)) {
        d.full_because = *why;
        d.known = take_known(*hearing.in_force, now.targets);
        return d;
    }
    ++fast_;
    d.fast = true;
    return d;
}

void FastReload::job_started(JobKind kind) {
    // Handed to the job, or stale once a job that may write has run.
    if (kind != JobKind::Plan && kind != JobKind::Probe && kind != JobKind::Confirm) remembered_.reset();
    if (kind != JobKind::Plan) dirty_.job_started();
}

void FastReload::on_kernel_events(const KernelEvents& batch) {
    for (const auto& e : batch.events) dirty_.event(std::nullopt, e);
    for (const auto& p : batch.peers) dirty_.event(p.nsid, p.event);
    for (int id : batch.nsids_new) dirty_.nsid_added(id);
    for (int id : batch.nsids_del) dirty_.nsid_deleted(id);
    if (batch.lost) dirty_.all("kernel events were lost (ENOBUFS)");
}

std::optional<std::string> FastReload::job_ended(JobEnd end) {
    using S = Outcome::Status;
    switch (end.kind) {
    case JobKind::Plan: return std::nullopt;  // not in a job for the dirty set
    case JobKind::Probe:
    case JobKind::Confirm: dirty_.job_ended_without_writes(); return std::nullopt;
    case JobKind::Recover:
        if (end.journal_found) dirty_.forget("a crash recovery ran");
        else dirty_.job_ended_without_writes();
        return std::nullopt;
    case JobKind::Rollback: dirty_.forget("a commit-confirmed change was rolled back"); return std::nullopt;
    case JobKind::Apply: break;
    }
    const Outcome& o = *end.outcome;
    ++full_;
    last_full_because_ = end.full_because;
    std::string why;
    if (o.status != S::Converged && o.status != S::Applied)
        why = std::string("the last reconcile ended ") + to_string(o.status);
    else if (o.pending)
        why = "a commit-confirmed change is pending";
    else if (end.recovered)
        why = "the last reconcile recovered an interrupted transaction first";
    else if (end.deaf)
        why = *end.deaf;
    for (const auto& [name, state] : end.containers) {
        if (!why.empty()) break;
        if (state != "attached") why = "container " + name + " is " + state;
    }
    if (why.empty() && end.containers_in_force && end.baseline.nsids.size() != *end.containers_in_force)
        why = "a container namespace has no nsid, so its events are not heard";
    if (!why.empty()) {
        dirty_.forget(why);
        return why;
    }
    remembered_ = o.state;
    std::set<NsId> written;
    if (o.status == S::Applied)
        for (const auto& step : o.plan.steps) {
            written.insert(step.ns);
            if (!step.link.peer_name.empty()) written.insert(step.link.peer_ns);
            if (!step.link.parent.empty()) written.insert(step.link.parent_ns);
        }
    dirty_.clean(std::move(end.baseline), written);
    return std::nullopt;
}

nlohmann::json FastReload::status_json(bool containers_heard) const {
    auto dirty = nlohmann::json::array();
    for (const auto& [ns, why] : dirty_.dirty()) {
        if (dirty.size() == 20) break;
        dirty.push_back({{"namespace", ns.empty() ? "host" : ns}, {"why", why}});
    }
    return {
        {"containers_heard", containers_heard},
        {"baseline", dirty_.has_baseline()},
        {"all_dirty", dirty_.all_dirty() ? nlohmann::json(*dirty_.all_dirty()) : nlohmann::json()},
        {"dirty", dirty},
        {"dirty_count", dirty_.dirty().size()},
        {"events", {{"as_desired", dirty_.events_as_desired()}, {"drift", dirty_.events_drift()}}},
        {"fast", fast_},
        {"full", full_},
        {"last_full_because", last_full_because_ ? nlohmann::json(*last_full_because_) : nlohmann::json()},
    };
}

}  // namespace netlab::reconcile
