// The desired kernel state, compiled from a Topology (plus the ledger of what
// netlab adopted), per network namespace. make_plan() compares it with observed
// NetnsState. Rollback uses the same types: a snapshot becomes a Desired.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "model/state.hpp"
#include "model/topology.hpp"

namespace netlab::reconcile {

// Which namespace: "" is the one netlab runs in (the host); a container's is
// "container:NAME".
using NsId = std::string;
inline NsId container_ns(const std::string& name) { return "container:" + name; }
// The container a namespace belongs to; "" for the host.
inline std::string container_of(const NsId& ns) {
    const std::string prefix = container_ns("");
    return ns.rfind(prefix, 0) == 0 ? ns.substr(prefix.size()) : std::string();
}

// Attributes asked for one of a LinkSpec's addresses. From the topology only
// the broadcast is asked (`broadcast:`); a rollback target or the ledger
// giving an adopted link back what it had asks for all of them (exact).
struct AddressWant {
    model::AddressAttrs attrs;
    bool exact = false;
    bool operator==(const AddressWant&) const = default;
};

// What netlab does with a desired link: adopt one that exists, or create a
// bridge, a macvlan or a veth pair. The second end of a veth pair (VethPeer)
// is made by its partner's request, never by a step of its own.
enum class LinkKind { Existing, Bridge, Macvlan, Veth, VethPeer };

// The spelling in plans, journals and ledgers: the kernel's IFLA_INFO_KIND
// for what netlab creates ("bridge", "macvlan", "veth"), "veth-peer", and ""
// for an existing link.
inline std::string_view to_string(LinkKind k) {
    switch (k) {
        case LinkKind::Existing: return "";
        case LinkKind::Bridge: return "bridge";
        case LinkKind::Macvlan: return "macvlan";
        case LinkKind::Veth: return "veth";
        case LinkKind::VethPeer: return "veth-peer";
    }
    return "";
}
// to_string's reverse; nullopt for any other word (a kind netlab never makes).
inline std::optional<LinkKind> link_kind(std::string_view s) {
    for (auto k : {LinkKind::Existing, LinkKind::Bridge, LinkKind::Macvlan, LinkKind::Veth, LinkKind::VethPeer})
        if (to_string(k) == s) return k;
    return std::nullopt;
}
// Whether an observed link's kernel kind (model::LinkState::kind) is `k`.
inline bool is_kind(const std::string& observed, LinkKind k) { return observed == to_string(k); }

struct LinkSpec {
    std::string name;
    LinkKind kind = LinkKind::Existing;
    std::optional<std::string> master;    // "" = no master; nullopt = not managed
    std::optional<bool> up;
    std::optional<bool> promisc;
    std::optional<bool> stp;
    std::optional<std::uint32_t> mtu;
    std::optional<model::MacAddress> mac;
    std::optional<std::string> mac_from;  // take the MAC of this link (resolved against observed state)
    // Without `mtu`: take the MTU of this link in mtu_from_ns (the bridge a
    // container's veth joins, the parent of a macvlan), as the topology
    // wants it or else as it is. A veth smaller than its bridge drops the
    // container's large frames, and makes a bridge whose MTU was not pinned
    // shrink to it.
    std::optional<std::string> mtu_from;
    NsId mtu_from_ns;
    // net.ipv4.conf.NAME.promote_secondaries. The topology never sets it: the
    // planner turns it on for the moment an address is replaced by another
    // in the same subnet, and only a rollback target asks for a value.
    std::optional<bool> promote_secondaries;
    // IFLA_GROUP. The topology never sets it: only a rollback target asks
    // for a value (the group a link had in the snapshot), so a link a group
    // delete (Step::Op::DeleteGroup) left behind or removed comes back as it was.
    std::optional<std::uint32_t> group;
    std::optional<std::set<model::Prefix>> addresses;  // exact set when managed
    // Attributes for some of `addresses`. An address with an entry gets them
    // and keeps them (a different broadcast is fixed by re-adding it: the
    // kernel cannot change it in place). One without an entry gets, when
    // netlab adds it, what it had on the link it moves from, else
    // model::default_broadcast(); an existing one is left as it is.
    std::map<model::Prefix, AddressWant> address_attrs;
    // macvlan: child of `parent`, which lives in `parent_ns` (a container's
    // macvlan is created from the host socket straight into the container's
    // netns with IFLA_NET_NS_FD; nothing is moved afterwards)
    std::string parent;
    NsId parent_ns;
    model::MacvlanMode mode = model::MacvlanMode::Bridge;
    // veth (LinkKind::Veth): the peer is created by the same request, directly
    // in peer_ns under peer_name. The peer's own spec (in peer_ns) is a
    // LinkKind::VethPeer: it is created by its partner's step, never by its own, and
    // its attributes (addresses, mtu, mac, up) are set after the pair exists.
    std::string peer_name;
    NsId peer_ns;
    bool creates() const { return kind != LinkKind::Existing; }
    bool operator==(const LinkSpec&) const = default;
};

struct RouteSpec {
    model::Prefix dst;
    std::optional<model::IpAddress> via;
    std::string dev;
    std::uint32_t metric = 0;
    std::uint32_t table = model::kMainTable;
    std::uint8_t protocol = model::kRouteProtocol;  // a restored route keeps its original protocol
    std::uint8_t scope = 0;                          // RT_SCOPE_UNIVERSE; 253 (link) for on-link routes
    bool operator==(const RouteSpec&) const = default;
};

struct DesiredNs {
    std::map<std::string, LinkSpec> links;
    std::vector<RouteSpec> routes;
    // Routes to delete although netlab does not own them (their protocol is
    // not kRouteProtocol): only restore_target() fills this, with routes the
    // failed plan added back from the ledger, so a rollback is exact.
    std::vector<RouteSpec> unwanted_routes;
    bool operator==(const DesiredNs&) const = default;
};

struct Desired {
    std::map<NsId, DesiredNs> namespaces;
};

}  // namespace netlab::reconcile
