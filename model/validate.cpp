// Semantic checks on a merged topology: everything the kernel (or common
// sense) would refuse, found before anything is touched. Each rule is a
// function; docs/topology.md lists them for admins. This file holds the
// order of the rules and those on links (names, MACs, bridges, parents,
// references, port limits); validate_addresses.cpp the rest.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/suggest.hpp"
#include "model/validate_checker.hpp"

namespace netlab::model {

namespace validate_detail {

namespace {

// Why `name` cannot be a Linux interface name, or "" when it can.
std::string bad_ifname(const std::string& name) {
    if (name.empty()) return "is empty";
    if (name.size() > 15)
        return "is " + std::to_string(name.size()) + " characters long; the kernel allows at most 15";
    if (name == "." || name == "..") return "is reserved ('.' and '..' are never interface names)";
    for (char c : name) {
        if (c == '/') return "contains '/'";
        if (c == ':') return "contains ':'";
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return "contains whitespace";
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "contains a control character";
    }
    return {};
}

}  // namespace

void Checker::run() {
    collect_links();
    names();
    macs();
    bridges();
    macvlan_parents();
    references();
    networks();
    docker_networks();
    addresses();
    host_routes();
    containers();
}

void Checker::error(const std::string& path, std::string msg, std::string hint) {
    if (!full()) out_.push_back({Severity::Error, src_.at(path), std::move(msg), std::move(hint)});
}

void Checker::warn(const std::string& path, std::string msg, std::string hint) {
    if (!full()) out_.push_back({Severity::Warning, src_.at(path), std::move(msg), std::move(hint)});
}

// Links of the host namespace netlab knows about: listed interfaces, and
// ports and parents (existing NICs adopted implicitly).
void Checker::collect_links() {
    for (const auto& [name, itf] : t_.interfaces) {
        known_.insert(name);
        for (std::size_t i = 0; i < itf.ports.size(); ++i) {
            known_.insert(itf.ports[i]);
            portOf_.emplace(itf.ports[i], name);  // first bridge wins; bridges() reports the rest
        }
        if (itf.kind == InterfaceKind::Macvlan && !itf.parent.empty()) known_.insert(itf.parent);
    }
    for (const auto& [name, net] : t_.networks)
        if (!net.parent.empty()) known_.insert(net.parent);
}

void Checker::check_name(const std::string& path, const std::string& name, const std::string& what) {
    if (auto why = bad_ifname(name); !why.empty())
        error(path, what + " '" + name + "' is not a valid interface name: it " + why,
              "use at most 15 characters, none of them '/', ':' or whitespace");
}

void Checker::names() {
    for (const auto& [name, itf] : t_.interfaces) {
        check_name(ipath(name), name, "interface");
        for (std::size_t i = 0; i < itf.ports.size(); ++i)
            check_name(ipath(name) + ".ports[" + std::to_string(i) + "]", itf.ports[i], "port");
        if (!itf.parent.empty()) check_name(ipath(name) + ".parent", itf.parent, "parent");
        if (itf.mac_from) check_name(ipath(name) + ".mac", *itf.mac_from, "mac source");
    }
    for (const auto& [name, net] : t_.networks)
        if (!net.parent.empty()) check_name("networks." + name + ".parent", net.parent, "parent");
    for (std::size_t i = 0; i < t_.routes.size(); ++i)
        if (!t_.routes[i].dev.empty())
            check_name("routes[" + std::to_string(i) + "].dev", t_.routes[i].dev, "route dev");
    for (const auto& [cname, c] : t_.containers)
        for (const auto& [iname, ci] : c.interfaces) {
            check_name(cpath(cname, iname), iname, "container interface");
            if (iname == "lo")
                error(cpath(cname, iname), "container interface 'lo' is the loopback device, which netlab does not manage",
                      "pick another name, e.g. eth1");
        }
}

void Checker::check_mac(const std::string& path, const MacAddress& mac, const std::string& who,
               std::map<MacAddress, std::string>& seen) {
    if (mac.is_zero()) {
        error(path, who + ": MAC 00:00:00:00:00:00 is not a usable address", "pick a locally administered MAC such as 02:...");
        return;
    }
    if (mac.is_multicast()) {
        error(path, who + ": MAC " + mac.str() + " is a multicast address (lowest bit of the first byte is set)",
              "unicast MACs have an even first byte; e.g. 02:" + mac.str().substr(3));
        return;
    }
    if (!mac.is_locally_administered())
        warn(path, who + ": MAC " + mac.str() + " is not locally administered; it may clash with a real NIC's",
             "set the 0x02 bit of the first byte, e.g. 02:" + mac.str().substr(3));
    if (auto [it, fresh] = seen.emplace(mac, path); !fresh)
        error(path, who + ": MAC " + mac.str() + " is already used at " + where(it->second),
              "every device needs its own MAC");
}

void Checker::macs() {
    std::map<MacAddress, std::string> seen;
    for (const auto& [name, itf] : t_.interfaces) {
        if (itf.mac) check_mac(ipath(name) + ".mac", *itf.mac, "interface '" + name + "'", seen);
        if (itf.mac_from) {
            if (*itf.mac_from == name)
                error(ipath(name) + ".mac", "interface '" + name + "' takes its MAC from itself",
                      "name another interface (e.g. the bridge's uplink port) or give a literal MAC");
            else if (!known_.count(*itf.mac_from))
                error(ipath(name) + ".mac",
                      "interface '" + name + "' takes its MAC from '" + *itf.mac_from + "', which the topology does not name" +
                          suggest(*itf.mac_from),
                      "list it under interfaces (`" + *itf.mac_from + ": {}` adopts it unchanged) or give a literal MAC");
        }
    }
    for (const auto& [cname, c] : t_.containers)
        for (const auto& [iname, ci] : c.interfaces)
            if (ci.mac) check_mac(cpath(cname, iname) + ".mac", *ci.mac, "container '" + cname + "' " + iname, seen);
}

std::string Checker::suggest(const std::string& name) const {
    std::vector<std::string> cands(known_.begin(), known_.end());
    std::string near = did_you_mean(name, cands);
    return near.empty() || near == name ? std::string() : " (did you mean '" + near + "'?)";
}

bool Checker::is_bridge(const std::string& name) const {
    auto it = t_.interfaces.find(name);
    return it != t_.interfaces.end() && it->second.kind == InterfaceKind::Bridge;
}

// Follows bridge -> port-that-is-a-bridge edges from `from`; true if `to` is reached.
bool Checker::reaches(const std::string& from, const std::string& to, std::set<std::string>& seen) const {
    if (!seen.insert(from).second) return false;
    auto it = t_.interfaces.find(from);
    if (it == t_.interfaces.end()) return false;
    for (const auto& p : it->second.ports) {
        if (p == to) return true;
        if (is_bridge(p) && reaches(p, to, seen)) return true;
    }
    return false;
}

void Checker::bridges() {
    std::map<std::string, std::string> owner;  // port -> bridge
    for (const auto& [name, itf] : t_.interfaces) {
        std::set<std::string> mine;
        for (std::size_t i = 0; i < itf.ports.size(); ++i) {
            const std::string& port = itf.ports[i];
            std::string path = ipath(name) + ".ports[" + std::to_string(i) + "]";
            if (port == name) {
                error(path, "bridge '" + name + "' lists itself as a port", "remove '" + name + "' from its ports");
                continue;
            }
            if (!mine.insert(port).second) {
                error(path, "port '" + port + "' is listed twice in bridge '" + name + "'", "list it once");
                continue;
            }
            if (auto [it, fresh] = owner.emplace(port, name); !fresh) {
                error(path, "port '" + port + "' is in two bridges: '" + it->second + "' (" +
                                where(ipath(it->second)) + ") and '" + name + "'",
                      "a link can have only one master; remove it from one bridge");
                continue;
            }
            if (is_bridge(port)) {
                std::set<std::string> seen;
                if (reaches(port, name, seen))
                    error(path, "bridges form a loop: '" + name + "' has port '" + port + "', which leads back to '" +
                                    name + "'",
                          "a bridge cannot be a port of a bridge; remove the loop");
                else
                    error(path, "bridge '" + port + "' cannot be a port of bridge '" + name +
                                    "': the kernel refuses to enslave a bridge (ELOOP)",
                          "connect bridges with a veth pair, or merge them");
                continue;
            }
            auto pit = t_.interfaces.find(port);
            if (pit != t_.interfaces.end() && pit->second.addresses && !pit->second.addresses->empty())
                warn(ipath(port) + ".addresses",
                     "interface '" + port + "' has addresses but is a port of bridge '" + name +
                         "'; a bridge port's addresses stop working",
                     "move the addresses to '" + name + "' (that is what a bridge takeover does)");
        }
    }
}

void Checker::macvlan_parents() {
    auto check = [&](const std::string& path, const std::string& parent, const std::string& who) {
        auto it = portOf_.find(parent);
        if (it == portOf_.end()) return;
        error(path, "'" + parent + "' is both a port of bridge '" + it->second + "' (" + where(ipath(it->second)) +
                        ") and the parent of " + who + ": the kernel answers EBUSY (a bridge port cannot be a macvlan "
                        "parent, nor a macvlan parent a bridge port)",
              "put " + who + " on the bridge instead (parent: " + it->second + "), or on a NIC that is not a bridge port");
    };
    for (const auto& [name, itf] : t_.interfaces) {
        if (itf.kind != InterfaceKind::Macvlan || itf.parent.empty()) continue;
        if (itf.parent == name) {
            error(ipath(name) + ".parent", "macvlan '" + name + "' is its own parent", "name the NIC it sits on");
            continue;
        }
        check(ipath(name) + ".parent", itf.parent, "macvlan '" + name + "'");
    }
    for (const auto& [name, net] : t_.networks)
        if (!net.parent.empty()) check("networks." + name + ".parent", net.parent, "macvlan network '" + name + "'");
}

void Checker::references() {
    for (std::size_t i = 0; i < t_.routes.size(); ++i) {
        const Route& r = t_.routes[i];
        if (r.to.addr.family == 0 || r.dev.empty() || known_.count(r.dev)) continue;
        error("routes[" + std::to_string(i) + "].dev", "route dev '" + r.dev + "' is not an interface of the topology" +
                                                           suggest(r.dev),
              "list it under interfaces (`" + r.dev + ": {}` adopts it unchanged)");
    }
    std::vector<std::string> nets, brs;
    for (const auto& [n, _] : t_.networks) nets.push_back(n);
    for (const auto& [n, itf] : t_.interfaces)
        if (itf.kind == InterfaceKind::Bridge) brs.push_back(n);
    for (const auto& [cname, c] : t_.containers)
        for (const auto& [iname, ci] : c.interfaces) {
            std::string p = cpath(cname, iname);
            if (ci.network && !t_.networks.count(*ci.network)) {
                std::string near = did_you_mean(*ci.network, nets);
                error(p + ".network", "network '" + *ci.network + "' is not defined" +
                                          (near.empty() ? "" : " (did you mean '" + near + "'?)"),
                      "define it under networks, or fix the name");
            }
            if (ci.bridge) {
                auto it = t_.interfaces.find(*ci.bridge);
                if (it == t_.interfaces.end()) {
                    std::string near = did_you_mean(*ci.bridge, brs);
                    error(p + ".bridge", "bridge '" + *ci.bridge + "' is not defined" +
                                             (near.empty() ? "" : " (did you mean '" + near + "'?)"),
                          "define it under interfaces with `kind: bridge`");
                } else if (it->second.kind == InterfaceKind::Macvlan) {
                    error(p + ".bridge", "'" + *ci.bridge + "' is a macvlan, not a bridge",
                          "attach to a `kind: bridge` interface");
                } else if (it->second.kind == InterfaceKind::Adopted) {
                    warn(p + ".bridge", "'" + *ci.bridge + "' is not a netlab bridge; it must already exist as a bridge",
                         "give it `kind: bridge` to let netlab create it");
                }
            }
        }
    bridge_port_limit();
}

// A Linux bridge numbers its ports 1..1023 (BR_MAX_PORTS is 1024, port 0
// is reserved): the 1024th enslaved link is refused with EXFULL. Said
// here, before any write, at the attachment that would be one too many,
// instead of by the kernel a thousand steps into a transaction.
void Checker::bridge_port_limit() {
    std::map<std::string, std::size_t> ports;
    for (const auto& [name, itf] : t_.interfaces)
        if (itf.kind == InterfaceKind::Bridge) ports[name] = itf.ports.size();
    for (const auto& [name, n] : ports)
        if (n > kMaxBridgePorts)
            error("interfaces." + name + ".ports",
                  "bridge '" + name + "' lists " + std::to_string(n) + " ports; a Linux bridge holds at most " +
                      std::to_string(kMaxBridgePorts) + kBridgePortLimitWhy,
                  "spread the ports over more bridges");
    for (const auto& [cname, c] : t_.containers)
        for (const auto& [iname, ci] : c.interfaces) {
            if (!ci.bridge) continue;
            auto it = ports.find(*ci.bridge);
            if (it == ports.end() || ++it->second != kMaxBridgePorts + 1) continue;
            const auto& own = t_.interfaces.at(*ci.bridge).ports.size();
            error(cpath(cname, iname) + ".bridge",
                  "bridge '" + *ci.bridge + "' would get its " + std::to_string(kMaxBridgePorts + 1) +
                      "th port here (" + std::to_string(own) + " listed in its ports, the rest container "
                      "attachments); a Linux bridge holds at most " + std::to_string(kMaxBridgePorts) +
                      " ports" + kBridgePortLimitWhy,
                  "spread the containers over more bridges (about 1000 each)");
        }
}

}  // namespace validate_detail

void validate(const Topology& topo, const SourceMap& sources, Diagnostics& out) {
    validate_detail::Checker(topo, sources, out).run();
}

}  // namespace netlab::model
