// Networks published to Docker: desired (from the topology), seen (parsed),
// the plan between them and the Engine API bodies. Pure.
#include "reconcile/containers/docker_network.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace netlab::reconcile::docker {

using nlohmann::json;
using model::IpAddress;
using model::Prefix;

bool NetworkSpec::ipv6() const {
    return std::any_of(pools.begin(), pools.end(), [](const Pool& p) { return p.subnet.addr.is_v6(); });
}

bool SeenNetwork::ours() const {
    auto it = labels.find(kOwnerLabel);
    return it != labels.end() && it->second == kOwnerValue;
}

namespace {

bool docker_connected(const model::Container& c, const model::ContainerInterface& ci, const model::Topology& t) {
    if (c.netns.kind != model::NetnsTarget::Kind::Docker || !ci.network) return false;
    auto n = t.networks.find(*ci.network);
    return n != t.networks.end() && n->second.docker.has_value();
}

}  // namespace

std::vector<NetworkSpec> published(const model::Topology& t) {
    // Every address netlab itself puts on a link, except the ones Docker
    // assigns when it connects a container (reserving those would make
    // Docker refuse its own connect).
    std::set<IpAddress> used;
    for (const auto& [_, itf] : t.interfaces)
        if (itf.addresses)
            for (const auto& a : *itf.addresses) used.insert(a.addr);
    for (const auto& [_, n] : t.networks)
        for (const auto& ha : n.host_access) used.insert(ha.addr);
    for (const auto& [_, c] : t.containers)
        for (const auto& [__, ci] : c.interfaces)
            if (!docker_connected(c, ci, t))
                for (const auto& a : ci.addresses) used.insert(a.addr);

    std::vector<NetworkSpec> out;
    for (const auto& [name, n] : t.networks) {
        if (!n.docker) continue;
        NetworkSpec s;
        s.name = *n.docker;
        s.network = name;
        s.parent = n.parent;
        s.mode = model::to_string(n.mode);
        for (const auto& sub : n.subnets) {
            Pool p;
            p.subnet = sub.network();
            for (const auto& gw : n.gateways)
                if (sub.contains(gw)) p.gateway = gw;
            for (const auto& a : used)
                if (sub.contains(a) && a != p.gateway) p.reserved.emplace("netlab-" + a.str(), a);
            s.pools.push_back(std::move(p));
        }
        for (const auto& [cname, c] : t.containers)
            for (const auto& [_, ci] : c.interfaces) {
                if (!docker_connected(c, ci, t) || *ci.network != name) continue;
                Endpoint e{c.netns.value, {}, {}, {}};
                for (const auto& a : ci.addresses) (a.addr.is_v4() ? e.v4 : e.v6) = a.addr;
                s.endpoints.push_back(std::move(e));
            }
        std::sort(s.endpoints.begin(), s.endpoints.end(),
                  [](const Endpoint& a, const Endpoint& b) { return a.container < b.container; });
        out.push_back(std::move(s));
    }
    return out;
}

json create_body(const NetworkSpec& n) {
    json config = json::array();
    for (const auto& p : n.pools) {
        json c{{"Subnet", p.subnet.str()}};
        if (p.gateway) c["Gateway"] = p.gateway->str();
        if (!p.reserved.empty()) {
            json aux = json::object();
            for (const auto& [k, a] : p.reserved) aux[k] = a.str();
            c["AuxiliaryAddresses"] = aux;
        }
        config.push_back(std::move(c));
    }
    return json{{"Name", n.name},
                {"CheckDuplicate", true},
                {"Driver", "macvlan"},
                {"EnableIPv6", n.ipv6()},
                {"IPAM", {{"Driver", "default"}, {"Config", config}}},
                {"Options", {{"parent", n.parent}, {"macvlan_mode", n.mode}}},
                {"Labels", {{kOwnerLabel, kOwnerValue}, {kTopologyLabel, n.network}}}};
}

json connect_body(const Endpoint& e) {
    json ipam = json::object();
    if (e.v4) ipam["IPv4Address"] = e.v4->str();
    if (e.v6) ipam["IPv6Address"] = e.v6->str();
    return json{{"Container", e.ref()}, {"EndpointConfig", {{"IPAMConfig", ipam}}}};
}

json disconnect_body(const std::string& container) { return json{{"Container", container}, {"Force", false}}; }

