// Small pieces every part of netlabd's Daemon shares: how it joins names,
// its error reply, and the engine's options from its own.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/duration.hpp"
#include "protocol/control_protocol.hpp"
#include "netlabd/options.hpp"
#include "reconcile/engine.hpp"

namespace netlab::daemon {

inline std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

// A request's "confirm" (seconds, 1 to model::kMaxConfirmDeadline):
// nullopt when absent or null; false with `error` set when out of range.
inline bool confirm_of(const nlohmann::json& req, std::optional<std::chrono::seconds>& confirm,
                       std::string& error) {
    confirm.reset();
    if (!req.contains("confirm") || req["confirm"].is_null()) return true;
    const auto& c = req["confirm"];
    if (!c.is_number_integer() || c.get<long long>() < 1 || c.get<long long>() > model::kMaxConfirmDeadline.count()) {
        error = "confirm must be a number of seconds from 1 to " + std::to_string(model::kMaxConfirmDeadline.count());
        return false;
    }
    confirm = std::chrono::seconds(c.get<long long>());
    return true;
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
