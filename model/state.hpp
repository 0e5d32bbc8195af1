// Kernel state of one network namespace, as observe() dumps it and as the
// snapshot/journal stores it. Pure values; the diff compares these with the
// desired state compiled from the Topology.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "model/net.hpp"
#include "model/topology.hpp"

namespace netlab::model {

// The mark netlab leaves in the kernel on what it owns.
inline constexpr const char* kOwnedAliasPrefix = "netlab:";  // IFLA_IFALIAS of owned links
inline constexpr std::uint8_t kRouteProtocol = 77;           // rtm_protocol of owned routes
inline constexpr std::uint8_t kProtoKernel = 2;              // RTPROT_KERNEL (connected routes)
inline constexpr std::uint32_t kMainTable = 254;

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

struct AddressState {
    std::string dev;
    Prefix prefix;  // address with its prefix length
    // IFA_F_SECONDARY: an IPv4 address added to a link that already had one
    // in the same subnet. The kernel's bookkeeping, not the address's
    // identity: comparisons ignore it. Deleting the subnet's primary deletes
    // its secondaries too, unless the link has promote_secondaries.
    bool secondary = false;
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
