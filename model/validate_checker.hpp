// The validator's rules, one class over a merged topology (validate(), in
// model/validate.cpp, runs them): the link rules are in validate.cpp, the
// network, address, route and container rules in validate_addresses.cpp.
// Internal to model/.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "model/load.hpp"
#include "model/load_detail.hpp"
#include "model/state.hpp"

namespace netlab::model::validate_detail {

class Checker {
public:
    Checker(const Topology& t, const SourceMap& s, Diagnostics& out) : t_(t), src_(s), out_(out) {}

    void run();

private:
    // Past the cap, load_config() replaces the rest by a count; stop adding
    // early so an alias bomb's million identical findings cost nothing.
    bool full() const { return out_.size() > 2 * kMaxDiagnostics; }
    void error(const std::string& path, std::string msg, std::string hint = {});
    void warn(const std::string& path, std::string msg, std::string hint = {});
    std::string where(const std::string& path) const { return src_.at(path).str(); }

    static std::string ipath(const std::string& itf) { return "interfaces." + itf; }
    static std::string cpath(const std::string& c, const std::string& i) { return "containers." + c + ".interfaces." + i; }

    // Links of the host namespace netlab knows about: listed interfaces, and
    // ports and parents (existing NICs adopted implicitly).
    void collect_links();

    void check_name(const std::string& path, const std::string& name, const std::string& what);

    void names();

    void check_mac(const std::string& path, const MacAddress& mac, const std::string& who,
                   std::map<MacAddress, std::string>& seen);

    void macs();

    std::string suggest(const std::string& name) const;

    bool is_bridge(const std::string& name) const;

    // Follows bridge -> port-that-is-a-bridge edges from `from`; true if `to` is reached.
    bool reaches(const std::string& from, const std::string& to, std::set<std::string>& seen) const;

    void bridges();

    void macvlan_parents();

    void references();

    // A Linux bridge numbers its ports 1..1023 (BR_MAX_PORTS is 1024, port 0
    // is reserved): the 1024th enslaved link is refused with EXFULL. Said
    // here, before any write, at the attachment that would be one too many,
    // instead of by the kernel a thousand steps into a transaction.
    void bridge_port_limit();

    void networks();

    // A network published to Docker (docs/docker.md): Docker's IPAM needs
    // its subnets, one Docker name is one network, and a container Docker
    // connects gets what Docker's connect can give (one address per family).
    void docker_networks();

    // ip must be inside one of the network's subnets, and not its network or broadcast address.
    void check_inside_subnet(const std::string& path, const IpAddress& ip, const Network& net, const std::string& what);

    // Every address netlab assigns, with where: duplicates are errors.
    void addresses();

    // The address must not be the network or broadcast address of its own prefix.
    void check_host_part(const std::string& path, const Prefix& a, const std::string& who);

    // Default routes and duplicate route keys in one namespace.
    struct RouteUse { std::string path; };
    void route_key(std::map<std::tuple<Prefix, std::uint32_t>, std::string>& seen, const Prefix& to,
                   std::uint32_t metric, const std::string& path, const std::string& ns);

    void host_routes();

    void containers();

    void container_interface(const std::string& cname, const ContainerInterface& ci, const std::string& p,
                             const std::string& ns, std::map<std::tuple<Prefix, std::uint32_t>, std::string>& seen);

    const Topology& t_;
    const SourceMap& src_;
    Diagnostics& out_;
    std::set<std::string> known_;
    std::map<std::string, std::string> portOf_;  // port -> its (first) bridge
};

}  // namespace netlab::model::validate_detail
