#include "reconcile/dirty.hpp"

#include <algorithm>

namespace netlab::reconcile {

namespace {

std::string ns_name(const NsId& ns) { return ns.empty() ? "the host" : ns; }

std::optional<NsId> ours(const std::map<int, NsId>& nsids, int nsid) {
    auto it = nsids.find(nsid);
    if (it == nsids.end()) return std::nullopt;
    return it->second;
}

}  // namespace

void DirtySet::job_started() {
    in_job_ = true;
    job_host_ = false;
    job_peers_.clear();
    job_deaths_.clear();
    job_all_.reset();
}

void DirtySet::mark(const NsId& ns, const std::string& why) { dirty_.emplace(ns, why); }

void DirtySet::event(std::optional<int> nsid) {
    if (in_job_) {
        if (!nsid)
            job_host_ = true;
        else if (job_peers_.size() < 4096 &&
                 std::find(job_peers_.begin(), job_peers_.end(), *nsid) == job_peers_.end())
            job_peers_.push_back(*nsid);
        else if (job_peers_.size() >= 4096)
            job_all_ = job_all_.value_or("too many namespaces changed during the reconcile");
        return;
    }
    if (!baseline_) return;
    if (!nsid) {
        mark("", "a link, address or route event");
        return;
    }
    if (auto ns = ours(baseline_->nsids, *nsid)) mark(*ns, "a link, address or route event");
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

void DirtySet::settle_job_events(const std::map<int, NsId>& nsids, const std::set<NsId>* written) {
    auto unexplained = [&](const NsId& ns) { return !written || !written->contains(ns); };
    if (job_host_ && unexplained("")) mark("", "a link, address or route event during the last job");
    for (int id : job_peers_)
        if (auto ns = ours(nsids, id); ns && unexplained(*ns))
            mark(*ns, "a link, address or route event during the last job");
    for (int id : job_deaths_)
        if (auto ns = ours(nsids, id)) mark(*ns, "its namespace is gone");
    if (job_all_ && !all_) all_ = job_all_;
    in_job_ = false;
    job_host_ = false;
    job_peers_.clear();
    job_deaths_.clear();
    job_all_.reset();
}

void DirtySet::clean(Baseline b, const std::set<NsId>& written) {
    dirty_.clear();
    all_.reset();
    forgotten_.reset();
    baseline_ = std::move(b);
    settle_job_events(baseline_->nsids, &written);
}

void DirtySet::forget(const std::string& why) {
    baseline_.reset();
    dirty_.clear();
    all_.reset();
    forgotten_ = why;
    in_job_ = false;
    job_host_ = false;
    job_peers_.clear();
    job_deaths_.clear();
    job_all_.reset();
}

void DirtySet::job_ended_without_writes() {
    static const std::map<int, NsId> none;
    settle_job_events(baseline_ ? baseline_->nsids : none, nullptr);
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
