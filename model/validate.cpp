// Semantic checks on a merged topology: everything the kernel (or common
// sense) would refuse, found before anything is touched. Each rule is a
// function; docs/topology.md lists them for admins.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/load.hpp"
#include "model/load_detail.hpp"
#include "model/state.hpp"
#include "model/suggest.hpp"

namespace netlab::model {

namespace {


std::string family_name(int f) { return f == 6 ? "IPv6" : "IPv4"; }

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

class Checker {
public:
    Checker(const Topology& t, const SourceMap& s, Diagnostics& out) : t_(t), src_(s), out_(out) {}

    void run() {
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

private:
    // Past the cap, load_config() replaces the rest by a count; stop adding
    // early so an alias bomb's million identical findings cost nothing.
    bool full() const { return out_.size() > 2 * kMaxDiagnostics; }
    void error(const std::string& path, std::string msg, std::string hint = {}) {
        if (!full()) out_.push_back({Severity::Error, src_.at(path), std::move(msg), std::move(hint)});
    }
    void warn(const std::string& path, std::string msg, std::string hint = {}) {
        if (!full()) out_.push_back({Severity::Warning, src_.at(path), std::move(msg), std::move(hint)});
    }
    std::string where(const std::string& path) const { return src_.at(path).str(); }

    static std::string ipath(const std::string& itf) { return "interfaces." + itf; }
    static std::string cpath(const std::string& c, const std::string& i) { return "containers." + c + ".interfaces." + i; }

    // Links of the host namespace netlab knows about: listed interfaces, and
    // ports and parents (existing NICs adopted implicitly).
    void collect_links() {
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

    void check_name(const std::string& path, const std::string& name, const std::string& what) {
        if (auto why = bad_ifname(name); !why.empty())
            error(path, what + " '" + name + "' is not a valid interface name: it " + why,
                  "use at most 15 characters, none of them '/', ':' or whitespace");
    }

    void names() {
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

    void check_mac(const std::string& path, const MacAddress& mac, const std::string& who,
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

    void macs() {
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

    std::string suggest(const std::string& name) const {
        std::vector<std::string> cands(known_.begin(), known_.end());
        std::string near = did_you_mean(name, cands);
        return near.empty() || near == name ? std::string() : " (did you mean '" + near + "'?)";
    }

    bool is_bridge(const std::string& name) const {
        auto it = t_.interfaces.find(name);
        return it != t_.interfaces.end() && it->second.kind == InterfaceKind::Bridge;
    }

    // Follows bridge -> port-that-is-a-bridge edges from `from`; true if `to` is reached.
    bool reaches(const std::string& from, const std::string& to, std::set<std::string>& seen) const {
        if (!seen.insert(from).second) return false;
        auto it = t_.interfaces.find(from);
        if (it == t_.interfaces.end()) return false;
        for (const auto& p : it->second.ports) {
            if (p == to) return true;
            if (is_bridge(p) && reaches(p, to, seen)) return true;
        }
        return false;
    }

    void bridges() {
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

    void macvlan_parents() {
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

    void references() {
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
    void bridge_port_limit() {
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

    void networks() {
        std::map<std::string, std::size_t> attached;
        for (const auto& [cname, c] : t_.containers)
            for (const auto& [iname, ci] : c.interfaces)
                if (ci.network) ++attached[*ci.network];
        std::vector<std::pair<Prefix, std::string>> allSubnets;
        for (const auto& [name, net] : t_.networks) {
            std::string p = "networks." + name;
            if (net.subnets.empty() && !src_.has(p + ".subnet"))
                warn(p, "network '" + name + "' has no subnet, so container addresses on it cannot be checked",
                     "add `subnet: CIDR`");
            for (std::size_t i = 0; i < net.subnets.size(); ++i) {
                std::string sp = p + ".subnet[" + std::to_string(i) + "]";
                for (const auto& [other, op] : allSubnets)
                    if (other.overlaps(net.subnets[i]))
                        warn(sp, "subnet " + net.subnets[i].str() + " overlaps " + other.str() + " at " + where(op),
                             "containers on both could not reach each other reliably");
                allSubnets.emplace_back(net.subnets[i], sp);
            }
            std::set<int> gwFamilies;
            for (std::size_t i = 0; i < net.gateways.size(); ++i) {
                const IpAddress& gw = net.gateways[i];
                std::string gp = p + ".gateway[" + std::to_string(i) + "]";
                if (!gwFamilies.insert(gw.family).second) {
                    error(gp, "network '" + name + "' has two " + family_name(gw.family) + " gateways",
                          "give one gateway per address family");
                    continue;
                }
                check_inside_subnet(gp, gw, net, "gateway " + gw.str());
            }
            if (net.host_access) {
                std::string hp = p + ".host_access";
                check_inside_subnet(hp, net.host_access->addr, net, "host_access " + net.host_access->addr.str());
                for (const auto& gw : net.gateways)
                    if (gw == net.host_access->addr)
                        error(hp, "host_access " + gw.str() + " is the network's gateway",
                              "pick a free address of the subnet for the host's shim");
            }
            std::size_t users = attached[name] + (net.host_access ? 1 : 0);
            if (net.mode == MacvlanMode::Passthru && users > 1)
                error(p + ".mode", "network '" + name + "' is in passthru mode but has " + std::to_string(users) +
                                       " macvlan children (containers and host_access)",
                      "passthru allows one macvlan on the parent; use mode: bridge");
        }
    }

    // A network published to Docker (docs/docker.md): Docker's IPAM needs
    // its subnets, one Docker name is one network, and a container Docker
    // connects gets what Docker's connect can give (one address per family).
    void docker_networks() {
        std::map<std::string, std::string> byName;  // Docker name -> network
        for (const auto& [name, net] : t_.networks) {
            if (!net.docker) continue;
            const std::string p = "networks." + name + ".docker";
            if (net.subnets.empty())
                error(p, "network '" + name + "' is published to Docker but has no subnet",
                      "add `subnet: CIDR`: Docker's IPAM would otherwise pick one of its own");
            if (auto [it, fresh] = byName.emplace(*net.docker, name); !fresh)
                error(p, "networks '" + it->second + "' and '" + name + "' are both published to Docker as '" +
                             *net.docker + "'",
                      "give one of them `docker: OTHER-NAME`");
        }
        for (const auto& [cname, c] : t_.containers) {
            if (c.netns.kind != NetnsTarget::Kind::Docker) continue;
            for (const auto& [iname, ci] : c.interfaces) {
                auto net = ci.network ? t_.networks.find(*ci.network) : t_.networks.end();
                if (net == t_.networks.end() || !net->second.docker) continue;
                const std::string p = cpath(cname, iname);
                const std::string why = "interface " + iname + " of " + cname + " is connected through Docker (network '" +
                                        net->first + "' is published)";
                std::set<int> families;
                for (const auto& a : ci.addresses)
                    if (!families.insert(a.addr.family).second)
                        error(p, why + " and Docker gives it one " + family_name(a.addr.family) + " address",
                              "list at most one address per family");
                if (ci.mac || ci.mtu || ci.gateway || !ci.routes.empty())
                    error(p, why + ": Docker sets its MAC, MTU and routes",
                          "drop mac/mtu/gateway/routes here, or attach it with `netns: pid:N` to keep netlab's macvlan");
            }
        }
    }

    // ip must be inside one of the network's subnets, and not its network or broadcast address.
    void check_inside_subnet(const std::string& path, const IpAddress& ip, const Network& net, const std::string& what) {
        if (net.subnets.empty()) return;
        for (const auto& s : net.subnets) {
            if (!s.contains(ip)) continue;
            if (s.len < (ip.is_v4() ? 31 : 127) && s.network().addr == ip)
                error(path, what + " is the network address of " + s.str(), "pick a host address");
            else if (s.broadcast() == ip)
                error(path, what + " is the broadcast address of " + s.str(), "pick a host address");
            return;
        }
        std::string list;
        for (const auto& s : net.subnets) list += (list.empty() ? "" : ", ") + s.str();
        error(path, what + " is outside network '" + net.name + "' (subnet " + list + ")",
              "use an address inside the subnet, or fix the subnet");
    }

    // Every address netlab assigns, with where: duplicates are errors.
    void addresses() {
        struct Use { std::string path, who; };
        std::map<IpAddress, Use> seen;
        auto add = [&](const IpAddress& ip, const std::string& path, const std::string& who) {
            if (auto [it, fresh] = seen.emplace(ip, Use{path, who}); !fresh)
                error(path, "address " + ip.str() + " (" + who + ") is already assigned to " + it->second.who + " at " +
                                where(it->second.path),
                      "every address must be unique; pick another one");
        };
        for (const auto& [name, itf] : t_.interfaces) {
            if (!itf.addresses) continue;
            for (std::size_t i = 0; i < itf.addresses->size(); ++i) {
                const Prefix& a = (*itf.addresses)[i];
                std::string p = ipath(name) + ".addresses[" + std::to_string(i) + "]";
                check_host_part(p, a, "interface '" + name + "'");
                add(a.addr, p, "interface " + name);
            }
        }
        for (const auto& [name, net] : t_.networks)
            if (net.host_access) add(net.host_access->addr, "networks." + name + ".host_access", "the host_access shim of " + name);
        for (const auto& [cname, c] : t_.containers)
            for (const auto& [iname, ci] : c.interfaces)
                for (std::size_t i = 0; i < ci.addresses.size(); ++i)
                    add(ci.addresses[i].addr, cpath(cname, iname) + ".addresses[" + std::to_string(i) + "]",
                        "container " + cname + " " + iname);
        // Two host interfaces in one subnet answer ARP for each other ("ARP flux").
        std::vector<std::pair<Prefix, std::string>> hostNets;
        for (const auto& [name, itf] : t_.interfaces) {
            if (!itf.addresses) continue;
            for (std::size_t i = 0; i < itf.addresses->size(); ++i) {
                const Prefix& a = (*itf.addresses)[i];
                for (const auto& [other, who] : hostNets)
                    if (who != name && other.network() == a.network())
                        warn(ipath(name) + ".addresses[" + std::to_string(i) + "]",
                             "interfaces '" + name + "' and '" + who + "' both have addresses in " + a.network().str(),
                             "one subnet on two host interfaces makes replies leave by the wrong one");
                hostNets.emplace_back(a, name);
            }
        }
    }

    // The address must not be the network or broadcast address of its own prefix.
    void check_host_part(const std::string& path, const Prefix& a, const std::string& who) {
        if (a.addr.is_v4() && a.len <= 30) {
            if (a.network().addr == a.addr)
                error(path, who + ": " + a.str() + " is the network address of " + a.network().str(),
                      "pick a host address, e.g. " + a.network().str().substr(0, a.network().str().find('/')) + " + 1");
            else if (a.broadcast() == a.addr)
                error(path, who + ": " + a.str() + " is the broadcast address of " + a.network().str(), "pick a host address");
        }
    }

    // Default routes and duplicate route keys in one namespace.
    struct RouteUse { std::string path; };
    void route_key(std::map<std::tuple<Prefix, std::uint32_t>, std::string>& seen, const Prefix& to,
                   std::uint32_t metric, const std::string& path, const std::string& ns) {
        auto [it, fresh] = seen.emplace(std::make_tuple(to, metric), path);
        if (fresh) return;
        if (to.is_default())
            error(path, "a second " + family_name(to.addr.family) + " default route in " + ns + " (the first is at " +
                            where(it->second) + ")",
                  metric == 0 ? "keep one, or give them different metrics to make one a backup"
                              : "keep one, or give them different metrics");
        else
            error(path, "route to " + to.str() + " with metric " + std::to_string(metric) + " is given twice in " + ns +
                            " (the first is at " + where(it->second) + ")",
                  "keep one; the kernel holds one route per destination and metric");
    }

    void host_routes() {
        std::map<std::tuple<Prefix, std::uint32_t>, std::string> seen;
        std::set<IpAddress> own;
        for (const auto& [name, itf] : t_.interfaces)
            if (itf.addresses)
                for (const auto& a : *itf.addresses) own.insert(a.addr);
        for (std::size_t i = 0; i < t_.routes.size(); ++i) {
            const Route& r = t_.routes[i];
            if (r.to.addr.family == 0) continue;  // failed to load; already reported
            std::string p = "routes[" + std::to_string(i) + "]";
            route_key(seen, r.to, r.metric.value_or(0), p, "the host namespace");
            if (!r.via) continue;
            if (own.count(*r.via)) {
                error(p + ".via", "route via " + r.via->str() + ": that is this host's own address", "use the gateway's address");
                continue;
            }
            if (r.dev.empty() || r.via->is_link_local_v6()) continue;
            auto it = t_.interfaces.find(r.dev);
            if (it == t_.interfaces.end() || !it->second.addresses) continue;  // addresses not managed: cannot tell
            const auto& addrs = *it->second.addresses;
            auto cover = std::find_if(addrs.begin(), addrs.end(), [&](const Prefix& a) { return a.contains(*r.via); });
            const bool inside = cover != addrs.end();
            if (inside && r.on_link)
                error(p + ".on_link", "on_link, but gateway " + r.via->str() + " is inside " + cover->network().str() +
                                          " of '" + r.dev + "'",
                      "on_link is only for a gateway outside every subnet of the link: leave it out");
            if (!inside && !r.on_link) {
                std::string list;
                for (const auto& a : addrs) list += (list.empty() ? "" : ", ") + a.str();
                error(p + ".via", "gateway " + r.via->str() + " is outside every subnet of '" + r.dev + "' (" +
                                      (list.empty() ? "it has no addresses" : list) + ")",
                      "the kernel refuses a gateway it cannot reach on that link; fix the address or the via, "
                      "or mark it `on_link: true` if it is reached on that link all the same");
            }
        }
    }

    void containers() {
        // Containers sharing a netns target share one namespace.
        std::map<std::string, std::map<std::string, std::string>> ifnames;  // netns -> ifname -> container
        std::map<std::string, std::map<std::tuple<Prefix, std::uint32_t>, std::string>> routes;  // netns -> keys
        for (const auto& [cname, c] : t_.containers) {
            std::string ns = c.netns.str();
            if (c.interfaces.empty())
                warn("containers." + cname, "container '" + cname + "' has no interfaces: netlab has nothing to do for it",
                     "add `interfaces:` or remove the container");
            for (const auto& [iname, ci] : c.interfaces) {
                std::string p = cpath(cname, iname);
                if (auto [it, fresh] = ifnames[ns].emplace(iname, cname); !fresh)
                    error(p, "interface '" + iname + "' of container '" + cname + "' clashes with the one of container '" +
                                 it->second + "' (" + where(cpath(it->second, iname)) + "): both are in namespace " + ns,
                          "use another interface name");
                container_interface(cname, ci, p, ns, routes[ns]);
            }
        }
    }

    void container_interface(const std::string& cname, const ContainerInterface& ci, const std::string& p,
                             const std::string& ns, std::map<std::tuple<Prefix, std::uint32_t>, std::string>& seen) {
        const Network* net = nullptr;
        if (ci.network)
            if (auto it = t_.networks.find(*ci.network); it != t_.networks.end()) net = &it->second;
        std::string who = "container '" + cname + "' " + ci.name;
        for (std::size_t i = 0; i < ci.addresses.size(); ++i) {
            const Prefix& a = ci.addresses[i];
            std::string ap = p + ".addresses[" + std::to_string(i) + "]";
            if (net && !net->subnets.empty()) {
                std::string what = who + ": address " + a.addr.str();
                bool sameFamily = std::any_of(net->subnets.begin(), net->subnets.end(),
                                              [&](const Prefix& s) { return s.addr.family == a.addr.family; });
                if (!sameFamily && a.addr.is_link_local_v6()) continue;
                check_inside_subnet(ap, a.addr, *net, what);
                for (const auto& gw : net->gateways)
                    if (gw == a.addr) error(ap, what + " is the gateway of network '" + net->name + "'", "pick a free address");
                for (const auto& s : net->subnets)
                    if (s.contains(a.addr) && s.len != a.len)
                        warn(ap, what + "/" + std::to_string(a.len) + " has a different prefix length than network '" +
                                     net->name + "' (" + s.str() + ")",
                             "use /" + std::to_string(s.len));
            } else {
                check_host_part(ap, a, who);
            }
        }
        // Where a gateway may be: inside the interface's addresses or the network's subnets.
        auto reachable = [&](const IpAddress& gw) {
            if (gw.is_link_local_v6()) return true;
            for (const auto& a : ci.addresses)
                if (a.contains(gw)) return true;
            if (net)
                for (const auto& s : net->subnets)
                    if (s.contains(gw)) return true;
            return false;
        };
        auto unreachable = [&](const std::string& path, const IpAddress& gw, const std::string& what) {
            std::string list;
            for (const auto& a : ci.addresses) list += (list.empty() ? "" : ", ") + a.str();
            if (net)
                for (const auto& s : net->subnets) list += (list.empty() ? "" : ", ") + s.str();
            error(path, who + ": " + what + " " + gw.str() + " is outside every subnet of the interface (" +
                            (list.empty() ? "it has no addresses" : list) + ")",
                  "the kernel refuses a gateway it cannot reach; fix the address or the gateway, or mark it "
                  "`on_link: true` if it is reached on this link all the same");
        };
        // on_link only where it is needed: a gateway that no subnet covers.
        auto onlink_inside = [&](const std::string& path, const IpAddress& gw) {
            if (gw.is_link_local_v6() || !reachable(gw)) return;
            error(path, who + ": on_link, but gateway " + gw.str() + " is inside a subnet of the interface",
                  "on_link is only for a gateway outside every subnet of the interface: leave it out");
        };
        std::set<int> defaultFamilies;
        if (ci.gateway_on_link && !ci.gateway)
            error(p + ".on_link", who + ": on_link without a gateway",
                  "on_link marks the interface's `gateway` (or ADDR/LEN@GW) as on-link: add the gateway or leave it out");
        if (ci.gateway) {
            if (ci.gateway_on_link) onlink_inside(p + ".on_link", *ci.gateway);
            else if (!reachable(*ci.gateway)) unreachable(p + ".gateway", *ci.gateway, "gateway");
            for (const auto& a : ci.addresses)
                if (a.addr == *ci.gateway)
                    error(p + ".gateway", who + ": the gateway " + a.addr.str() + " is the interface's own address",
                          "use the router's address");
            route_key(seen, Prefix::default_route(ci.gateway->family), 0, p + ".gateway", "namespace " + ns);
            defaultFamilies.insert(ci.gateway->family);
        }
        if (ci.default_route) {
            if (ci.bridge && !ci.gateway)
                error(p + ".default_route", who + ": default_route on a bridge attachment needs a gateway",
                      "add `gateway: ADDRESS` (or write the address as ADDR/LEN@GW)");
            if (net && net->gateways.empty() && !ci.gateway)
                error(p + ".default_route", who + ": default_route, but network '" + net->name + "' has no gateway",
                      "add `gateway:` to the network, or a gateway to this interface");
            if (net)
                for (const auto& gw : net->gateways)
                    if (!defaultFamilies.count(gw.family))
                        route_key(seen, Prefix::default_route(gw.family), 0, p + ".default_route", "namespace " + ns);
        }
        for (std::size_t i = 0; i < ci.routes.size(); ++i) {
            const Route& r = ci.routes[i];
            if (r.to.addr.family == 0) continue;
            std::string rp = p + ".routes[" + std::to_string(i) + "]";
            route_key(seen, r.to, r.metric.value_or(0), rp, "namespace " + ns);
            if (r.via && r.on_link) onlink_inside(rp + ".on_link", *r.via);
            else if (r.via && !reachable(*r.via)) unreachable(rp + ".via", *r.via, "route via");
        }
    }

    const Topology& t_;
    const SourceMap& src_;
    Diagnostics& out_;
    std::set<std::string> known_;
    std::map<std::string, std::string> portOf_;  // port -> its (first) bridge
};

}  // namespace

void validate(const Topology& topo, const SourceMap& sources, Diagnostics& out) {
    Checker(topo, sources, out).run();
}

}  // namespace netlab::model
