// netlabd's fast path for a reload that changes nothing: what the last
// verified reconcile left (its input, the namespaces it reached, the desired
// state it verified) and which of those namespaces something has changed
// since. Pure bookkeeping: FastReload (fast_reload.hpp) feeds it the events
// of netlabd's event socket (the host's, and every container namespace's
// through its nsid), the container watch's requests and the jobs' ends, and
// asks it before a reconcile whether one is needed.
//
// An event marks its namespace dirty only if it leaves something netlab
// manages there other than desired (reconcile::drift_of(): the same rules as
// the host's drift, in the host and in every container): the kernel's
// follow-ups of an attach (IPv6 DAD ending, link-local addresses and their
// routes, carrier, operstate), foreign objects and the echo of netlabd's own
// writes do not. Everything that may hide a change — lost events, a container
// started or stopped, a job that did not verify, a namespace whose desired
// state is not known — makes its namespace, or everything, dirty. Events of
// nsids that are not ours are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcile/plan/desired.hpp"
#include "reconcile/watch/drift.hpp"
#include "reconcile/plan/plan.hpp"

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
    // What every namespace should look like: compile() of the topology in
    // force and the ledger the reconcile left. Events are judged against it;
    // without it (or for a namespace it lacks) every event counts.
    std::shared_ptr<const Desired> desired;
};

class DirtySet {
public:
    // A job that may write starts: events from now on may be its echo.
    void job_started();

    // A link, address or route event: in the host's namespace (nullopt) or
    // in the namespace of `nsid` (an unknown nsid is someone else's and
    // ignored). Outside a job it makes that namespace dirty if drift_of()
    // finds it leaves something netlab manages other than the baseline's
    // desired state. In a job it is judged at once against the desired
    // state before the job, and its namespace marked at the job's end if
    // the plan did not write there (then it cannot be the echo) and the
    // verdict still stands.
    void event(std::optional<int> nsid, const KernelEvent& e);
    // RTM_NEWNSID / RTM_DELNSID: one of ours changed its nsid or died.
    void nsid_added(int nsid);
    void nsid_deleted(int nsid);
    // Everything is dirty (events lost, a container started or stopped, a
    // job that failed, the watch is down, ...). In a job too: it survives
    // the job's end.
    void all(const std::string& why);

    // The job ended verified (applied or converged and checked): `b` is what
    // it left and `written` the namespaces its plan wrote into. Every
    // namespace is clean, except one its plan did not write into that had
    // an event in the job that leaves it other than `b` wants (it cannot be
    // the echo), and whatever all() or a death said meanwhile.
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
    // Events of ours judged to leave everything netlab manages as desired,
    // and those that did not (a job's echo included).
    std::uint64_t events_as_desired() const { return as_desired_; }
    std::uint64_t events_drift() const { return drift_; }

private:
    // nullopt: not ours (or not judged here).
    std::optional<NsId> ns_of(const Baseline& b, std::optional<int> nsid) const;
    // drift_of() against `b`'s desired state of `ns`; without one, that any
    // event may be.
    std::string judge(const Baseline& b, const NsId& ns, const KernelEvent& e);
    void mark(const NsId& ns, const std::string& why);
    void settle_job_events(const Baseline* before, const std::set<NsId>* written);
    void reset_job();

    std::optional<Baseline> baseline_;
    std::map<NsId, std::string> dirty_;
    std::optional<std::string> all_;
    std::optional<std::string> forgotten_;  // why there is no baseline
    std::uint64_t as_desired_ = 0, drift_ = 0;

    // A job's events: judged at once against the desired state before it
    // (by namespace), or, with no baseline to judge by, kept to be judged
    // against the one after it (at most kMaxJobEvents; beyond, only their
    // nsids, and those count as changes).
    bool in_job_ = false;
    std::map<NsId, std::string> job_drift_;  // first drift seen per namespace
    std::set<NsId> job_as_desired_;          // namespaces with events that agreed
    std::vector<std::pair<std::optional<int>, KernelEvent>> job_kept_;
    std::set<std::optional<int>> job_unjudged_;
    std::vector<int> job_deaths_;            // nsids deleted in the job
    std::optional<std::string> job_all_;     // all() in the job
};

}  // namespace netlab::reconcile
