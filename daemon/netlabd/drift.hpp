// Drift: link, address and route events of the namespace netlabd runs in (an
// rtnetlink event socket on the loop), classified against the desired state
// of the topology in force (reconcile::classify). A change that leaves
// something netlab manages other than desired is drift: with `drift: repair`
// (the default) it asks for a debounced reconcile, with `drift: report` it
// logs a warning and keeps a status entry, and changes nothing. Foreign
// objects' events are counted and ignored. Lost events (ENOBUFS) mean a full
// re-observe: a reconcile, or in report mode a plan that says what differs.
//
// netlabd's own transactions make events too. They are the echo of its
// writes, and the kernel queues each on this socket before it answers the
// write, so when a job ends its whole echo is already here: everything read
// from the start of a job to its end (drained then) is counted as netlabd's
// own and not classified. A change made by someone else in that window is
// caught by the state the apply observed at its end (reconcile::drift_in),
// except one made between that observation and the drain. The kernel's
// late follow-ups of a job (carrier, operstate, IPv6 DAD) agree with the
// desired state and are no drift.
//
// Networks published to Docker are followed through Docker's network events
// (the container watch's stream hands them here, docker_network_event): one
// that is removed or created by someone else under netlab's name is drift,
// repaired or reported the same way. Their echo of netlabd's own jobs is
// told apart by time: an event Docker stamped inside a writing job's window
// is the job's own (Docker's stream may deliver it after the job ended).
//
// Container namespaces are heard without a socket in each (a netlink socket
// holds a reference on its namespace, so a socket per container would keep
// a stopped container's namespace, and its veth on the bridge, alive): the
// event socket listens to all nsids, and the engine gives each attached
// container namespace an nsid in netlabd's namespace, which does not keep it
// alive (the kernel takes the nsid back, RTM_DELNSID, when the namespace
// dies). A container's events are judged by the same rules as the host's,
// against that container's desired state (reconcile::drift_of), and repaired
// or reported the same way; the nsids come from the last apply
// (JobResult::nsids), and an nsid taken back is forgotten at once (the
// container's veth then going down on the host with it is no drift).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "model/topology.hpp"
#include "netlabd/control_server.hpp"
#include "netlabd/reconciler.hpp"
#include "reconcile/containers/docker.hpp"
#include "reconcile/watch/drift.hpp"

namespace netlab::reconcile::nl {
class EventSocket;
}

namespace netlab::daemon {

class DriftWatch {
public:
    using WallClock = std::chrono::system_clock;
    // Asks the daemon for a job: an apply (repair) or a plan (what differs
    // after lost events in report mode; `reply` gets the plan's reply).
    using Request = std::function<void(JobResult::Mode mode, std::string trigger, ControlServer::Reply reply)>;
    // Every batch read, the job's echo included (`own`), before it is judged.
    using Batch = std::function<void(const reconcile::KernelEvents& batch, bool own)>;

    DriftWatch(boost::asio::io_context& io, std::filesystem::path state_dir, std::chrono::milliseconds debounce,
               std::chrono::milliseconds max_delay, Request request);
    ~DriftWatch();
    DriftWatch(const DriftWatch&) = delete;
    DriftWatch& operator=(const DriftWatch&) = delete;

    // Opens the event socket in the loop thread's namespace; on failure logs
    // and runs without drift detection (status says why).
    void start();
    void stop();
    void on_batch(Batch b) { batch_ = std::move(b); }
    // Reads what is pending now (outside a job: judged as usual).
    void poll() { read(in_job_); }
    // The host's events and the container namespaces' (all nsids) are heard.
    bool watching_all() const;
    // Container namespaces whose events are judged now (nsid -> namespace).
    const std::map<int, reconcile::NsId>& containers_watched() const { return nsids_; }
    std::string not_watching_all() const;  // why not

    // Around every job. Events read in between are the job's own echo
    // (a plan's excepted: it writes nothing).
    void job_started(JobResult::Mode mode);
    // `in_force`: the topology in force after the job (nullptr: none yet);
    // the desired state events are classified against is compiled from it
    // and the ledger in the state directory.
    void job_ended(const JobResult& r, const model::Topology* in_force);

