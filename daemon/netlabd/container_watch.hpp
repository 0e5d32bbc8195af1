// Re-attach: a container restart destroys its network namespace and everything
// netlab put in it. This follows what brings a namespace back — Docker's
// container start/die/restart events for `docker:NAME` targets (GET /events,
// reconnecting with backoff and replaying with `since=`), and names appearing
// in /run/netns for `netns:NAME` targets (inotify) — and asks for a debounced
// reconcile, which attaches the container again and leaves the others as
// they are (they are converged: no write). It then measures, per container,
// how long it took from the event to the reconcile that found it attached.
//
// The same stream carries the network events of the networks the topology
// publishes to Docker: they are handed on as they are (on_network_event),
// for drift (daemon/netlabd/drift.*), not judged here.
//
// Everything runs on the daemon's loop except the Docker event stream, which
// blocks on a thread of its own (reconcile::docker::EventWatch) and posts here.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "model/topology.hpp"
#include "netlabd/inotify.hpp"
#include "netlabd/reconciler.hpp"
#include "reconcile/containers/docker.hpp"
#include "reconcile/containers/target.hpp"

namespace netlab::daemon {

class ContainerWatch {
public:
    using WallClock = std::chrono::system_clock;
    // Asks the daemon for a reconcile; `trigger` says why (for the log).
    using Request = std::function<void(std::string trigger)>;

    ContainerWatch(boost::asio::io_context& io, reconcile::ResolverOptions resolver,
                   std::chrono::milliseconds debounce, Request request);
    ~ContainerWatch();
    ContainerWatch(const ContainerWatch&) = delete;
    ContainerWatch& operator=(const ContainerWatch&) = delete;

    // The containers of the topology in force. `since`: when the reconcile
    // that made it in force started; a Docker event stream opened for a new
    // set of containers replays from then, so a start during that reconcile
    // is not missed. `networks`: the Docker names of the published networks.
    void follow(const std::map<std::string, model::Container>& containers, const std::set<std::string>& networks,
                WallClock::time_point since);
    // Where the events of the followed networks go (on the loop).
    void on_network_event(std::function<void(const reconcile::docker::Event&)> f) { network_event_ = std::move(f); }

    // After every apply: a container an event was waiting for that is now
    // attached gets its latency logged (and kept for `status`).
    void reconciled(const std::string& tag, WallClock::time_point started, WallClock::time_point finished,
                    const std::vector<ContainerStatus>& containers);

    void stop();

    // Nothing of Docker is followed, or the event stream is open (a restart
    // or a removed network is heard); false while it connects or retries.
    bool docker_followed() const {
        return (docker_refs_.empty() && docker_networks_.empty()) || docker_state_ == "connected";
    }

    // `reattach` in the status reply.
    nlohmann::json status_json() const;
    // Containers attached again after an event, since netlabd started.
    std::uint64_t reattaches() const { return reattaches_; }

private:
    // A container whose namespace came back and is not attached yet.
    struct Pending {
        std::string event;                // "start event", "netns appeared", ...
        WallClock::time_point event_at;   // when it happened (Docker's time for Docker events)
        WallClock::time_point received;   // when netlabd learnt of it: a reconcile started before does not count
        int retries = 0;                  // reconciles that reached it and failed
    };
    struct Last {
        std::string container, netns, event, tag;
        WallClock::time_point event_at, attached_at;
        long long latency_ms = 0;
    };

    void reattach_needed(const std::string& container, const std::string& event, WallClock::time_point event_at,
                         bool keep_earlier);
    void schedule(const std::string& why);

    // Docker
    void follow_docker(std::set<std::string> refs, std::set<std::string> networks, WallClock::time_point since);
    void on_docker_event(const reconcile::docker::Event& e);
    std::vector<std::string> containers_of(const reconcile::docker::Event& e) const;

    // /run/netns
    void follow_netns(std::set<std::string> names);
    void watch_netns_dir();
    void unwatch_netns_dir();
    void on_inotify(int wd, std::uint32_t mask, const std::string& name);
    void wait_mounted(const std::string& name, WallClock::time_point seen);
    void poll_mounts();
    void netns_appeared(const std::string& name, WallClock::time_point seen);
    bool netns_mounted(const std::string& name) const;

    boost::asio::io_context& io_;
    reconcile::ResolverOptions resolver_;
    std::chrono::milliseconds debounce_;
    Request request_;
    bool stopped_ = false;

    std::map<std::string, model::NetnsTarget> containers_;  // of the topology in force
    std::map<std::string, Pending> pending_;                // by container name
    std::optional<Last> last_;
    std::uint64_t reattaches_ = 0;

    boost::asio::steady_timer debounce_timer_;
    boost::asio::steady_timer retry_timer_;  // a re-attach whose reconcile failed
    std::vector<std::string> why_;  // reasons gathered during the debounce

    std::set<std::string> docker_refs_;  // docker:NAME values followed
    std::set<std::string> docker_networks_;  // published networks followed (Docker names)
    std::function<void(const reconcile::docker::Event&)> network_event_;
    std::string docker_state_;           // "connecting", "connected", "retrying: ..."
    bool docker_error_logged_ = false;
    std::unique_ptr<reconcile::docker::EventWatch> events_;

    std::set<std::string> netns_names_;  // netns:NAME values followed
    Inotify inotify_;
    int netns_wd_ = -1;             // -1: not watching; -2: the directory is missing (retrying)
    boost::asio::steady_timer netns_retry_;
    // Names created in /run/netns whose bind mount is not there yet (`ip netns
    // add` creates the file, then mounts the namespace on it).
    struct Mounting {
        WallClock::time_point seen;
        std::chrono::steady_clock::time_point give_up;
    };
    std::map<std::string, Mounting> mounting_;
    boost::asio::steady_timer mount_poll_;
};

}  // namespace netlab::daemon
