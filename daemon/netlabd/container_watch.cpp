// Following Docker's container events and namespace names for re-attach
// (container_watch.hpp).
#include "netlabd/container_watch.hpp"

#include <sys/inotify.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "netlabd/events.hpp"
#include "netlabd/log.hpp"

namespace netlab::daemon {

namespace asio = boost::asio;
namespace docker = reconcile::docker;
using SteadyClock = std::chrono::steady_clock;

namespace {

// The magic of the nsfs filesystem (linux/magic.h): what a named netns file
// is once `ip netns add` has bind-mounted the namespace on it.
constexpr long kNsfsMagic = 0x6e736673;
constexpr std::uint32_t kNetnsMask =
    IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// How long a name created in /run/netns may stay unmounted before the
// reconcile runs anyway (and reports the stale file).
constexpr std::chrono::seconds kMountWait{5};
constexpr std::chrono::milliseconds kMountPoll{20};
// A reconcile that reached a returning container and failed (the namespace it
// replaces may still be on its way out, holding the same MAC) is tried again,
// with backoff, this many times.
constexpr int kMaxRetries = 6;
constexpr std::chrono::milliseconds kFirstRetry{250};

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

std::string join(const std::set<std::string>& v) { return join(std::vector<std::string>(v.begin(), v.end())); }

}  // namespace

ContainerWatch::ContainerWatch(asio::io_context& io, reconcile::ResolverOptions resolver,
                               std::chrono::milliseconds debounce, Request request)
    : io_(io),
      resolver_(std::move(resolver)),
      debounce_(debounce),
      request_(std::move(request)),
      debounce_timer_(io),
      retry_timer_(io),
      inotify_(io, "netns",
               [this](int wd, std::uint32_t mask, const std::string& name) { on_inotify(wd, mask, name); }),
      netns_retry_(io),
      mount_poll_(io) {}

ContainerWatch::~ContainerWatch() = default;  // the event thread is joined; closing inotify drops its watch

void ContainerWatch::stop() {
    stopped_ = true;
    events_.reset();
    debounce_timer_.cancel();
    retry_timer_.cancel();
    netns_retry_.cancel();
    mount_poll_.cancel();
    inotify_.cancel();
}

void ContainerWatch::follow(const std::map<std::string, model::Container>& containers,
                            const std::set<std::string>& networks, WallClock::time_point since) {
    if (stopped_) return;
    containers_.clear();
    std::set<std::string> refs, names;
    for (const auto& [name, c] : containers) {
        containers_.emplace(name, c.netns);
        if (c.netns.kind == model::NetnsTarget::Kind::Docker) refs.insert(c.netns.value);
        if (c.netns.kind == model::NetnsTarget::Kind::Netns) names.insert(c.netns.value);
    }
    std::erase_if(pending_, [&](const auto& kv) { return !containers_.count(kv.first); });
    follow_docker(std::move(refs), networks, since);
    follow_netns(std::move(names));
}

// ---- requests and measurements ----------------------------------------------

void ContainerWatch::reattach_needed(const std::string& container, const std::string& event,
                                     WallClock::time_point event_at, bool keep_earlier) {
    auto now = WallClock::now();
    auto it = pending_.find(container);
    if (it != pending_.end() && keep_earlier) {
        it->second.received = now;
    } else {
        pending_[container] = Pending{event, event_at, now};
    }
}

void ContainerWatch::schedule(const std::string& why) {
    if (stopped_) return;
    if (std::find(why_.begin(), why_.end(), why) == why_.end() && why_.size() < 8) why_.push_back(why);
    // Trailing debounce: die + start of a restart, or several containers
    // restarted together, give one reconcile.
    debounce_timer_.expires_after(debounce_);
    debounce_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        std::string trigger = "containers: " + join(why_);
        why_.clear();
        request_(std::move(trigger));
    });
}

