// One control-socket request line -> the request, or the reason it is
// refused: JSON object, protocol version, "cmd", the peer's right to ask it.
// Pure (no socket, no loop), so it is unit-tested and fuzzed on its own.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace netlab::daemon {

struct ControlRequest {
    nlohmann::json json;  // the parsed object, when `refusal` is empty
    std::string refusal;  // why the request is refused (the connection then closes)
};

// `may_write`: the peer may ask every command (root), not only read-only ones.
ControlRequest parse_control_request(std::string_view line, bool may_write);

}  // namespace netlab::daemon
