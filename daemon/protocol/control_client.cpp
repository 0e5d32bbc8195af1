// The client end of the control protocol: one request, one reply line, over
// netlabd's socket. netlabctl asks with it; netlabd uses it to see whether
// another netlabd already listens before it takes the socket.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/control_protocol.hpp"
#include "reconcile/unique_fd.hpp"

namespace netlab::control {

namespace {

std::runtime_error sys_error(const std::string& what, int err) {
    return std::runtime_error(what + ": " + std::strerror(err));
}

int connect_to(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) throw std::runtime_error(path + ": socket path too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw sys_error("socket", errno);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        int err = errno;
        ::close(fd);
        if (err == ENOENT) throw NotRunning("netlabd is not running (no socket at " + path + ")");
        if (err == ECONNREFUSED) throw NotRunning("netlabd is not running (nothing listens on " + path + ")");
        throw sys_error("connect " + path, err);
    }
    return fd;
}

// Wait for `events` on fd until `deadline`; throws on timeout.
void wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) throw std::runtime_error("no reply from netlabd before the timeout");
        pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
        if (n > 0) return;
        if (n < 0 && errno != EINTR) throw sys_error("poll", errno);
    }
}

}  // namespace

nlohmann::json request(const std::string& socket_path, const nlohmann::json& req,
                       std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    reconcile::UniqueFd fd(connect_to(socket_path));
    std::string out = req.dump() + "\n";
    std::size_t sent = 0;
    while (sent < out.size()) {
        wait_for(fd.get(), POLLOUT, deadline);
        ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            // netlabd refuses some peers before reading: its reply is waiting.
            if (errno == EPIPE || errno == ECONNRESET) break;
            throw sys_error("send", errno);
        }
        sent += static_cast<std::size_t>(n);
    }
    std::string in;
    char buf[4096];
    for (;;) {
        auto nl = in.find('\n');
        if (nl != std::string::npos) {
            in.resize(nl);
            break;
        }
        wait_for(fd.get(), POLLIN, deadline);
        ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            throw sys_error("recv", errno);
        }
        if (n == 0) {
            if (in.empty()) throw std::runtime_error("netlabd closed the connection without a reply");
            break;
        }
        in.append(buf, static_cast<std::size_t>(n));
    }
    auto reply = nlohmann::json::parse(in, nullptr, false);
    if (reply.is_discarded() || !reply.is_object())
        throw std::runtime_error("netlabd sent a reply that is not a JSON object");
    return reply;
}

bool daemon_running(const std::string& socket_path) {
    try {
        reconcile::UniqueFd fd(connect_to(socket_path));
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace netlab::control
