// Parsing and admitting one control-socket request line (control_request.hpp).
#include "netlabd/control_request.hpp"

#include "protocol/control_protocol.hpp"

namespace netlab::daemon {

ControlRequest parse_control_request(std::string_view line, bool may_write) {
    ControlRequest out;
    auto req = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    if (req.is_discarded() || !req.is_object()) {
        out.refusal = "malformed request: not a JSON object";
        return out;
    }
    auto version = req.find("version");
    if (version == req.end() || !version->is_number_integer() || *version != control::kVersion) {
        out.refusal = "unsupported protocol version (this netlabd speaks version " +
                      std::to_string(control::kVersion) + ")";
        return out;
    }
    auto cmd = req.find("cmd");
    if (cmd == req.end() || !cmd->is_string()) {
        out.refusal = "malformed request: no \"cmd\"";
        return out;
    }
    if (!may_write && !control::is_read_only(cmd->get<std::string>())) {
        out.refusal = "permission denied: '" + cmd->get<std::string>() + "' is for root only";
        return out;
    }
    // The daemon reads these flags as booleans: any other type is the
    // client's mistake, said as such, not an exception in the daemon.
    for (const char* flag : {"full", "force"}) {
        auto f = req.find(flag);
        if (f != req.end() && !f->is_boolean()) {
            out.refusal = std::string("malformed request: \"") + flag + "\" must be true or false";
            return out;
        }
    }
    out.json = std::move(req);
    return out;
}

}  // namespace netlab::daemon
