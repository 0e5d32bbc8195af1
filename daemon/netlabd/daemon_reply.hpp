// Small pieces every part of netlabd's Daemon replies and logs with.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/control_protocol.hpp"

namespace netlab::daemon {

inline std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

inline nlohmann::json error_reply(const std::string& message) {
    return {{"version", control::kVersion}, {"ok", false}, {"error", message}};
}

}  // namespace netlab::daemon
