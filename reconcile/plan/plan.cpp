// The Step vocabulary: each kind of step by name, one line that reads like
// an ip(8) command (describe), and its JSON form.
#include "reconcile/plan/plan.hpp"

#include <nlohmann/json.hpp>

namespace netlab::reconcile {

std::vector<docker::Step> Plan::docker_before() const {
    std::vector<docker::Step> v;
    for (const auto& s : docker)
        if (s.before_kernel()) v.push_back(s);
    return v;
}

std::vector<docker::Step> Plan::docker_after() const {
    std::vector<docker::Step> v;
    for (const auto& s : docker)
        if (!s.before_kernel()) v.push_back(s);
    return v;
}

std::string Plan::describe_at(std::size_t k) const {
    const auto before = docker_before(), after = docker_after();
    if (k < before.size()) return before[k].describe();
    k -= before.size();
    if (k < steps.size()) return steps[k].describe();
    k -= steps.size();
    return k < after.size() ? after[k].describe() : std::string("?");
}

const char* to_string(Step::Op op) {
    switch (op) {
        case Step::Op::CreateLink: return "create-link";
        case Step::Op::DeleteLink: return "delete-link";
        case Step::Op::SetLink: return "set-link";
        case Step::Op::AddAddress: return "add-address";
        case Step::Op::DelAddress: return "del-address";
        case Step::Op::AddRoute: return "add-route";
        case Step::Op::ReplaceRoute: return "replace-route";
        case Step::Op::DelRoute: return "del-route";
        case Step::Op::DeleteGroup: return "delete-group";
    }
    return "?";
}

namespace {

std::string on_off(bool b) { return b ? "on" : "off"; }

std::string route_dst(const model::Prefix& p) { return p.is_default() ? "default" : p.str(); }

// The part of `ip link add/set` after the name that both share.
std::string link_attributes(const LinkSpec& l) {
    std::string s;
    if (l.mtu) s += " mtu " + std::to_string(*l.mtu);
    if (l.mac) s += " address " + l.mac->str();
    else if (l.mac_from) s += " address <mac of " + *l.mac_from + ">";
    if (l.promisc) s += " promisc " + on_off(*l.promisc);
    if (l.master) s += l.master->empty() ? std::string(" nomaster") : " master " + *l.master;
    if (l.group) s += " group " + std::to_string(*l.group);
    return s;
}

std::string describe_route(const char* verb, const model::RouteState& r) {
    std::string s = r.dst.addr.is_v6() ? "ip -6 route " : "ip route ";
    s += verb;
    s += " " + route_dst(r.dst);
    if (r.via) s += " via " + r.via->str();
    if (!r.dev.empty()) s += " dev " + r.dev;
    if (r.metric != 0) s += " metric " + std::to_string(r.metric);
    if (r.table != model::kMainTable) s += " table " + std::to_string(r.table);
    if (r.scope == 253) s += " scope link";
    s += " proto " + std::to_string(r.protocol);
    return s;
}

}  // namespace

std::string Step::describe() const {
    std::string s = ns.empty() ? std::string() : "[" + ns + "] ";
    const LinkSpec& l = link;
    switch (op) {
        case Op::CreateLink: {
            s += "ip link add ";
            if (l.kind == LinkKind::Macvlan) {
                s += "link " + l.parent + " name " + l.name;
                if (l.parent_ns != ns) s += " netns " + ns + " (sent from " + (l.parent_ns.empty() ? std::string("host") : l.parent_ns) + ")";
            } else {
                s += l.name;
            }
            s += link_attributes(l);
            if (l.up && *l.up) s += " up";
            s += " type " + std::string(to_string(l.kind));
            if (l.kind == LinkKind::Macvlan) s += std::string(" mode ") + model::to_string(l.mode);
            if (l.kind == LinkKind::Bridge && l.stp) s += std::string(" stp_state ") + (*l.stp ? "1" : "0");
            if (l.kind == LinkKind::Veth) {
                s += " peer name " + l.peer_name;
                if (l.peer_ns != ns) s += " netns " + (l.peer_ns.empty() ? std::string("host") : l.peer_ns);
            }
            s += " (netlab)";
            break;
        }
        case Op::DeleteLink: s += "ip link del " + l.name; break;
        case Op::SetLink: {
            std::string ip = "ip link set " + l.name + link_attributes(l);
            if (l.up) ip += *l.up ? " up" : " down";
            if (l.stp) ip += std::string(" type bridge stp_state ") + (*l.stp ? "1" : "0");
            if (!l.promote_secondaries) {
                s += ip;
                break;
            }
            // Sent as IFLA_AF_SPEC/AF_INET/IFLA_INET_CONF in the same
            // RTM_NEWLINK; an admin would type the sysctl.
            if (ip != "ip link set " + l.name) s += ip + "; ";
            s += "sysctl -w net.ipv4.conf." + l.name + ".promote_secondaries=" + (*l.promote_secondaries ? "1" : "0");
            break;
        }
        case Op::AddAddress: {
            // attributes after the device, in ip(8)'s words
            s += "ip addr add " + address.prefix.str() + " dev " + address.dev;
            const auto& a = address.attrs;
            if (a.broadcast) s += " brd " + a.broadcast->str();
            if (!a.label.empty()) s += " label " + a.label;
            if (a.scope == 253) s += " scope link";
            if (a.scope == 254) s += " scope host";
            if (a.flags & 0x200) s += " noprefixroute";
            if (a.flags & 0x02) s += " nodad";
            break;
        }
        case Op::DelAddress: s += "ip addr del " + address.prefix.str() + " dev " + address.dev; break;
        case Op::AddRoute: s += describe_route("add", route); break;
        case Op::ReplaceRoute: s += describe_route("replace", route); break;
        case Op::DelRoute: s += describe_route("del", route); break;
        case Op::DeleteGroup: {
            // The members are named in full in the JSON (`members`); the
            // line names the first few.
            const std::string g = std::to_string(group);
            s += "ip link delete group " + g + "  # " + std::to_string(members.size()) + " links set to group " + g +
                 " first:";
            constexpr std::size_t kNamed = 6;
            for (std::size_t i = 0; i < members.size() && i < kNamed; ++i) s += " " + members[i];
            if (members.size() > kNamed) s += " … (" + std::to_string(members.size() - kNamed) + " more)";
            break;
        }
    }
    return s;
}

void put_link_attrs(nlohmann::json& j, const LinkSpec& l) {
    if (l.master) j["master"] = *l.master;
    if (l.up) j["up"] = *l.up;
    if (l.promisc) j["promisc"] = *l.promisc;
    if (l.stp) j["stp"] = *l.stp;
    if (l.promote_secondaries) j["promote_secondaries"] = *l.promote_secondaries;
    if (l.mtu) j["mtu"] = *l.mtu;
    if (l.group) j["group"] = *l.group;
    if (l.mac) j["mac"] = l.mac->str();
    if (l.mac_from) j["mac_from"] = *l.mac_from;
}

nlohmann::json Step::to_json() const {
    nlohmann::json j;
    j["op"] = to_string(op);
    j["ns"] = ns;
    switch (op) {
        case Op::CreateLink:
        case Op::DeleteLink:
        case Op::SetLink: {
            const LinkSpec& l = link;
            j["object"] = l.name;
            if (l.creates()) j["kind"] = std::string(to_string(l.kind));
            put_link_attrs(j, l);
            if (op == Op::CreateLink) {
                if (l.kind == LinkKind::Macvlan) {
                    j["parent"] = l.parent;
                    j["parent_ns"] = l.parent_ns;
                    j["mode"] = model::to_string(l.mode);
                }
                if (l.kind == LinkKind::Veth) {
                    j["peer_name"] = l.peer_name;
                    j["peer_ns"] = l.peer_ns;
                }
            }
            break;
        }
        case Op::AddAddress:
        case Op::DelAddress:
            j["object"] = address.prefix.str() + " dev " + address.dev;
            j["dev"] = address.dev;
            j["address"] = address.prefix.str();
            if (op == Op::AddAddress && address.attrs.broadcast) j["broadcast"] = address.attrs.broadcast->str();
            break;
        case Op::AddRoute:
        case Op::ReplaceRoute:
        case Op::DelRoute:
            j["object"] = route_dst(route.dst);
            j["dst"] = route.dst.str();
            if (route.via) j["via"] = route.via->str();
            j["dev"] = route.dev;
            j["metric"] = route.metric;
            j["table"] = route.table;
            j["protocol"] = route.protocol;
            j["scope"] = route.scope;
            break;
        case Op::DeleteGroup:
            j["object"] = "group " + std::to_string(group);
            j["group"] = group;
            j["members"] = members;
            break;
    }
    j["why"] = why;
    j["text"] = describe();
    return j;
}

}  // namespace netlab::reconcile
