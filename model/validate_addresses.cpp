// The validator's rules on networks, addresses, routes and containers (see
// validate_checker.hpp): duplicates, subnets, gateways, Docker's limits and
// each container's interfaces, all before anything is touched.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/validate_checker.hpp"

namespace netlab::model::validate_detail {

namespace {

std::string family_name(int f) { return f == 6 ? "IPv6" : "IPv4"; }

}  // namespace

void Checker::networks() {
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
        std::set<std::uint8_t> shim_families;
        for (const auto& ha : net.host_access) {
            std::string hp = p + ".host_access";
            if (!shim_families.insert(ha.addr.family).second) {
                error(hp, "network '" + name + "' has two " + family_name(ha.addr.family) + " host_access addresses",
                      "give the host's shim one address per address family");
                continue;
            }
            check_inside_subnet(hp, ha.addr, net, "host_access " + ha.addr.str());
            for (const auto& gw : net.gateways)
                if (gw == ha.addr)
                    error(hp, "host_access " + gw.str() + " is the network's gateway",
                          "pick a free address of the subnet for the host's shim");
        }
        std::size_t users = attached[name] + (net.host_access.empty() ? 0 : 1);
        if (net.mode == MacvlanMode::Passthru && users > 1)
            error(p + ".mode", "network '" + name + "' is in passthru mode but has " + std::to_string(users) +
                                   " macvlan children (containers and host_access)",
                  "passthru allows one macvlan on the parent; use mode: bridge");
    }
}

// A network published to Docker (docs/docker.md): Docker's IPAM needs
// its subnets, one Docker name is one network, and a container Docker
// connects gets what Docker's connect can give (one address per family).
void Checker::docker_networks() {
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
void Checker::check_inside_subnet(const std::string& path, const IpAddress& ip, const Network& net, const std::string& what) {
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
void Checker::addresses() {
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
        for (const auto& ha : net.host_access)
            add(ha.addr, "networks." + name + ".host_access", "the host_access shim of " + name);
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
void Checker::check_host_part(const std::string& path, const Prefix& a, const std::string& who) {
    if (a.addr.is_v4() && a.len <= 30) {
        if (a.network().addr == a.addr)
            error(path, who + ": " + a.str() + " is the network address of " + a.network().str(),
                  "pick a host address, e.g. " + a.network().str().substr(0, a.network().str().find('/')) + " + 1");
        else if (a.broadcast() == a.addr)
            error(path, who + ": " + a.str() + " is the broadcast address of " + a.network().str(), "pick a host address");
    }
}

void Checker::route_key(std::map<std::tuple<Prefix, std::uint32_t>, std::string>& seen, const Prefix& to,
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

void Checker::host_routes() {
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

void Checker::containers() {
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

void Checker::container_interface(const std::string& cname, const ContainerInterface& ci, const std::string& p,
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

}  // namespace netlab::model::validate_detail
