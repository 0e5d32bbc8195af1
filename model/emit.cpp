// Topology -> the document of model/reader.cpp's keys, and that document as
// YAML. The reader is the contract: every key written here is one it reads,
// in the spelling it reads (tests/unit/model/test_emit.cpp loads the output
// back and compares).
#include "model/emit.hpp"

#include <yaml-cpp/yaml.h>

#include "model/duration.hpp"

namespace netlab::model {

namespace {

using ojson = nlohmann::ordered_json;

// An address with a `broadcast:` of its own is an entry `{address:, broadcast:}`
// (`none`: no broadcast); the others are plain strings.
ojson addresses(const std::vector<Prefix>& ps, const std::map<Prefix, std::optional<IpAddress>>& broadcasts) {
    ojson a = ojson::array();
    for (const auto& p : ps) {
        auto b = broadcasts.find(p);
        if (b == broadcasts.end()) {
            a.push_back(p.str());
            continue;
        }
        ojson e;
        e["address"] = p.str();
        e["broadcast"] = b->second ? b->second->str() : std::string("none");
        a.push_back(e);
    }
    return a;
}

ojson route(const Route& r, bool withDev) {
    ojson j;
    j["to"] = r.to.is_default() ? std::string("default") : r.to.str();
    if (r.via) j["via"] = r.via->str();
    if (withDev && !r.dev.empty()) j["dev"] = r.dev;
    if (r.metric) j["metric"] = *r.metric;
    if (r.on_link) j["on_link"] = true;
    return j;
}

ojson probe(const Probe& p) {
    ojson j;
    switch (p.kind) {
    case Probe::Kind::Tcp: j["tcp"] = p.str().substr(4); break;
    case Probe::Kind::Icmp: j["icmp"] = p.address.str(); break;
    case Probe::Kind::Dns:
        j["dns"] = p.address.str();
        j["name"] = p.name;
        break;
    }
    return j;
}

ojson interface(const Interface& i) {
    ojson j = ojson::object();
    if (i.kind != InterfaceKind::Adopted) j["kind"] = to_string(i.kind);
    if (i.kind == InterfaceKind::Macvlan) {
        j["parent"] = i.parent;
        j["mode"] = to_string(i.mode);
    }
    if (i.up) j["up"] = *i.up;
    if (i.promisc) j["promisc"] = *i.promisc;
    if (i.mtu) j["mtu"] = *i.mtu;
    if (i.mac) j["mac"] = i.mac->str();
    else if (i.mac_from) j["mac"] = *i.mac_from;
    if (i.kind == InterfaceKind::Bridge) {
        j["ports"] = i.ports;
        if (i.stp) j["stp"] = *i.stp;
    }
    if (i.addresses) j["addresses"] = addresses(*i.addresses, i.broadcasts);
    return j;
}

// `subnet:` and `gateway:` take a scalar or a list; one value is a scalar.
template <typename T>
ojson one_or_list(const std::vector<T>& v) {
    if (v.size() == 1) return v.front().str();
    ojson a = ojson::array();
    for (const auto& x : v) a.push_back(x.str());
    return a;
}

ojson network(const Network& n) {
    ojson j;
    j["driver"] = n.driver;
    j["parent"] = n.parent;
    j["mode"] = to_string(n.mode);
    if (!n.subnets.empty()) j["subnet"] = one_or_list(n.subnets);
    if (!n.gateways.empty()) j["gateway"] = one_or_list(n.gateways);
    if (!n.host_access.empty()) j["host_access"] = one_or_list(n.host_access);
    if (n.docker) j["docker"] = *n.docker;
    return j;
}

ojson container_interface(const ContainerInterface& ci) {
    ojson j;
    if (ci.network) j["network"] = *ci.network;
    if (ci.bridge) j["bridge"] = *ci.bridge;
    if (!ci.addresses.empty()) j["addresses"] = addresses(ci.addresses, ci.broadcasts);
    if (ci.mac) j["mac"] = ci.mac->str();
    if (ci.mtu) j["mtu"] = *ci.mtu;
    if (ci.gateway) j["gateway"] = ci.gateway->str();
    if (ci.gateway_on_link) j["on_link"] = true;
    if (ci.default_route) j["default_route"] = true;
    if (!ci.routes.empty()) {
        ojson rs = ojson::array();
        for (const auto& r : ci.routes) rs.push_back(route(r, false));  // dev is the interface itself
        j["routes"] = rs;
    }
    return j;
}

bool scalars_only(const ojson& a) {
    for (const auto& x : a)
        if (x.is_structured()) return false;
    return true;
}

void emit(YAML::Emitter& out, const ojson& j) {
    if (j.is_object()) {
        if (j.empty()) {
            out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
            return;
        }
        out << YAML::BeginMap;
        for (const auto& [k, v] : j.items()) {
            out << YAML::Key << k << YAML::Value;
            emit(out, v);
        }
        out << YAML::EndMap;
    } else if (j.is_array()) {
        if (scalars_only(j)) out << YAML::Flow;
        out << YAML::BeginSeq;
        for (const auto& v : j) emit(out, v);
        out << YAML::EndSeq;
    } else if (j.is_boolean()) {
        out << j.get<bool>();
    } else if (j.is_number_unsigned()) {
        out << j.get<std::uint64_t>();
    } else if (j.is_number_integer()) {
        out << j.get<std::int64_t>();
    } else if (j.is_string()) {
        out << j.get<std::string>();
    } else {
        out << YAML::Null;
    }
}

}  // namespace

nlohmann::ordered_json to_document(const Topology& t) {
    ojson j;
    j["version"] = t.version;
    if (t.drift == DriftPolicy::Report) j["drift"] = "report";
    if (t.confirm != Topology::ConfirmSettings{}) {
        ojson c;
        if (t.commit_confirmed) c["deadline"] = format_duration(*t.commit_confirmed);
        if (t.confirm.mode == ConfirmMode::Auto) c["mode"] = "auto";
        if (t.confirm.grace != kDefaultProbeGrace) c["grace"] = format_duration(t.confirm.grace);
        if (t.confirm.window != kDefaultProbeWindow) c["window"] = format_duration(t.confirm.window);
        j["commit_confirmed"] = c;
    } else if (t.commit_confirmed) {
        j["commit_confirmed"] = format_duration(*t.commit_confirmed);
    }
    if (!t.probes.empty()) {
        ojson ps = ojson::array();
        for (const auto& p : t.probes) ps.push_back(probe(p));
        j["probes"] = ps;
    }
    if (!t.announce) j["announce"] = false;
    if (!t.interfaces.empty()) {
        ojson is = ojson::object();
        for (const auto& [name, i] : t.interfaces) is[name] = interface(i);
        j["interfaces"] = is;
    }
    if (!t.routes.empty()) {
        ojson rs = ojson::array();
        for (const auto& r : t.routes) rs.push_back(route(r, true));
        j["routes"] = rs;
    }
    if (!t.networks.empty()) {
        ojson ns = ojson::object();
        for (const auto& [name, n] : t.networks) ns[name] = network(n);
        j["networks"] = ns;
    }
    if (!t.containers.empty()) {
        ojson cs = ojson::object();
        for (const auto& [name, c] : t.containers) {
            ojson cj;
            cj["netns"] = c.netns.str();
            ojson ifs = ojson::object();
            for (const auto& [ifname, ci] : c.interfaces) ifs[ifname] = container_interface(ci);
            cj["interfaces"] = ifs;
            cs[name] = cj;
        }
        j["containers"] = cs;
    }
    return j;
}

std::string to_yaml(const Topology& t, const std::vector<std::string>& header, const std::vector<std::string>& notes) {
    YAML::Emitter out;
    emit(out, to_document(t));
    std::string text;
    for (const auto& h : header) text += "# " + h + "\n";
    text += out.c_str();
    text += "\n";
    if (!notes.empty()) {
        text += "\n";
        for (const auto& n : notes) text += "# " + n + "\n";
    }
    return text;
}

}  // namespace netlab::model