namespace {

std::string str_of(const json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::map<std::string, std::string> string_map(const json& o, const char* key) {
    std::map<std::string, std::string> m;
    auto it = o.find(key);
    if (it == o.end() || !it->is_object()) return m;
    for (const auto& [k, v] : it->items())
        if (v.is_string()) m[k] = v.get<std::string>();
    return m;
}

// "198.51.100.10/24" (Docker's form in Containers) -> the address.
std::optional<IpAddress> address_of(const std::string& s) {
    if (s.empty()) return std::nullopt;
    if (auto p = Prefix::parse(s, true)) return p->addr;
    return std::nullopt;
}

}  // namespace

std::variant<SeenNetwork, Error> parse_network(const json& j) {
    if (!j.is_object()) return Error{Error::Kind::Protocol, 0, "network: not a JSON object"};
    SeenNetwork n;
    n.id = str_of(j, "Id");
    n.name = str_of(j, "Name");
    n.driver = str_of(j, "Driver");
    if (n.id.empty() || n.name.empty()) return Error{Error::Kind::Protocol, 0, "network: no Id or Name"};
    n.labels = string_map(j, "Labels");
    n.options = string_map(j, "Options");
    if (auto v6 = j.find("EnableIPv6"); v6 != j.end() && v6->is_boolean()) n.ipv6 = v6->get<bool>();
    if (auto ipam = j.find("IPAM"); ipam != j.end() && ipam->is_object())
        if (auto cfg = ipam->find("Config"); cfg != ipam->end() && cfg->is_array())
            for (const auto& c : *cfg) {
                if (!c.is_object()) continue;
                auto sub = Prefix::parse(str_of(c, "Subnet"));
                if (!sub) continue;  // a pool Docker describes by IPRange only
                Pool p;
                p.subnet = *sub;
                p.gateway = address_of(str_of(c, "Gateway"));
                for (const auto& [k, v] : string_map(c, "AuxiliaryAddresses"))
                    if (auto a = address_of(v)) p.reserved.emplace(k, *a);
                n.pools.push_back(std::move(p));
            }
    if (auto cs = j.find("Containers"); cs != j.end() && cs->is_object())
        for (const auto& [id, c] : cs->items()) {
            if (!c.is_object()) continue;
            n.containers[id] = Endpoint{str_of(c, "Name"), address_of(str_of(c, "IPv4Address")),
                                        address_of(str_of(c, "IPv6Address")), id};
        }
    return n;
}

std::variant<Seen, Error> parse_networks(std::string_view body) {
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_array()) return Error{Error::Kind::Protocol, 0, "networks: answer is not a JSON array"};
    Seen out;
    for (const auto& n : j) {
        auto parsed = parse_network(n);
        if (auto* e = std::get_if<Error>(&parsed)) return *e;
        out.push_back(std::get<SeenNetwork>(std::move(parsed)));
    }
    return out;
}

std::variant<SeenContainers, Error> parse_containers(std::string_view body) {
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_array())
        return Error{Error::Kind::Protocol, 0, "containers: answer is not a JSON array"};
    SeenContainers out;
    for (const auto& c : j) {
        if (!c.is_object()) return Error{Error::Kind::Protocol, 0, "containers: not a JSON object"};
        SeenContainer s{str_of(c, "Id"), {}, str_of(c, "State")};
        if (s.id.empty()) return Error{Error::Kind::Protocol, 0, "containers: no Id"};
        // Names: ["/web"]; Docker keeps the leading '/' of its name tree.
        if (auto ns = c.find("Names"); ns != c.end() && ns->is_array() && !ns->empty() && (*ns)[0].is_string()) {
            s.name = (*ns)[0].get<std::string>();
            if (!s.name.empty() && s.name[0] == '/') s.name.erase(0, 1);
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::variant<SeenContainer, std::string> find_container(const SeenContainers& all, std::string_view ref) {
    if (ref.empty()) return std::string("no container named");
    for (const auto& c : all)
        if (c.id == ref) return c;
    for (const auto& c : all)
        if (c.name == ref) return c;
    const SeenContainer* found = nullptr;
    for (const auto& c : all)
        if (c.id.compare(0, ref.size(), ref) == 0) {
            if (found) return "more than one container's ID starts with " + std::string(ref);
            found = &c;
        }
    if (found) return *found;
    return std::string("no such container");
}

std::vector<LeftOut> bind_endpoints(std::vector<NetworkSpec>& desired, const SeenContainers& all) {
    std::vector<LeftOut> left;
    for (auto& n : desired)
        std::erase_if(n.endpoints, [&](Endpoint& e) {
            auto found = find_container(all, e.container);
            if (auto* why = std::get_if<std::string>(&found)) {
                left.push_back(LeftOut{n.name, e.container, {}, *why});
                return true;
            }
            const auto& c = std::get<SeenContainer>(found);
            if (!c.running()) {
                left.push_back(LeftOut{n.name, e.container, c.id, "not running (" + c.state + ")"});
                return true;
            }
            e.container = c.name.empty() ? e.container : c.name;
            e.id = c.id;
            return false;
        });
    for (auto& n : desired)
        std::sort(n.endpoints.begin(), n.endpoints.end(),
                  [](const Endpoint& a, const Endpoint& b) { return a.container < b.container; });
    return left;
}

}  // namespace netlab::reconcile::docker
