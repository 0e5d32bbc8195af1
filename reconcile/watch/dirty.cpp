// DirtySet: which namespaces something changed since the last verified
// reconcile, judged event by event with drift_of().
#include "reconcile/watch/dirty.hpp"

#include <algorithm>

namespace netlab::reconcile {

namespace {

// Events a job keeps to judge at its end when there is no desired state to
// judge them by at once (the first reconcile): 1000 containers' attach
// makes tens of thousands, all in namespaces it writes into.
constexpr std::size_t kMaxJobEvents = 4096;

const std::string kAnyEvent = "a link, address or route event";

std::string ns_name(const NsId& ns) { return ns.empty() ? "the host" : ns; }

std::optional<NsId> ours(const std::map<int, NsId>& nsids, int nsid) {
    auto it = nsids.find(nsid);
    if (it == nsids.end()) return std::nullopt;
    return it->second;
}

const DesiredNs* desired_of(const Baseline* b, const NsId& ns) {
    if (!b || !b->desired) return nullptr;
    auto it = b->desired->namespaces.find(ns);
    return it == b->desired->namespaces.end() ? nullptr : &it->second;
}

}  // namespace

std::optional<NsId> DirtySet::ns_of(const Baseline& b, std::optional<int> nsid) const {
    if (!nsid) return NsId();
    return ours(b.nsids, *nsid);
}

std::string DirtySet::judge(const Baseline& b, const NsId& ns, const KernelEvent& e) {
    const DesiredNs* want = desired_of(&b, ns);
    std::string drift = want ? drift_of(*want, e) : kAnyEvent;
    ++(drift.empty() ? as_desired_ : drift_);
    return drift;
}

void DirtySet::reset_job() {
    in_job_ = false;
    job_drift_.clear();
    job_as_desired_.clear();
    job_kept_.clear();
    job_kept_.shrink_to_fit();
    job_unjudged_.clear();
    job_deaths_.clear();
    job_all_.reset();
}

void DirtySet::job_started() {
    reset_job();
    in_job_ = true;
}

void DirtySet::mark(const NsId& ns, const std::string& why) { dirty_.emplace(ns, why); }

void DirtySet::event(std::optional<int> nsid, const KernelEvent& e) {
    if (in_job_) {
        if (baseline_ && baseline_->desired) {
            auto ns = ns_of(*baseline_, nsid);
            if (ns && desired_of(&*baseline_, *ns)) {
                std::string drift = judge(*baseline_, *ns, e);
                if (drift.empty())
                    job_as_desired_.insert(*ns);
                else
                    job_drift_.emplace(*ns, std::move(drift));
                return;
            }
        }
        // No desired state before the job for it (the first reconcile, a
        // container it attaches): judged against the one after it.
        if (job_kept_.size() < kMaxJobEvents)
            job_kept_.emplace_back(nsid, e);
        else
            job_unjudged_.insert(nsid);
        return;
    }
    if (!baseline_) return;
    auto ns = ns_of(*baseline_, nsid);
    if (!ns) return;
    if (std::string drift = judge(*baseline_, *ns, e); !drift.empty()) mark(*ns, drift);
}

void DirtySet::nsid_added(int nsid) {
    if (in_job_ || !baseline_) return;  // in a job: netlabd's own (attach gives nsids)
    if (auto ns = ours(baseline_->nsids, nsid)) mark(*ns, "its nsid was given again");
}

void DirtySet::nsid_deleted(int nsid) {
    if (in_job_) {
        job_deaths_.push_back(nsid);
        return;
    }
    if (!baseline_) return;
    if (auto ns = ours(baseline_->nsids, nsid)) mark(*ns, "its namespace is gone");
}

void DirtySet::all(const std::string& why) {
    if (in_job_) {
        if (!job_all_) job_all_ = why;
        return;
    }
    if (!all_) all_ = why;
}

// `before`: the baseline the job's events were judged against at once (null
// if none); baseline_ is the one after the job (null after a forget()).
void DirtySet::settle_job_events(const Baseline* before, const std::set<NsId>* written) {
    const Baseline* after = baseline_ ? &*baseline_ : nullptr;
    auto unexplained = [&](const NsId& ns) { return !written || !written->contains(ns); };
    // Still one of ours after the job: the host, or a container with an nsid.
    auto still_ours = [&](const NsId& ns) {
        return ns.empty() || std::any_of(after->nsids.begin(), after->nsids.end(),
                                         [&](const auto& kv) { return kv.second == ns; });
    };
    // A verdict given against the desired state before the job stands if the
    // job left that namespace's desired state as it was.
    auto verdict_stands = [&](const NsId& ns) {
        const DesiredNs* then = desired_of(before, ns);
        const DesiredNs* now = desired_of(after, ns);
        return then && now && *then == *now;
    };
    const std::string in_job = " (during the last job)";
    if (after) {
        for (const auto& [ns, drift] : job_drift_) {
            if (!still_ours(ns) || !unexplained(ns)) continue;
            mark(ns, verdict_stands(ns) ? drift + in_job : kAnyEvent + " during the last job");
        }
        for (const auto& ns : job_as_desired_)
            if (still_ours(ns) && unexplained(ns) && !verdict_stands(ns))
                mark(ns, kAnyEvent + " during the last job, which changed what it should look like");
        for (const auto& [nsid, e] : job_kept_) {
            auto ns = ns_of(*after, nsid);
            if (!ns || !unexplained(*ns)) continue;
            if (std::string drift = judge(*after, *ns, e); !drift.empty()) mark(*ns, drift + in_job);
        }
        for (const auto& nsid : job_unjudged_)
            if (auto ns = ns_of(*after, nsid); ns && unexplained(*ns)) mark(*ns, kAnyEvent + " during the last job");
        for (int id : job_deaths_)
            if (auto ns = ours(after->nsids, id)) mark(*ns, "its namespace is gone");
    }
    if (job_all_ && !all_) all_ = job_all_;
    reset_job();
}

void DirtySet::clean(Baseline b, const std::set<NsId>& written) {
    std::optional<Baseline> before = std::move(baseline_);
    dirty_.clear();
    all_.reset();
    forgotten_.reset();
    baseline_ = std::move(b);
    settle_job_events(before ? &*before : nullptr, &written);
}

void DirtySet::forget(const std::string& why) {
    baseline_.reset();
    dirty_.clear();
    all_.reset();
    forgotten_ = why;
    reset_job();
}

void DirtySet::job_ended_without_writes() {
    settle_job_events(baseline_ ? &*baseline_ : nullptr, nullptr);
    // Without a baseline nothing is clean anyway.
    if (!baseline_) {
        dirty_.clear();
        all_.reset();
    }
}

std::optional<std::string> DirtySet::why_full(const std::string& input,
                                              const std::map<std::string, std::string>& targets) const {
    if (!baseline_) return forgotten_.value_or("no verified reconcile to compare with yet");
    if (all_) return *all_;
    if (!dirty_.empty()) {
        std::string s = "changed since the last reconcile: ";
        std::size_t n = 0;
        for (const auto& [ns, why] : dirty_) {
            if (n == 3) {
                s += " and " + std::to_string(dirty_.size() - 3) + " more";
                break;
            }
            s += (n++ ? ", " : "") + ns_name(ns) + " (" + why + ")";
        }
        return s;
    }
    if (input != baseline_->input) return "the topology files or the ledger changed";
    for (const auto& [name, id] : baseline_->targets) {
        auto it = targets.find(name);
        if (it == targets.end() || it->second != id)
            return "container " + name + ": its namespace is not the one reconciled (" + id + ", now " +
                   (it == targets.end() ? std::string("unknown") : it->second) + ")";
    }
    if (targets.size() != baseline_->targets.size()) return "the containers are not the ones reconciled";
    return std::nullopt;
}

}  // namespace netlab::reconcile
