// The probe targets' text: `tcp: HOST:PORT`, a DNS name, how one prints.
#include "model/probe.hpp"

#include <charconv>

namespace netlab::model {

std::string Probe::str() const {
    switch (kind) {
    case Kind::Tcp:
        return "tcp " + (address.is_v6() ? "[" + address.str() + "]" : address.str()) + ":" + std::to_string(port);
    case Kind::Dns: return "dns " + address.str() + " (" + name + ")";
    case Kind::Icmp: return "icmp " + address.str();
    }
    return {};
}

std::optional<std::pair<IpAddress, std::uint16_t>> parse_host_port(std::string_view text) {
    std::string_view host, port;
    if (text.starts_with("[")) {
        auto close = text.find("]:");
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    auto ip = IpAddress::parse(host);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (!ip || port.empty() || ec != std::errc() || end != port.data() + port.size() || n < 1 || n > 65535)
        return std::nullopt;
    return std::pair{*ip, static_cast<std::uint16_t>(n)};
}

bool valid_dns_name(std::string_view name) {
    if (name == ".") return true;  // the root
    if (name.ends_with(".")) name.remove_suffix(1);
    if (name.empty() || name.size() > 253) return false;
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_';
        if (!ok || ++label > 63) return false;
    }
    return label > 0;
}

}  // namespace netlab::model
