// One request to netlabd from netlabctl: the command, the client's options
// and `extra` fields, with transport errors printed (control.cpp).
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"

namespace netlab::cli {

// Sends {"cmd":cmd, ...}; prints transport errors. Returns nullopt when
// there is no reply, with the exit code in `rc` (exit_code::kNoDaemon when
// no netlabd listens, else exit_code::kError).
std::optional<nlohmann::json> call_netlabd(const char* cmd, const ClientOptions& o, int& rc,
                                           nlohmann::json extra = nlohmann::json::object());

}  // namespace netlab::cli
