// The DNS probe's packets (probe_dns.hpp).
#include "netlabd/probe_dns.hpp"

namespace netlab::daemon {

std::vector<std::uint8_t> dns_query(std::uint16_t id, std::string_view name) {
    std::vector<std::uint8_t> q = {static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id),
                                   0x01, 0x00,  // a standard query, recursion desired
                                   0, 1, 0, 0, 0, 0, 0, 0};  // one question
    if (name.ends_with(".")) name.remove_suffix(1);
    while (!name.empty()) {
        const auto dot = name.find('.');
        const auto label = name.substr(0, dot);
        q.push_back(static_cast<std::uint8_t>(label.size()));
        q.insert(q.end(), label.begin(), label.end());
        name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    }
    const bool root = q.size() == 12;
    q.push_back(0);
    q.insert(q.end(), {0, static_cast<std::uint8_t>(root ? 2 : 1), 0, 1});  // type NS or A, class IN
    return q;
}

std::optional<int> dns_rcode(const std::uint8_t* p, std::size_t n, std::uint16_t id) {
    if (n < 12) return std::nullopt;
    if ((static_cast<std::uint16_t>(p[0] << 8 | p[1])) != id) return std::nullopt;
    if (!(p[2] & 0x80)) return std::nullopt;  // QR: not a response
    return p[3] & 0x0f;
}

}  // namespace netlab::daemon
