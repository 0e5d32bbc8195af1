// The journal, ledger and Outcome as JSON and back (serialize.hpp).
#include "reconcile/apply/serialize.hpp"

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace netlab::reconcile::serial {

namespace {

std::optional<Step::Op> parse_op(const std::string& s) {
    for (auto op : {Step::Op::CreateLink, Step::Op::DeleteLink, Step::Op::SetLink, Step::Op::AddAddress,
                    Step::Op::DelAddress, Step::Op::AddRoute, Step::Op::ReplaceRoute, Step::Op::DelRoute,
                    Step::Op::DeleteGroup})
        if (s == to_string(op)) return op;
    return std::nullopt;
}

model::IpAddress ip_from(const json& j) {
    auto ip = model::IpAddress::parse(j.get<std::string>());
    if (!ip) throw std::invalid_argument("bad IP address in JSON: " + j.get<std::string>());
    return *ip;
}

model::Prefix prefix_from(const json& j) {
    auto p = model::Prefix::parse(j.get<std::string>());
    if (!p) throw std::invalid_argument("bad prefix in JSON: " + j.get<std::string>());
    return *p;
}

model::MacAddress mac_from(const json& j) {
    auto m = model::MacAddress::parse(j.get<std::string>());
    if (!m) throw std::invalid_argument("bad MAC address in JSON: " + j.get<std::string>());
    return *m;
}

model::MacvlanMode mode_from(const json& j) {
    auto m = model::parse_macvlan_mode(j.get<std::string>());
    return m ? *m : model::MacvlanMode::Bridge;
}

template <class T>
json opt(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}

template <class T>
std::optional<T> opt_from(const json& j, const char* key) {
    if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
    return j.at(key).get<T>();
}

}  // namespace

json link_state(const model::LinkState& l) {
    return json{{"name", l.name},
                {"ifindex", l.ifindex},
                {"kind", l.kind},
                {"master", l.master},
                {"up", l.up},
                {"promisc", l.promisc},
                {"mtu", l.mtu},
                {"mac", l.mac.str()},
                {"alias", l.alias},
                {"parent", l.parent},
                {"macvlan_mode", model::to_string(l.macvlan_mode)},
                {"stp", opt(l.stp)},
                {"group", l.group},
                {"promote_secondaries", opt(l.promote_secondaries)}};
}

model::LinkState link_state_from(const json& j) {
    model::LinkState l;
    l.name = j.at("name").get<std::string>();
    l.ifindex = j.value("ifindex", 0);
    l.kind = j.value("kind", "");
    l.master = j.value("master", "");
    l.up = j.value("up", false);
    l.promisc = j.value("promisc", false);
    l.mtu = j.value("mtu", 0u);
    l.mac = mac_from(j.at("mac"));
    l.alias = j.value("alias", "");
    l.parent = j.value("parent", "");
    l.macvlan_mode = mode_from(j.value("macvlan_mode", "bridge"));
    l.stp = opt_from<bool>(j, "stp");
    l.group = j.value("group", 0u);
    l.promote_secondaries = opt_from<bool>(j, "promote_secondaries");
    return l;
}

// Attributes that differ from a static address's defaults only, so a
// journal or ledger written before they were kept reads the same.
void put_attrs(json& j, const model::AddressAttrs& a) {
    if (a.broadcast) j["broadcast"] = a.broadcast->str();
    if (!a.label.empty()) j["label"] = a.label;
    if (a.flags) j["flags"] = a.flags;
    if (a.scope) j["scope"] = a.scope;
    if (a.valid_lft != model::AddressAttrs::kForever) j["valid_lft"] = a.valid_lft;
    if (a.preferred_lft != model::AddressAttrs::kForever) j["preferred_lft"] = a.preferred_lft;
}

model::AddressAttrs attrs_from(const json& j) {
    model::AddressAttrs a;
    if (j.contains("broadcast")) a.broadcast = ip_from(j.at("broadcast"));
    a.label = j.value("label", "");
    a.flags = j.value("flags", 0u);
    a.scope = j.value("scope", std::uint8_t{0});
    a.valid_lft = j.value("valid_lft", model::AddressAttrs::kForever);
    a.preferred_lft = j.value("preferred_lft", model::AddressAttrs::kForever);
    return a;
}

json address(const model::AddressState& a) {
    json j{{"dev", a.dev}, {"prefix", a.prefix.str()}};
    put_attrs(j, a.attrs);
    return j;
}

model::AddressState address_from(const json& j) {
    model::AddressState a{j.at("dev").get<std::string>(), prefix_from(j.at("prefix"))};
    a.attrs = attrs_from(j);
    return a;
}

json route(const model::RouteState& r) {
    return json{{"table", r.table},       {"dst", r.dst.str()},           {"metric", r.metric},
                {"via", r.via ? json(r.via->str()) : json(nullptr)},  {"dev", r.dev},
                {"protocol", r.protocol}, {"scope", r.scope},             {"type", r.type}};
}

model::RouteState route_from(const json& j) {
    model::RouteState r;
    r.table = j.value("table", model::kMainTable);
    r.dst = prefix_from(j.at("dst"));
    r.metric = j.value("metric", 0u);
    if (j.contains("via") && !j.at("via").is_null()) r.via = ip_from(j.at("via"));
    r.dev = j.value("dev", "");
    r.protocol = j.value("protocol", std::uint8_t{0});
    r.scope = j.value("scope", std::uint8_t{0});
    r.type = j.value("type", std::uint8_t{1});
    return r;
}

json netns(const model::NetnsState& s) {
    json links = json::array(), addrs = json::array(), routes = json::array();
    for (const auto& [_, l] : s.links) links.push_back(link_state(l));
    for (const auto& a : s.addresses) addrs.push_back(address(a));
    for (const auto& r : s.routes) routes.push_back(route(r));
    return json{{"links", links}, {"addresses", addrs}, {"routes", routes}};
}

model::NetnsState netns_from(const json& j) {
    model::NetnsState s;
    for (const auto& l : j.at("links")) {
        auto ls = link_state_from(l);
        s.links.emplace(ls.name, std::move(ls));
    }
    for (const auto& a : j.at("addresses")) s.addresses.insert(address_from(a));
    for (const auto& r : j.at("routes")) s.routes.insert(route_from(r));
    return s;
}

json observed(const Observed& o) {
    json j = json::object();
    for (const auto& [ns, s] : o) j[ns] = netns(s);
    return j;
}

Observed observed_from(const json& j) {
    Observed o;
    for (const auto& [ns, s] : j.items()) o.emplace(ns, netns_from(s));
    return o;
}

json link_spec(const LinkSpec& l) {
    json j{{"name", l.name}, {"kind", to_string(l.kind)}};
    put_link_attrs(j, l);
    if (l.addresses) {
        json a = json::array();
        for (const auto& p : *l.addresses) a.push_back(p.str());
        j["addresses"] = a;
    }
    if (!l.parent.empty() || !l.parent_ns.empty()) {
        j["parent"] = l.parent;
        j["parent_ns"] = l.parent_ns;
    }
    if (l.kind == LinkKind::Macvlan) j["mode"] = model::to_string(l.mode);
    if (!l.peer_name.empty() || !l.peer_ns.empty()) {
        j["peer_name"] = l.peer_name;
        j["peer_ns"] = l.peer_ns;
    }
    return j;
}

LinkSpec link_spec_from(const json& j) {
    LinkSpec l;
    l.name = j.at("name").get<std::string>();
    const std::string kind = j.value("kind", "");
    const auto k = link_kind(kind);
    if (!k) throw std::runtime_error("link " + l.name + ": unknown kind \"" + kind + "\"");
    l.kind = *k;
    l.master = opt_from<std::string>(j, "master");
    l.up = opt_from<bool>(j, "up");
    l.promisc = opt_from<bool>(j, "promisc");
    l.stp = opt_from<bool>(j, "stp");
    l.promote_secondaries = opt_from<bool>(j, "promote_secondaries");
    l.mtu = opt_from<std::uint32_t>(j, "mtu");
    l.group = opt_from<std::uint32_t>(j, "group");
    if (j.contains("mac")) l.mac = mac_from(j.at("mac"));
    l.mac_from = opt_from<std::string>(j, "mac_from");
    if (j.contains("addresses")) {
        l.addresses.emplace();
        for (const auto& p : j.at("addresses")) l.addresses->insert(prefix_from(p));
    }
    l.parent = j.value("parent", "");
    l.parent_ns = j.value("parent_ns", "");
    l.mode = mode_from(j.value("mode", "bridge"));
    l.peer_name = j.value("peer_name", "");
    l.peer_ns = j.value("peer_ns", "");
    return l;
}

json step(const Step& s) {
    json j{{"op", to_string(s.op)}, {"ns", s.ns}};
    switch (s.op) {
        case Step::Op::CreateLink:
        case Step::Op::DeleteLink:
        case Step::Op::SetLink: j["link"] = link_spec(s.link); break;
        case Step::Op::AddAddress:
        case Step::Op::DelAddress: j["address"] = address(s.address); break;
        case Step::Op::AddRoute:
        case Step::Op::ReplaceRoute:
        case Step::Op::DelRoute: j["route"] = route(s.route); break;
        case Step::Op::DeleteGroup:
            j["group"] = s.group;
            j["members"] = s.members;
            break;
    }
    j["why"] = s.why;
    return j;
}

Step step_from(const json& j) {
    Step s;
    auto op = parse_op(j.at("op").get<std::string>());
    if (!op) throw std::invalid_argument("unknown step op in JSON: " + j.at("op").get<std::string>());
    s.op = *op;
    s.ns = j.value("ns", "");
    if (j.contains("link")) s.link = link_spec_from(j.at("link"));
    if (j.contains("address")) s.address = address_from(j.at("address"));
    if (j.contains("route")) s.route = route_from(j.at("route"));
    s.group = j.value("group", std::uint32_t{0});
    if (j.contains("members")) s.members = j.at("members").get<std::vector<std::string>>();
    s.why = j.value("why", "");
    return s;
}

json plan(const Plan& p) {
    json steps = json::array(), refusals = json::array();
    for (const auto& s : p.steps) steps.push_back(step(s));
    for (const auto& d : p.refusals) refusals.push_back(diagnostic(d));
    json j{{"steps", steps}, {"refusals", refusals}};
    if (!p.docker.empty()) {
        json d = json::array();
        for (const auto& s : p.docker) d.push_back(s.to_json());
        j["docker"] = d;
    }
    return j;
}

Plan plan_from(const json& j) {
    Plan p;
    for (const auto& s : j.at("steps")) p.steps.push_back(step_from(s));
    if (j.contains("refusals"))
        for (const auto& d : j.at("refusals")) p.refusals.push_back(diagnostic_from(d));
    if (j.contains("docker"))
        for (const auto& d : j.at("docker")) {
            auto s = docker::Step::from_json(d);
            if (!s) throw std::runtime_error("unreadable Docker step: " + d.dump());
            p.docker.push_back(*s);
        }
    return p;
}

json diagnostic(const model::Diagnostic& d) {
    return json{{"severity", d.severity == model::Severity::Error ? "error" : "warning"},
                {"file", d.where.file},
                {"line", d.where.line},
                {"col", d.where.col},
                {"message", d.message},
                {"hint", d.hint},
                {"text", d.str()}};
}

model::Diagnostic diagnostic_from(const json& j) {
    model::Diagnostic d;
    d.severity = j.value("severity", "error") == "warning" ? model::Severity::Warning : model::Severity::Error;
    d.where.file = j.value("file", "");
    d.where.line = j.value("line", 0);
    d.where.col = j.value("col", 0);
    d.message = j.value("message", "");
    d.hint = j.value("hint", "");
    return d;
}

json ledger(const Ledger& l) {
    json adopted = json::object();
    for (const auto& [ns, links] : l.adopted) {
        json per = json::object();
        for (const auto& [name, orig] : links) {
            json addrs = json::array(), routes = json::array();
            for (const auto& p : orig.addresses) addrs.push_back(p.str());
            for (const auto& r : orig.routes) routes.push_back(route(r));
            per[name] = json{{"link", link_state(orig.link)},
                             {"addresses", addrs},
                             {"routes", routes},
                             {"attributes", orig.attributes}};
            json attrs = json::object();
            for (const auto& [p, a] : orig.address_attrs) {
                json one = json::object();
                put_attrs(one, a);
                attrs[p.str()] = one;
            }
            if (!attrs.empty()) per[name]["address_attrs"] = attrs;
        }
        adopted[ns] = per;
    }
    json j{{"version", 1}, {"adopted", adopted}};
    if (!l.docker.empty()) j["docker"] = l.docker;
    return j;
}

Ledger ledger_from(const json& j) {
    Ledger l;
    if (j.contains("docker")) l.docker = j.at("docker").get<docker::Connected>();
    if (!j.contains("adopted")) return l;
    for (const auto& [ns, per] : j.at("adopted").items()) {
        auto& out = l.adopted[ns];
        for (const auto& [name, o] : per.items()) {
            AdoptedOriginal orig;
            orig.link = link_state_from(o.at("link"));
            for (const auto& p : o.at("addresses")) orig.addresses.insert(prefix_from(p));
            for (const auto& r : o.at("routes")) orig.routes.push_back(route_from(r));
            if (o.contains("attributes")) orig.attributes = o.at("attributes").get<std::set<std::string>>();
            if (o.contains("address_attrs"))
                for (const auto& [p, a] : o.at("address_attrs").items()) orig.address_attrs[prefix_from(p)] = attrs_from(a);
            out.emplace(name, std::move(orig));
        }
    }
    return l;
}

json ns_target(const std::string& target, const NsIdentity& id) {
    json ident{{"boot_id", id.boot_id}, {"inode", id.inode}, {"cookie", id.cookie}};
    if (!id.container_id.empty()) ident["container_id"] = id.container_id;
    if (!id.started_at.empty()) ident["started_at"] = id.started_at;
    if (id.pid) {
        ident["pid"] = id.pid;
        ident["pid_start"] = id.pid_start;
    }
    return json{{"target", target}, {"identity", ident}};
}

NsIdentity identity_from(const json& j) {
    NsIdentity id;
    id.boot_id = j.value("boot_id", "");
    id.container_id = j.value("container_id", "");
    id.started_at = j.value("started_at", "");
    id.pid = j.value("pid", 0);
    id.pid_start = j.value("pid_start", 0ULL);
    id.inode = j.value("inode", 0ULL);
    id.cookie = j.value("cookie", std::uint64_t{0});
    return id;
}

}  // namespace netlab::reconcile::serial
