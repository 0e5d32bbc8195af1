// netlabd's fast path for a reload that changes nothing: what the last
// verified reconcile left (its input and the namespaces it reached) and which
// of those namespaces something has touched since. Pure bookkeeping: the
// daemon feeds it the events of its event socket (the host's, and every
// container namespace's through its nsid), the container watch's requests
// and the jobs' ends, and asks it before a reconcile whether one is needed.
//
// Conservative by construction: any link, address or route event in a
// namespace of ours makes it dirty (whether it is drift or not: a foreign
// address can make a plan refuse), and everything that may hide one —
// lost events, a container event, a job that did not verify — makes
// everything dirty. Only events of nsids that are not ours are ignored.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcile/plan.hpp"

namespace netlab::reconcile {

// What a verified reconcile read and reached.
struct Baseline {
    // The bytes of the topology files and of the ledger as the reconcile
    // read (and left) them: a reload is fast only if they are identical.
    std::string input;
    // Container -> cheap identity of its namespace target (the inode a stat
    // of /run/netns/NAME, /proc/PID/ns/net or the path gives; Docker targets
    // are followed by the Docker events instead).
    std::map<std::string, std::string> targets;
    // nsid in the host's namespace -> the container namespace it tags.
    std::map<int, NsId> nsids;
};

class DirtySet {
public:
    // A job that may write starts: events from now on may be its echo.
    void job_started();

    // A link, address or route event: in the host's namespace (nullopt) or
    // in the namespace of `nsid`. Outside a job it makes that namespace
    // dirty (an unknown nsid is someone else's and ignored); in a job it is
    // remembered and judged at the job's end.
    void event(std::optional<int> nsid);
    // RTM_NEWNSID / RTM_DELNSID: one of ours changed its nsid or died.
    void nsid_added(int nsid);
    void nsid_deleted(int nsid);
    // Everything is dirty (events lost, a container started or stopped, a
    // job that failed, the watch is down, ...). In a job too: it survives
    // the job's end.
    void all(const std::string& why);

    // The job ended verified (applied or converged and checked): `b` is what
    // it left and `written` the namespaces its plan wrote into. Every
    // namespace is clean, except one that had events in the job that its
    // plan did not write into (they cannot be its echo), and whatever
    // all() or a death said meanwhile.
    void clean(Baseline b, const std::set<NsId>& written);
    // The job ended otherwise (nothing to remember, or not verified):
    // `why` says so and there is no baseline until the next clean().
    void forget(const std::string& why);
    // A job that wrote nothing and asked nothing (plan, probe): its events
    // are judged as if they came after it.
    void job_ended_without_writes();

    // Whether a reload with this input and these target identities may
    // skip the reconcile: nullopt if so, else why not (for the log and the
    // reply).
    std::optional<std::string> why_full(const std::string& input,
                                        const std::map<std::string, std::string>& targets) const;

    bool has_baseline() const { return baseline_.has_value(); }
    const Baseline* baseline() const { return baseline_ ? &*baseline_ : nullptr; }
    // The dirty namespaces ("" = the host) with the first reason each, and
    // the reason everything is, if it is.
    const std::map<NsId, std::string>& dirty() const { return dirty_; }
    const std::optional<std::string>& all_dirty() const { return all_; }

private:
    void mark(const NsId& ns, const std::string& why);
    void settle_job_events(const std::map<int, NsId>& nsids, const std::set<NsId>* written);

    std::optional<Baseline> baseline_;
    std::map<NsId, std::string> dirty_;
    std::optional<std::string> all_;
    std::optional<std::string> forgotten_;  // why there is no baseline

    bool in_job_ = false;
    bool job_host_ = false;           // host events in the job
    std::vector<int> job_peers_;      // nsids with events in the job
    std::vector<int> job_deaths_;     // nsids deleted in the job
    std::optional<std::string> job_all_;  // all() in the job
};

}  // namespace netlab::reconcile
