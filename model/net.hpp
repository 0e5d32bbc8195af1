// Address value types shared by the topology and by observed kernel state.
// Pure values: parsing and printing only, no syscalls.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netlab::model {

// An IPv4 or IPv6 address. family is 4 or 6 (not AF_*: model/ stays free of
// socket headers). IPv4 uses the first 4 bytes.
struct IpAddress {
    std::uint8_t family = 0;
    std::array<std::uint8_t, 16> bytes{};

    static std::optional<IpAddress> parse(std::string_view text);
    static IpAddress any(std::uint8_t family);  // 0.0.0.0 or ::
    std::string str() const;
    bool is_v4() const { return family == 4; }
    bool is_v6() const { return family == 6; }
    // fe80::/10: the kernel's own on every IPv6 link; netlab never manages one.
    bool is_link_local_v6() const { return is_v6() && bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80; }
    std::size_t size() const { return family == 4 ? 4 : 16; }
    auto operator<=>(const IpAddress&) const = default;
};

// An address with a prefix length: "198.51.100.7/24". Used both for an
// interface address (host bits kept) and for a route destination.
struct Prefix {
    IpAddress addr;
    std::uint8_t len = 0;

    // Accepts "ADDR/LEN"; when allow_bare, "ADDR" means a host prefix (/32, /128).
    static std::optional<Prefix> parse(std::string_view text, bool allow_bare = false);
    static Prefix default_route(std::uint8_t family) { return Prefix{IpAddress::any(family), 0}; }
    std::string str() const;
    Prefix network() const;            // host bits cleared
    std::optional<IpAddress> broadcast() const;  // IPv4 with len <= 30 only
    bool contains(const IpAddress& ip) const;
    bool overlaps(const Prefix& other) const;
    bool is_default() const { return len == 0; }
    auto operator<=>(const Prefix&) const = default;
};

struct MacAddress {
    std::array<std::uint8_t, 6> bytes{};

    static std::optional<MacAddress> parse(std::string_view text);
    std::string str() const;  // lower-case, colon separated
    bool is_multicast() const { return bytes[0] & 0x01; }
    bool is_locally_administered() const { return bytes[0] & 0x02; }
    bool is_zero() const { return bytes == std::array<std::uint8_t, 6>{}; }
    auto operator<=>(const MacAddress&) const = default;
};

}  // namespace netlab::model