void ContainerWatch::reconciled(const std::string& tag, WallClock::time_point started,
                                WallClock::time_point finished, const std::vector<ContainerStatus>& containers) {
    std::optional<std::chrono::milliseconds> retry;
    for (const auto& c : containers) {
        auto it = pending_.find(c.name);
        // A reconcile that started before netlabd heard of the event resolved
        // the namespace as it was then.
        if (it == pending_.end() || started < it->second.received) continue;
        auto& p = it->second;
        if (c.state == "not_attached") {
            // Reached but not attached: the run failed or was rolled back.
            if (p.retries >= kMaxRetries) {
                spdlog::error("re-attach: container {} ({}) still not attached after {} tries; waiting for its next "
                              "event or a reload",
                              c.name, c.netns, p.retries + 1);
                pending_.erase(it);
                continue;
            }
            auto delay = std::min<std::chrono::milliseconds>(kFirstRetry * (1 << p.retries), std::chrono::seconds(5));
            ++p.retries;
            spdlog::warn("re-attach: container {} ({}) not attached by {}; trying again in {} ms", c.name, c.netns,
                         tag, delay.count());
            retry = retry ? std::min(*retry, delay) : delay;
            continue;
        }
        if (c.state != "attached") continue;  // absent: its next event says when it is back
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(finished - p.event_at).count();
        ++reattaches_;
        events::emit(spdlog::level::info, events::Kind::Reattached, {.netns = c.netns, .object = c.name},
                     fmt::format("re-attach: container {} ({}) attached {} ms after its {} ({}; {})", c.name, c.netns,
                                 ms, p.event, tag, c.detail));
        last_ = Last{c.name, c.netns, p.event, tag, p.event_at, finished, ms};
        pending_.erase(it);
    }
    if (retry && !stopped_) {
        retry_timer_.expires_after(*retry);
        retry_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopped_) return;
            std::vector<std::string> names;
            for (auto& [name, p] : pending_) {
                p.received = WallClock::now();
                names.push_back(name);
            }
            if (!names.empty()) request_("containers: retry attaching " + join(names));
        });
    }
}

nlohmann::json ContainerWatch::status_json() const {
    nlohmann::json j = nlohmann::json::object();
    if (!docker_refs_.empty() || !docker_networks_.empty())
        j["docker"] = {{"socket", resolver_.docker_socket},
                       {"containers", std::vector<std::string>(docker_refs_.begin(), docker_refs_.end())},
                       {"networks", std::vector<std::string>(docker_networks_.begin(), docker_networks_.end())},
                       {"events", docker_state_}};
    else
        j["docker"] = nullptr;
    if (!netns_names_.empty())
        j["netns"] = {{"dir", resolver_.netns_dir},
                      {"names", std::vector<std::string>(netns_names_.begin(), netns_names_.end())},
                      {"watching", netns_wd_ >= 0}};
    else
        j["netns"] = nullptr;
    auto pending = nlohmann::json::array();
    for (const auto& [name, p] : pending_) pending.push_back(name);
    j["pending"] = pending;
    if (last_)
        j["last"] = {{"container", last_->container}, {"netns", last_->netns},
                     {"event", last_->event},         {"event_at", iso_time(last_->event_at)},
                     {"attached_at", iso_time(last_->attached_at)}, {"latency_ms", last_->latency_ms},
                     {"reconcile", last_->tag}};
    else
        j["last"] = nullptr;
    return j;
}

// ---- Docker ------------------------------------------------------------------

