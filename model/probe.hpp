// What a commit-confirmed change is probed with (the topology's `probes:`)
// and how the probes decide (`commit_confirmed:`'s mode, grace and window).
// Pure values and the parsing of their text; the probing itself is
// netlabd's (daemon/netlabd/probe.cpp), the verdict reconcile's
// (commit_confirmed.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/net.hpp"

namespace netlab::model {

struct Probe {
    enum class Kind { Tcp, Dns, Icmp };
    Kind kind = Kind::Icmp;
    IpAddress address;
    std::uint16_t port = 0;  // tcp: the port connected to; dns: 53
    std::string name;        // dns: the name asked for (type A; ".": type NS)
    // "tcp 203.0.113.2:22", "dns 203.0.113.53 (example.org)", "icmp 203.0.113.2"
    std::string str() const;
    bool operator==(const Probe&) const = default;
};

// manual: only `netlabctl confirm` keeps a pending change; auto: netlabd
// keeps it once every probe has passed for the whole window.
enum class ConfirmMode { Manual, Auto };

inline constexpr std::chrono::seconds kDefaultProbeGrace{3};
inline constexpr std::chrono::seconds kDefaultProbeWindow{10};

// "203.0.113.2:22" or "[2001:db8::2]:22": the address and a port 1..65535.
std::optional<std::pair<IpAddress, std::uint16_t>> parse_host_port(std::string_view text);

// A DNS name a query can carry: labels of 1..63 letters, digits, '-' or
// '_', 253 characters at most, an optional final dot; or ".", the root.
bool valid_dns_name(std::string_view name);

}  // namespace netlab::model
