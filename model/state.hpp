// Kernel state of one network namespace, as observe() dumps it and as the
// snapshot/journal stores it. Pure values; the diff compares these with the
// desired state compiled from the Topology.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "model/net.hpp"
#include "model/topology.hpp"

namespace netlab::model {

// The mark netlab leaves in the kernel on what it owns.
inline constexpr const char* kOwnedAliasPrefix = "netlab:";  // IFLA_IFALIAS of owned links
inline constexpr std::uint8_t kRouteProtocol = 77;           // rtm_protocol of owned routes
inline constexpr std::uint8_t kProtoKernel = 2;              // RTPROT_KERNEL (connected routes)
inline constexpr std::uint32_t kMainTable = 254;
// Ports a Linux bridge can hold: port numbers are 1..BR_MAX_PORTS-1
// (BR_MAX_PORTS is 1024, port 0 reserved); the next enslave is refused
// with EXFULL.
inline constexpr std::size_t kMaxBridgePorts = 1023;
inline constexpr const char* kBridgePortLimitWhy =
    " (the kernel's BR_MAX_PORTS is 1024, port 0 reserved; it refuses the next with EXFULL)";

struct LinkState {
    std::string name;
    int ifindex = 0;
    std::string kind;        // "bridge", "veth", "macvlan", ... ; "" for a plain NIC
    std::string master;      // name of the master, "" when none
    bool up = false;         // IFF_UP (administrative)
    bool promisc = false;    // IFF_PROMISC flag, not the promiscuity counter
    std::uint32_t mtu = 0;
    MacAddress mac;
    std::string alias;       // IFLA_IFALIAS
    std::string parent;      // macvlan: parent link; veth: peer (when in the same netns)
    MacvlanMode macvlan_mode = MacvlanMode::Bridge;
    std::optional<bool> stp; // bridges only
    std::uint32_t group = 0;
    // net.ipv4.conf.NAME.promote_secondaries (IFLA_AF_SPEC/AF_INET); nullopt
    // when the kernel reports no IPv4 configuration for the link.
    std::optional<bool> promote_secondaries;
    bool owned() const { return alias.rfind(kOwnedAliasPrefix, 0) == 0; }
    bool operator==(const LinkState&) const = default;
};

// What an address carries besides itself. Observed in full; netlab sets
// them when it adds an address (docs/topology.md, "Addresses").
struct AddressAttrs {
    static constexpr std::uint32_t kForever = 0xffffffffu;
    // The IFA_F_* flags an admin sets (`ip addr add ... noprefixroute`):
    // nodad, homeaddress, managetempaddr, noprefixroute, mcautojoin. The
    // kernel's own (permanent, secondary, tentative, ...) are left out.
    static constexpr std::uint32_t kAdminFlags = 0x02 | 0x10 | 0x100 | 0x200 | 0x400;
    std::optional<IpAddress> broadcast;  // IFA_BROADCAST (IPv4)
    std::string label;                   // IFA_LABEL (IPv4); "" = the device's name
    std::uint32_t flags = 0;             // kAdminFlags only
    std::uint8_t scope = 0;              // RT_SCOPE_UNIVERSE unless host (254) or link (253)
    // IFA_CACHEINFO lifetimes in seconds; kForever for a static address, finite
    // for one a DHCP client or router advertisement brought.
    std::uint32_t valid_lft = kForever;
    std::uint32_t preferred_lft = kForever;
    bool leased() const { return valid_lft != kForever; }
    // What `ip addr` shows as the address's attributes (lifetimes aside).
    bool same(const AddressAttrs& o) const {
        return broadcast == o.broadcast && label == o.label && flags == o.flags && scope == o.scope;
    }
    bool operator==(const AddressAttrs&) const = default;
};

// The broadcast netlab gives an IPv4 address by default, as `ip addr add
// ADDR/LEN brd +` (pipework), systemd-networkd and Docker do: the prefix's
// last address; none for /31 and /32 and for IPv6.
inline std::optional<IpAddress> default_broadcast(const Prefix& p) { return p.broadcast(); }

struct AddressState {
    AddressState() = default;
    AddressState(std::string d, Prefix p, bool sec = false, AddressAttrs a = {})
        : dev(std::move(d)), prefix(p), secondary(sec), attrs(std::move(a)) {}
    std::string dev;
    Prefix prefix;  // address with its prefix length
    // IFA_F_SECONDARY: an IPv4 address added to a link that already had one
    // in the same subnet. The kernel's bookkeeping, not the address's
    // identity: comparisons ignore it. Deleting the subnet's primary deletes
    // its secondaries too, unless the link has promote_secondaries.
    bool secondary = false;
    // Part of what the address is to a user and restored exactly by a
    // rollback, but not of its identity: the kernel keys an address by
    // (dev, prefix), and so do these comparisons.
    AddressAttrs attrs;
    std::weak_ordering operator<=>(const AddressState& o) const {
        if (auto c = dev <=> o.dev; c != 0) return c;
        return prefix <=> o.prefix;
    }
    bool operator==(const AddressState& o) const { return dev == o.dev && prefix == o.prefix; }
};

struct RouteState {
    std::uint32_t table = kMainTable;
    Prefix dst;
    std::uint32_t metric = 0;
    std::optional<IpAddress> via;
    std::string dev;
    std::uint8_t protocol = 0;
    std::uint8_t scope = 0;
    std::uint8_t type = 1;  // RTN_UNICAST
    // The kernel identifies a route by (table, dst, metric) (tos aside).
    bool same_key(const RouteState& o) const {
        return table == o.table && dst == o.dst && metric == o.metric;
    }
    bool owned() const { return protocol == kRouteProtocol; }
    auto operator<=>(const RouteState&) const = default;
};

struct NetnsState {
    std::map<std::string, LinkState> links;  // by name
    std::set<AddressState> addresses;         // global-scope and link-local alike
    std::set<RouteState> routes;              // main table, unicast
    bool operator==(const NetnsState&) const = default;
};

}  // namespace netlab::model
