// libFuzzer target: one control-socket request line -> the request netlabd
// acts on or the refusal it sends back, for root and for a status-group
// peer; then the fields the daemon reads from an accepted request, read
// the way it reads them, and the reply serialized as it is sent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "netlabd/control_request.hpp"

namespace {

void reply(const nlohmann::json& j) {
    (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view line(reinterpret_cast<const char*>(data), size);
    for (bool may_write : {true, false}) {
        auto parsed = netlab::daemon::parse_control_request(line, may_write);
        if (!parsed.refusal.empty()) {
            reply({{"ok", false}, {"error", parsed.refusal}});
            continue;
        }
        const auto& req = parsed.json;
        const std::string cmd = req.at("cmd").get<std::string>();
        // daemon.cpp: apply's "confirm", reload's "full", confirm's "force".
        if (req.contains("confirm") && req["confirm"].is_number_integer()) (void)req["confirm"].get<long long>();
        (void)(req.contains("full") && req["full"].is_boolean() && req["full"].get<bool>());
        (void)req.value("force", false);
        reply({{"ok", false}, {"error", "unknown command '" + cmd + "'"}});
    }
    return 0;
}
