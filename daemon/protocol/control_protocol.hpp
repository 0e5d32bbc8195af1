// The control protocol between netlabd and netlabctl, one definition both
// build on (the netlab_control library): line-delimited JSON over
// an AF_UNIX stream socket. One request line, one reply line; a connection may
// carry several requests in turn.
//
//   request: {"version":1,"cmd":"status"|"reload"|"plan"|"apply"}
//   reply:   {"version":1,"ok":true|false, ...}            ("error" when !ok)
//
// A request that is not JSON, has another version, or is longer than
// kMaxRequestBytes gets {"ok":false,"error":...} and the connection is closed.
// Only root may send anything; `--status-group` lets one group ask `status`.
// Connections are limited per peer uid, root's apart (docs/daemon.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace netlab::control {

inline constexpr int kVersion = 1;
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;
inline constexpr const char* kDefaultSocket = "/run/netlab/netlabd.sock";

// Commands that only read (allowed to the status group).
inline bool is_read_only(const std::string& cmd) { return cmd == "status"; }

// Nothing listens on the socket: it does not exist (ENOENT) or nobody
// accepts on it (ECONNREFUSED, a socket left by a netlabd that died).
struct NotRunning : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The client end (control_client.cpp). Send one request and wait for its
// reply line. Throws std::runtime_error with a one-line message (cannot
// connect, timed out, daemon closed, reply not JSON); NotRunning when no
// netlabd listens. Used by netlabctl's status/reload and by plan/apply when
// a daemon runs.
nlohmann::json request(const std::string& socket_path, const nlohmann::json& req,
                       std::chrono::milliseconds timeout);

// True when something accepts connections on socket_path (netlabd asks
// before it takes the socket over).
bool daemon_running(const std::string& socket_path);

}  // namespace netlab::control