void ContainerWatch::follow_docker(std::set<std::string> refs, std::set<std::string> networks,
                                   WallClock::time_point since) {
    if (refs == docker_refs_ && networks == docker_networks_) return;
    events_.reset();  // stops and joins the old stream
    docker_refs_ = std::move(refs);
    docker_networks_ = std::move(networks);
    docker_error_logged_ = false;
    if (docker_refs_.empty() && docker_networks_.empty()) {
        docker_state_.clear();
        return;
    }
    docker_state_ = "connecting";
    docker::EventFilter filter;
    filter.actions = {"start", "die", "restart"};
    if (docker_networks_.empty()) {
        filter.containers.assign(docker_refs_.begin(), docker_refs_.end());
    } else {
        // One stream for both. Docker applies a `container` or `network`
        // filter to every event whatever its type (it matches the actor's
        // ID and name), so either would drop the other type's events:
        // both are picked here (containers_of, drift's classify).
        filter.types = {"container", "network"};
        filter.actions.insert(filter.actions.end(), {"create", "destroy"});
    }
    docker::Event from;
    from.time_nano = std::chrono::duration_cast<std::chrono::nanoseconds>(since.time_since_epoch()).count();
    filter.since = docker::since_from(from);
    if (!docker_refs_.empty())
        spdlog::info("docker: following start/die events of {} on {}", join(docker_refs_), resolver_.docker_socket);
    if (!docker_networks_.empty())
        spdlog::info("docker: following create/destroy events of network {} on {}", join(docker_networks_),
                     resolver_.docker_socket);
    // The callbacks run on the stream's thread: everything is posted to the loop.
    docker::EventWatch::Callbacks cb;
    cb.on_event = [this](const docker::Event& e) { asio::post(io_, [this, e] { on_docker_event(e); }); };
    cb.on_connected = [this] {
        asio::post(io_, [this] {
            if (stopped_) return;
            if (docker_error_logged_)
                spdlog::info("docker: events stream on {} is back; missed events are replayed",
                             resolver_.docker_socket);
            else
                spdlog::debug("docker: events stream on {} open", resolver_.docker_socket);
            docker_error_logged_ = false;
            docker_state_ = "connected";
        });
    };
    cb.on_error = [this](const docker::Error& err, std::chrono::milliseconds delay) {
        asio::post(io_, [this, msg = err.message, delay] {
            if (stopped_) return;
            // Said once per outage, not at every retry.
            if (!docker_error_logged_)
                spdlog::warn("docker: events: {}; retrying with backoff (now {} ms), events meanwhile are replayed",
                             msg, delay.count());
            else
                spdlog::debug("docker: events: {}; retrying in {} ms", msg, delay.count());
            docker_error_logged_ = true;
            docker_state_ = "retrying: " + msg;
        });
    };
    events_ = std::make_unique<docker::EventWatch>(
        docker::Client(resolver_.docker_socket, resolver_.docker_timeout), std::move(filter), std::move(cb));
}

std::vector<std::string> ContainerWatch::containers_of(const docker::Event& e) const {
    std::vector<std::string> out;
    for (const auto& [name, target] : containers_) {
        if (target.kind != model::NetnsTarget::Kind::Docker) continue;
        // docker:NAME may be a name or an id (or a prefix of one), as Docker accepts them.
        const auto& ref = target.value;
        if (ref == e.name || (!e.id.empty() && e.id.compare(0, ref.size(), ref) == 0)) out.push_back(name);
    }
    return out;
}

void ContainerWatch::on_docker_event(const docker::Event& e) {
    if (stopped_) return;
    if (e.type == "network") {
        if (network_event_) network_event_(e);
        return;
    }
    // A container's create or destroy (asked for networks' sake) says nothing
    // about its namespace.
    if (e.action != "start" && e.action != "die" && e.action != "restart") return;
    auto names = containers_of(e);
    if (names.empty()) return;  // an event of a stream that followed another set
    WallClock::time_point at{std::chrono::duration_cast<WallClock::duration>(
        std::chrono::nanoseconds(e.time_nano != 0 ? e.time_nano : e.time * 1'000'000'000))};
    const std::string who = e.name.empty() ? e.id.substr(0, 12) : e.name;
    if (e.action == "die") {
        for (const auto& n : names) pending_.erase(n);
        spdlog::info("docker: container {} died ({}); what netlab made in its namespace went with it", who,
                     iso_time(at));
        schedule(who + " died");
        return;
    }
    // `docker restart` sends start, then restart: the start is what counts.
    bool restart = e.action == "restart";
    spdlog::info("docker: container {} {} ({}): attaching it again", who, restart ? "restarted" : "started",
                 iso_time(at));
    for (const auto& n : names) reattach_needed(n, e.action + " event", at, restart);
    schedule(who + (restart ? " restarted" : " started"));
}

// ---- /run/netns --------------------------------------------------------------

void ContainerWatch::follow_netns(std::set<std::string> names) {
    if (names == netns_names_) return;
    netns_names_ = std::move(names);
    std::erase_if(mounting_, [&](const auto& kv) { return !netns_names_.count(kv.first); });
    if (netns_names_.empty()) {
        unwatch_netns_dir();
        return;
    }
    if (netns_wd_ == -1) watch_netns_dir();
    inotify_.read();
}

void ContainerWatch::unwatch_netns_dir() {
    if (netns_wd_ >= 0) inotify_.rm_watch(netns_wd_);
    netns_wd_ = -1;
    netns_retry_.cancel();
}

void ContainerWatch::watch_netns_dir() {
    if (stopped_ || netns_names_.empty()) return;
    const std::string& dir = resolver_.netns_dir;
    int wd = inotify_.add_watch(dir, kNetnsMask);
    if (wd < 0) {
        // No named netns was ever made on this machine: `ip netns add`
        // creates the directory with the first one.
        if (netns_wd_ != -2)
            spdlog::debug("netns: watch {}: {}; checking again every second", dir, std::strerror(errno));
        netns_wd_ = -2;
        netns_retry_.expires_after(std::chrono::seconds(1));
        netns_retry_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) watch_netns_dir();
        });
        return;
    }
    bool was_missing = netns_wd_ == -2;
    netns_wd_ = wd;
    spdlog::debug("netns: watching {} for {}", dir, join(netns_names_));
    if (was_missing) {
        // Whatever is in the new directory appeared while nobody watched.
        auto now = WallClock::now();
        for (const auto& n : netns_names_)
            if (::access((dir + "/" + n).c_str(), F_OK) == 0) wait_mounted(n, now);
    }
}

