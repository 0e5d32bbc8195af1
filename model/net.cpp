// Parsing and printing addresses, prefixes and MAC addresses (net.hpp).
#include "model/net.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>

namespace netlab::model {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.empty() || text.size() > 45) return std::nullopt;
    std::string s(text);
    IpAddress ip;
    if (s.find(':') == std::string::npos) {
        if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) != 1) return std::nullopt;
        ip.family = 4;
    } else {
        if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) return std::nullopt;
        ip.family = 6;
    }
    return ip;
}

IpAddress IpAddress::any(std::uint8_t family) {
    IpAddress ip;
    ip.family = family;
    return ip;
}

std::string IpAddress::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family == 4) inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
    else if (family == 6) inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    else return "?";
    return buf;
}

std::optional<Prefix> Prefix::parse(std::string_view text, bool allow_bare) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        if (!allow_bare) return std::nullopt;
        auto ip = IpAddress::parse(text);
        if (!ip) return std::nullopt;
        return Prefix{*ip, static_cast<std::uint8_t>(ip->is_v4() ? 32 : 128)};
    }
    auto ip = IpAddress::parse(text.substr(0, slash));
    if (!ip) return std::nullopt;
    auto lenText = text.substr(slash + 1);
    unsigned len = 0;
    auto [end, ec] = std::from_chars(lenText.data(), lenText.data() + lenText.size(), len);
    if (ec != std::errc{} || end != lenText.data() + lenText.size() || lenText.empty()) return std::nullopt;
    if (len > (ip->is_v4() ? 32u : 128u)) return std::nullopt;
    return Prefix{*ip, static_cast<std::uint8_t>(len)};
}

std::string Prefix::str() const { return addr.str() + "/" + std::to_string(len); }

Prefix Prefix::network() const {
    Prefix p = *this;
    for (std::size_t i = 0; i < p.addr.size(); ++i) {
        int bitsLeft = static_cast<int>(len) - static_cast<int>(i * 8);
        if (bitsLeft >= 8) continue;
        if (bitsLeft <= 0) p.addr.bytes[i] = 0;
        else p.addr.bytes[i] &= static_cast<std::uint8_t>(0xff << (8 - bitsLeft));
    }
    return p;
}

std::optional<IpAddress> Prefix::broadcast() const {
    if (!addr.is_v4() || len > 30) return std::nullopt;
    IpAddress b = network().addr;
    for (std::size_t i = 0; i < 4; ++i) {
        int bitsLeft = static_cast<int>(len) - static_cast<int>(i * 8);
        if (bitsLeft >= 8) continue;
        if (bitsLeft <= 0) b.bytes[i] = 0xff;
        else b.bytes[i] |= static_cast<std::uint8_t>(0xff >> bitsLeft);
    }
    return b;
}

bool Prefix::contains(const IpAddress& ip) const {
    if (ip.family != addr.family) return false;
    return Prefix{ip, len}.network().addr == network().addr;
}

bool Prefix::overlaps(const Prefix& other) const {
    if (other.addr.family != addr.family) return false;
    std::uint8_t shorter = std::min(len, other.len);
    return Prefix{addr, shorter}.network() == Prefix{other.addr, shorter}.network();
}

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
    // Exactly six colon- or dash-separated pairs of hex digits.
    if (text.size() != 17) return std::nullopt;
    MacAddress mac;
    for (std::size_t i = 0; i < 6; ++i) {
        if (i > 0 && text[i * 3 - 1] != ':' && text[i * 3 - 1] != '-') return std::nullopt;
        unsigned v = 0;
        auto part = text.substr(i * 3, 2);
        auto [end, ec] = std::from_chars(part.data(), part.data() + 2, v, 16);
        if (ec != std::errc{} || end != part.data() + 2) return std::nullopt;
        mac.bytes[i] = static_cast<std::uint8_t>(v);
    }
    return mac;
}

std::string MacAddress::str() const {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                  bytes[3], bytes[4], bytes[5]);
    return buf;
}

}  // namespace netlab::model
