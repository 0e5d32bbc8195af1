// The control socket: accepting, admitting and answering peers
// (control_server.hpp).
#include "netlabd/control_server.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "protocol/control_protocol.hpp"
#include "netlabd/control_request.hpp"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

namespace netlab::daemon {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

std::string Peer::str() const { return "pid " + std::to_string(pid) + " uid " + std::to_string(uid); }

namespace {

nlohmann::json error_reply(const std::string& message) {
    return {{"version", control::kVersion}, {"ok", false}, {"error", message}};
}

std::optional<gid_t> lookup_group(const std::string& name) {
    std::vector<char> buf(16384);
    group g{};
    group* found = nullptr;
    if (getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found) != 0 || !found) return std::nullopt;
    return found->gr_gid;
}

bool in_group(int fd, const ucred& cred, gid_t gid) {
    if (cred.gid == gid) return true;
    std::array<gid_t, 256> groups{};
    socklen_t len = sizeof(groups);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) != 0) return false;
    for (std::size_t i = 0; i < len / sizeof(gid_t); ++i)
        if (groups[i] == gid) return true;
    return false;
}

}  // namespace

// One connection: read a line (bounded, with a timeout), hand it to the
// handler, write the reply, read the next line.
class ControlServer::Session : public std::enable_shared_from_this<ControlServer::Session> {
public:
    // `slot`: the peer's room in the quota, held as long as the session
    // lives; none for a session that only carries a refusal.
    Session(stream::socket sock, Peer peer, Handler handler, Limits limits, std::optional<SessionQuota::Slot> slot)
        : sock_(std::move(sock)),
          timer_(sock_.get_executor()),
          in_(limits.max_request + 1),
          peer_(peer),
          handler_(std::move(handler)),
          limits_(limits),
          slot_(std::move(slot)) {}

    void read() {
        arm_timer();
        asio::async_read_until(sock_, in_, '\n', [self = shared_from_this()](const boost::system::error_code& ec,
                                                                          std::size_t n) {
            self->on_line(ec, n);
        });
    }