    // After a successful apply: `ns`, a container namespace the apply took
    // from memory (it wrote nothing there), had an event during the job that
    // leaves it other than desired (`why`, the fast reload's verdict): the
    // job's own observation did not see it, so it is drift as any other.
    void changed_during_job(const reconcile::NsId& ns, const std::string& why);

    // A network event of Docker's stream (on the loop). The drift it is, in
    // the admin's words, or "" (netlab's own echo, foreign, as desired).
    std::string docker_network_event(const reconcile::docker::Event& e);

    // `drift` in the status reply.
    nlohmann::json status_json() const;
    // Reconciles that repaired drift, since netlabd started.
    std::uint64_t repairs() const { return repairs_; }
    // The desired state of every namespace under the topology in force (and
    // the ledger), as of the last job's end; null before the first.
    std::shared_ptr<const reconcile::Desired> desired() const { return desired_all_; }

private:
    struct Drift {
        std::vector<std::string> what;  // in the order seen, at most kMaxWhat
        std::size_t more = 0;           // beyond those
        WallClock::time_point detected;
        std::string str() const;
    };
    struct Repaired {
        std::string what, by, status;
        WallClock::time_point detected, finished;
    };
    struct Report {
        std::string what;
        reconcile::NsId ns;  // "" the host
        WallClock::time_point at;
    };

    void wait_readable();
    void read(bool own);
    void on_event(const reconcile::KernelEvent& e, WallClock::time_point at);
    void on_peer_event(const reconcile::PeerEvent& p, WallClock::time_point at);
    void on_drift(const reconcile::NsId& ns, const std::string& drift, WallClock::time_point at);
    void on_lost(WallClock::time_point at);
    void repair_later(const std::string& what, WallClock::time_point at);
    void request_repair();
    void report(const std::string& what, WallClock::time_point at, const reconcile::NsId& ns = {});
    void follow(const model::Topology* in_force);

    boost::asio::io_context& io_;
    std::filesystem::path state_dir_;
    std::chrono::milliseconds debounce_, max_delay_;
    Request request_;
    Batch batch_;

    std::unique_ptr<reconcile::nl::EventSocket> socket_;
    boost::asio::posix::stream_descriptor fd_;
    std::string error_;  // why events are not watched
    bool stopped_ = false;
    bool in_job_ = false;

    std::optional<model::DriftPolicy> policy_;  // nullopt: nothing in force yet
    reconcile::DesiredNs desired_;              // the host's part
    std::shared_ptr<const reconcile::Desired> desired_all_;
    // nsid in netlabd's namespace -> the container namespace it tags, as the
    // last successful apply attached them, less those that died since.
    std::map<int, reconcile::NsId> nsids_;
    std::set<int> died_in_job_;  // nsids taken back while the running job ran
    // Container namespaces that died since they were attached: the host end
    // of their veth going down and away with them is no drift.
    std::set<reconcile::NsId> gone_;

    boost::asio::steady_timer timer_;
    std::optional<std::chrono::steady_clock::time_point> burst_start_;
    std::optional<Drift> pending_;    // waiting for the debounce
    std::optional<Drift> requested_;  // a reconcile was asked for and has not started
    std::optional<Drift> repairing_;  // the running apply repairs it
    std::optional<Repaired> last_repair_;
    std::deque<Report> reports_;      // report mode; the latest kMaxReports

    std::uint64_t owned_events_ = 0, foreign_events_ = 0, own_events_ = 0;
    // drifts: events that left something other than desired; repairs:
    // reconciles that ran because of them (one for a burst); lost: ENOBUFS.
    std::uint64_t drifts_ = 0, repairs_ = 0, reported_ = 0, lost_ = 0;
    std::uint64_t container_events_ = 0, container_drifts_ = 0;  // of those above, inside containers

    // Docker names of the networks the topology in force publishes.
    std::set<std::string> docker_networks_;
    // The windows of the latest writing jobs (the running one open-ended),
    // for Docker's echo.
    struct Window {
        WallClock::time_point from;
        std::optional<WallClock::time_point> to;
    };
    std::deque<Window> windows_;
    std::uint64_t docker_owned_ = 0, docker_foreign_ = 0, docker_own_ = 0;  // network events, also counted above
};

}  // namespace netlab::daemon
