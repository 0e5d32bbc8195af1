// The control socket: AF_UNIX stream, mode 0600 root (0660 with a status
// group), peers identified with SO_PEERCRED/SO_PEERGROUPS and admitted by
// uid (session_quota.hpp: root keeps room of its own whatever others hold).
// Requests are read asynchronously with an idle timeout and a size limit,
// so a slow, silent or hostile client never holds the loop nor delays
// another's reply (daemon/protocol/control_protocol.hpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include "netlabd/session_quota.hpp"

namespace netlab::daemon {

struct Peer {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    bool may_write = false;  // root: every command; status group: read-only ones
    std::string str() const;  // "pid 123 uid 0"
};

class ControlServer {
public:
    using Reply = std::function<void(nlohmann::json)>;
    // Called on the loop for each authorised, well-formed request; `reply`
    // may be called later (a reload answers when its reconcile ends), once.
    using Handler = std::function<void(const nlohmann::json& request, const Peer& peer, Reply reply)>;

    struct Limits {
        std::size_t max_request = 64 * 1024;
        std::chrono::milliseconds idle_timeout{10000};  // for a whole request line, and for writing a reply
        SessionQuota::Caps sessions;                    // open sessions per peer uid
    };

    ControlServer(boost::asio::io_context& io, std::filesystem::path path, std::string status_group,
                  Handler handler, Limits limits);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    void start();  // bind, set mode and owner, listen; throws on failure
    void stop();   // stop accepting and remove the socket file; sessions end on their own

    class Session;

private:
    void accept();

    std::filesystem::path path_;
    std::string status_group_;
    std::optional<gid_t> status_gid_;
    Handler handler_;
    Limits limits_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    SessionQuota quota_;
    bool bound_ = false;
};

}  // namespace netlab::daemon
