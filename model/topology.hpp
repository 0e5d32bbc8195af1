// The topology as the admin wrote it (format version 1), after loading and
// merging the files. Pure values with equality; where each value came from is
// kept beside it in a SourceMap, so the values themselves compare cleanly.
#pragma once

#include <cstdint>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/net.hpp"
#include "model/probe.hpp"

namespace netlab::model {

enum class InterfaceKind {
    Adopted,  // an existing NIC: only the listed attributes are managed
    Bridge,   // created and owned by netlab
    Macvlan,  // created and owned by netlab, child of `parent`
};

enum class MacvlanMode { Bridge, Private, Vepa, Passthru };
const char* to_string(MacvlanMode m);
std::optional<MacvlanMode> parse_macvlan_mode(std::string_view s);
const char* to_string(InterfaceKind k);
// Docker's rule for network (and container) names: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
bool valid_docker_network_name(std::string_view s);

struct Route {
    Prefix to;                     // `to: default` is 0.0.0.0/0 or ::/0 (family of `via`)
    std::optional<IpAddress> via;
    std::string dev;               // empty: any device that reaches `via`
    std::optional<std::uint32_t> metric;
    // `on_link: true`: `via` is reached on `dev` although no subnet of it
    // covers the gateway; netlab adds a host route to it first (pipework's
    // ADDR/LEN@GW with GW outside the subnet, a hosting provider's /32).
    bool on_link = false;
    bool operator==(const Route&) const = default;
};

struct Interface {
    std::string name;
    InterfaceKind kind = InterfaceKind::Adopted;
    std::optional<bool> up;        // default for netlab-created devices: true
    std::optional<bool> promisc;
    std::optional<std::uint32_t> mtu;
    std::optional<MacAddress> mac;          // a literal MAC ...
    std::optional<std::string> mac_from;    // ... or "take the MAC of this interface"
    std::optional<std::vector<Prefix>> addresses;  // nullopt: not managed
    // `broadcast:` written for an address (nullopt: `broadcast: none`).
    // Addresses not named here get default_broadcast() when netlab adds them.
    std::map<Prefix, std::optional<IpAddress>> broadcasts;
    // bridge
    std::vector<std::string> ports;
    std::optional<bool> stp;
    // macvlan
    std::string parent;
    MacvlanMode mode = MacvlanMode::Bridge;
    bool operator==(const Interface&) const = default;
};

struct Network {
    std::string name;
    std::string driver = "macvlan";
    std::string parent;
    MacvlanMode mode = MacvlanMode::Bridge;
    std::vector<Prefix> subnets;       // `subnet:` scalar or list (v4 and/or v6)
    std::vector<IpAddress> gateways;   // `gateway:` scalar or list
    std::vector<Prefix> host_access;   // the host's shim addresses (at most one per family)
    // `docker:`: the name of the Docker network netlab publishes this one
    // as (docs/docker.md); nullopt: netlab's macvlans only.
    std::optional<std::string> docker;
    bool operator==(const Network&) const = default;
};

struct NetnsTarget {
    enum class Kind { Docker, Netns, Pid, Path };
    Kind kind = Kind::Netns;
    std::string value;  // container name, netns name, pid digits, or path
    static std::optional<NetnsTarget> parse(std::string_view text);
    std::string str() const;  // "docker:test1"
    bool operator==(const NetnsTarget&) const = default;
};

struct ContainerInterface {
    std::string name;                      // the name inside the container
    std::optional<std::string> network;    // macvlan child of the network's parent
    std::optional<std::string> bridge;     // veth pair, host end enslaved here
    std::vector<Prefix> addresses;         // `address:` (scalar, may be ADDR/LEN@GW) or `addresses:`
    std::map<Prefix, std::optional<IpAddress>> broadcasts;  // as Interface::broadcasts
    std::optional<MacAddress> mac;
    std::optional<std::uint32_t> mtu;
    std::optional<IpAddress> gateway;      // replaces the container's default route
    bool gateway_on_link = false;          // `on_link: true`: the gateway is outside every subnet, on this link
    bool default_route = false;            // via the network's gateway
    std::vector<Route> routes;
    bool operator==(const ContainerInterface&) const = default;
};

struct Container {
    std::string name;
    NetnsTarget netns;
    std::map<std::string, ContainerInterface> interfaces;
    bool operator==(const Container&) const = default;
};

enum class DriftPolicy { Repair, Report };

struct Topology {
    int version = 1;
    std::map<std::string, Interface> interfaces;
    std::vector<Route> routes;
    std::map<std::string, Network> networks;
    std::map<std::string, Container> containers;
    DriftPolicy drift = DriftPolicy::Repair;
    // Commit-confirmed default: a change whose plan moves the host's default
    // route or changes/removes its addresses is applied by netlabd with this
    // deadline and rolled back unless `netlabctl confirm` comes in time.
    std::optional<std::chrono::seconds> commit_confirmed;
    // `commit_confirmed:` as a map: how the probes decide a pending change
    // (model/probe.hpp), whatever made it pending (this deadline or
    // `netlabctl apply --confirm`).
    struct ConfirmSettings {
        ConfirmMode mode = ConfirmMode::Manual;
        std::chrono::seconds grace = kDefaultProbeGrace;    // failing this long rolls back at once
        std::chrono::seconds window = kDefaultProbeWindow;  // passing this long: auto mode confirms
        bool operator==(const ConfirmSettings&) const = default;
    };
    ConfirmSettings confirm;
    std::vector<Probe> probes;  // besides the default gateways
    // After an apply, tell the neighbours of every link that gained an
    // address or a MAC (gratuitous ARP, unsolicited neighbour advertisement).
    bool announce = true;
    bool operator==(const Topology&) const = default;
};

// ---- where values came from ------------------------------------------------

struct Location {
    std::string file;
    int line = 0;  // 1-based; 0 when unknown
    int col = 0;   // 1-based
    std::string str() const;  // "file:line:col"
    bool operator==(const Location&) const = default;
};

// Maps a value's path to where it was written. Paths are dotted keys with
// list indices: "interfaces.br0", "interfaces.br0.addresses[0]",
// "routes[1].via", "containers.test1.interfaces.eth1.address".
class SourceMap {
public:
    void set(const std::string& path, Location loc) { locs_[path] = std::move(loc); }
    // The location of path, or of its nearest recorded ancestor.
    Location at(const std::string& path) const;
    bool has(const std::string& path) const { return locs_.count(path) != 0; }
    const std::map<std::string, Location>& all() const { return locs_; }
    void merge(const SourceMap& other);

private:
    std::map<std::string, Location> locs_;
};

enum class Severity { Error, Warning };

struct Diagnostic {
    Severity severity = Severity::Error;
    Location where;
    std::string message;  // what is wrong, in the admin's words
    std::string hint;     // what to do about it (may be empty)
    std::string str() const;  // "file:line:col: error: message (hint: ...)"
};

using Diagnostics = std::vector<Diagnostic>;
bool has_errors(const Diagnostics& d);

}  // namespace netlab::model
