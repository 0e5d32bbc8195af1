// Small pieces every part of netlabd's Daemon shares: how it joins names,
// its error reply, and the engine's options from its own.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/control_protocol.hpp"
#include "netlabd/options.hpp"
#include "reconcile/engine.hpp"

namespace netlab::daemon {

inline std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

inline nlohmann::json error_reply(const std::string& message) {
    return {{"version", control::kVersion}, {"ok", false}, {"error", message}};
}

inline reconcile::Options engine_options(const Options& o) {
    reconcile::Options e;
    e.state_dir = o.state_dir;
    e.resolver.docker_socket = o.docker_socket;
    return e;
}

}  // namespace netlab::daemon