    // Reply and close: refusals and protocol errors end the connection.
    void refuse(const std::string& why, bool log = true) {
        if (log)
            spdlog::warn("control: {}: {}", peer_.str(), why);
        else
            spdlog::debug("control: {}: {}", peer_.str(), why);
        write(error_reply(why), /*then_close=*/true);
    }

private:
    void arm_timer() {
        timer_.expires_after(limits_.idle_timeout);
        timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = weak.lock()) {
                spdlog::debug("control: {}: timed out; closing", self->peer_.str());
                boost::system::error_code ignored;
                self->sock_.close(ignored);
            }
        });
    }

    void on_line(const boost::system::error_code& ec, std::size_t n) {
        timer_.cancel();
        if (ec == asio::error::not_found) {
            refuse("request longer than " + std::to_string(limits_.max_request) + " bytes");
            return;
        }
        if (ec) return;  // eof, reset, or closed by the timer
        std::string line(asio::buffers_begin(in_.data()), asio::buffers_begin(in_.data()) + n - 1);
        in_.consume(n);
        ControlRequest parsed = parse_control_request(line, peer_.may_write);
        if (!parsed.refusal.empty()) {
            refuse(parsed.refusal);
            return;
        }
        const nlohmann::json& req = parsed.json;
        auto self = shared_from_this();
        auto replied = std::make_shared<bool>(false);
        Reply reply = [self, replied](nlohmann::json j) {
            if (*replied) return;
            *replied = true;
            self->write(std::move(j), /*then_close=*/false);
        };
        try {
            handler_(req, peer_, std::move(reply));
        } catch (const std::exception& e) {
            spdlog::error("control: {}: {}", peer_.str(), e.what());
            write(error_reply(std::string("internal error: ") + e.what()), true);
        }
    }

    void write(nlohmann::json j, bool then_close) {
        auto out = std::make_shared<std::string>(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        arm_timer();
        asio::async_write(sock_, asio::buffer(*out),
                          [self = shared_from_this(), out, then_close](const boost::system::error_code& ec,
                                                                       std::size_t) {
                              self->timer_.cancel();
                              if (ec || then_close) {
                                  boost::system::error_code ignored;
                                  self->sock_.shutdown(stream::socket::shutdown_both, ignored);
                                  self->sock_.close(ignored);
                                  return;
                              }
                              self->read();
                          });
    }

    stream::socket sock_;
    asio::steady_timer timer_;
    asio::streambuf in_;
    Peer peer_;
    Handler handler_;
    Limits limits_;
    std::optional<SessionQuota::Slot> slot_;
};

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path path, std::string status_group,
                             Handler handler, Limits limits)
    : path_(std::move(path)),
      status_group_(std::move(status_group)),
      handler_(std::move(handler)),
      limits_(limits),
      acceptor_(io),
      quota_(limits.sessions) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::start() {
    if (!status_group_.empty()) {
        status_gid_ = lookup_group(status_group_);
        if (!status_gid_) throw std::runtime_error("--status-group " + status_group_ + ": no such group");
    }
    std::error_code fec;
    if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path(), fec);
    if (std::filesystem::is_socket(std::filesystem::symlink_status(path_, fec))) {
        if (control::daemon_running(path_.string()))
            throw std::runtime_error(path_.string() + ": another netlabd is listening there");
        std::filesystem::remove(path_, fec);  // stale, left by a netlabd that was killed
    }
    // Bind under a umask that leaves nobody a window to connect before chmod.
    mode_t old = ::umask(0177);
    boost::system::error_code ec;
    acceptor_.open(stream(), ec);
    if (!ec) acceptor_.bind(stream::endpoint(path_.string()), ec);
    ::umask(old);
    if (ec) throw std::runtime_error("control socket " + path_.string() + ": " + ec.message());
    bound_ = true;
    if (status_gid_) {
        if (::chown(path_.c_str(), 0, *status_gid_) != 0 || ::chmod(path_.c_str(), 0660) != 0)
            throw std::runtime_error("control socket " + path_.string() + ": " + std::strerror(errno));
    }
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("control socket " + path_.string() + ": listen: " + ec.message());
    spdlog::info("control: listening on {} (mode {}{})", path_.string(), status_gid_ ? "0660" : "0600",
                 status_gid_ ? ", status for group " + status_group_ : "");
    accept();
}

void ControlServer::stop() {
    boost::system::error_code ec;
    if (acceptor_.is_open()) acceptor_.close(ec);
    if (bound_) {
        std::error_code fec;
        std::filesystem::remove(path_, fec);
        bound_ = false;
    }
}

void ControlServer::accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, stream::socket sock) {
        if (ec == asio::error::operation_aborted) return;
        if (ec) {
            // EMFILE and friends: say so and keep accepting; the loop must not die.
            spdlog::warn("control: accept: {}", ec.message());
        } else {
            ucred cred{};
            socklen_t len = sizeof(cred);
            Peer peer;
            bool known = getsockopt(sock.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
            if (known) {
                peer.pid = cred.pid;
                peer.uid = cred.uid;
                peer.gid = cred.gid;
            }
            bool root = known && cred.uid == 0;
            bool reader = known && status_gid_ && in_group(sock.native_handle(), cred, *status_gid_);
            peer.may_write = root;
            // Rights first, then room: a peer that may not ask anything
            // takes none, and a peer over its uid's cap is refused alone.
            if (!root && !reader) {
                std::make_shared<Session>(std::move(sock), peer, handler_, limits_, std::nullopt)
                    ->refuse("permission denied: only root may use the control socket");
            } else {
                auto admission = quota_.admit(peer.uid);
                auto session =
                    std::make_shared<Session>(std::move(sock), peer, handler_, limits_, std::move(admission.slot));
                if (admission.refusal)
                    session->refuse(admission.refusal->message, admission.refusal->first);
                else
                    session->read();
            }
        }
        if (acceptor_.is_open()) accept();
    });
}

}  // namespace netlab::daemon