void ContainerWatch::on_inotify(int wd, std::uint32_t mask, const std::string& name) {
    if (mask & IN_Q_OVERFLOW) {
        spdlog::warn("netns: inotify queue overflowed; reconciling every container");
        schedule("netns events lost");
        return;
    }
    if (wd != netns_wd_ || netns_wd_ < 0) return;
    if (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        spdlog::warn("netns: {} went away; watching for it again", resolver_.netns_dir);
        if (!(mask & IN_IGNORED)) inotify_.rm_watch(netns_wd_);
        netns_wd_ = -2;
        watch_netns_dir();
        return;
    }
    if (!netns_names_.count(name)) return;  // not one of ours: other namespaces are left alone
    if (mask & (IN_CREATE | IN_MOVED_TO)) {
        wait_mounted(name, WallClock::now());
    } else if (mask & (IN_DELETE | IN_MOVED_FROM)) {
        mounting_.erase(name);
        for (const auto& [c, target] : containers_)
            if (target.kind == model::NetnsTarget::Kind::Netns && target.value == name) pending_.erase(c);
        spdlog::info("netns: {} removed; what netlab made in it went with it", name);
        schedule("netns " + name + " removed");
    }
}

bool ContainerWatch::netns_mounted(const std::string& name) const {
    struct statfs st{};
    if (::statfs((resolver_.netns_dir + "/" + name).c_str(), &st) != 0) return false;
    return static_cast<long>(st.f_type) == kNsfsMagic;
}

void ContainerWatch::wait_mounted(const std::string& name, WallClock::time_point seen) {
    if (netns_mounted(name)) {
        netns_appeared(name, seen);
        return;
    }
    // `ip netns add` creates the file first and mounts the namespace on it
    // a moment later: wait for the mount, not for the file.
    mounting_.insert_or_assign(name, Mounting{seen, SteadyClock::now() + kMountWait});
    poll_mounts();
}

void ContainerWatch::poll_mounts() {
    for (auto it = mounting_.begin(); it != mounting_.end();) {
        if (netns_mounted(it->first)) {
            auto [name, m] = *it;
            it = mounting_.erase(it);
            netns_appeared(name, m.seen);
        } else if (SteadyClock::now() >= it->second.give_up) {
            auto [name, m] = *it;
            it = mounting_.erase(it);
            spdlog::warn("netns: {} appeared but nothing was mounted on it within {} s", name, kMountWait.count());
            netns_appeared(name, m.seen);
        } else {
            ++it;
        }
    }
    if (mounting_.empty()) return;
    mount_poll_.expires_after(kMountPoll);
    mount_poll_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !stopped_) poll_mounts();
    });
}

void ContainerWatch::netns_appeared(const std::string& name, WallClock::time_point seen) {
    spdlog::info("netns: {} appeared: attaching its container again", name);
    for (const auto& [c, target] : containers_)
        if (target.kind == model::NetnsTarget::Kind::Netns && target.value == name)
            reattach_needed(c, "netns appeared", seen, false);
    schedule("netns " + name + " appeared");
}

}  // namespace netlab::daemon
