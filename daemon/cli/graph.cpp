// The topology as Graphviz DOT (graph.hpp). Node ids are quoted with a kind
// prefix ("if:br0", "net:mynet", "ct:test1/eth1") so names never collide.
#include "cli/graph.hpp"

#include <cstdio>
#include <set>

#include "cli/cli.hpp"
#include "model/load.hpp"

namespace netlab::cli {

namespace {

// A DOT double-quoted string.
std::string q(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + "\"";
}

std::string lines(const std::string& head, const std::vector<model::Prefix>& addrs) {
    std::string s = head;
    for (const auto& a : addrs) s += "\n" + a.str();
    return s;
}

}  // namespace

std::string topology_dot(const model::Topology& t) {
    std::string out = "digraph netlab {\n  rankdir=LR;\n  node [fontname=\"sans-serif\", fontsize=10];\n"
                      "  edge [fontname=\"sans-serif\", fontsize=9];\n";
    std::set<std::string> declared;
    auto iface_node = [&](const std::string& name) {
        const std::string id = "if:" + name;
        if (declared.insert(id).second) out += "  " + q(id) + " [label=" + q(name) + ", shape=box];\n";
        return q(id);
    };

    out += "  subgraph cluster_host {\n    label=\"host\";\n";
    for (const auto& [name, i] : t.interfaces) {
        std::string head = name + " (" + model::to_string(i.kind) + ")";
        if (i.mtu) head += "\nmtu " + std::to_string(*i.mtu);
        if (i.promisc.value_or(false)) head += "\npromisc";
        const std::string id = "if:" + name;
        declared.insert(id);
        out += "    " + q(id) + " [label=" + q(lines(head, i.addresses.value_or(std::vector<model::Prefix>{}))) +
               ", shape=" + (i.kind == model::InterfaceKind::Bridge ? "box3d" : "box") + "];\n";
    }
    for (const auto& [name, n] : t.networks) {
        std::string head = "network " + name + " (" + n.driver + ")";
        for (const auto& s : n.subnets) head += "\n" + s.str();
        out += "    " + q("net:" + name) + " [label=" + q(head) + ", shape=ellipse];\n";
        if (n.host_access)
            out += "    " + q("shim:" + name) + " [label=" + q("host shim\n" + n.host_access->str()) +
                   ", shape=box, style=dashed];\n";
    }
    out += "  }\n";

    for (const auto& [name, i] : t.interfaces) {
        for (const auto& p : i.ports) out += "  " + iface_node(p) + " -> " + iface_node(name) + " [label=\"port\"];\n";
        if (!i.parent.empty())
            out += "  " + iface_node(name) + " -> " + iface_node(i.parent) + " [label=\"parent\"];\n";
    }
    for (const auto& [name, n] : t.networks) {
        out += "  " + q("net:" + name) + " -> " + iface_node(n.parent) + " [label=\"parent\"];\n";
        if (n.host_access) out += "  " + q("shim:" + name) + " -> " + q("net:" + name) + " [label=\"macvlan\"];\n";
    }
    for (const auto& [cname, c] : t.containers) {
        out += "  subgraph " + q("cluster_ct:" + cname) + " {\n    label=" + q(cname + " (" + c.netns.str() + ")") +
               ";\n";
        for (const auto& [iname, ci] : c.interfaces) {
            std::string head = iname;
            if (ci.gateway) head += "\ngw " + ci.gateway->str();
            out += "    " + q("ct:" + cname + "/" + iname) + " [label=" + q(lines(head, ci.addresses)) +
                   ", shape=box];\n";
        }
        out += "  }\n";
        for (const auto& [iname, ci] : c.interfaces) {
            const std::string id = q("ct:" + cname + "/" + iname);
            if (ci.network) out += "  " + id + " -> " + q("net:" + *ci.network) + " [label=\"macvlan\"];\n";
            if (ci.bridge) out += "  " + id + " -> " + iface_node(*ci.bridge) + " [label=\"veth\"];\n";
        }
    }
    for (const auto& r : t.routes) {
        const std::string gw = r.via ? r.via->str() : std::string("on-link");
        const std::string id = "gw:" + gw;
        if (declared.insert(id).second)
            out += "  " + q(id) + " [label=" + q("gateway " + gw) + ", shape=diamond];\n";
        std::string from;
        if (r.dev.empty()) {
            if (declared.insert("host").second) out += "  \"host\" [label=\"host (any device)\", shape=box];\n";
            from = "\"host\"";
        } else {
            from = iface_node(r.dev);
        }
        out += "  " + from + " -> " + q(id) + " [label=" + q("route " + r.to.str()) + ", style=dashed];\n";
    }
    out += "}\n";
    return out;
}

int graph(const LocalOptions& o) {
    model::Loaded loaded = model::load_config(o.path);
    bool errors = false;
    for (const auto& d : loaded.diagnostics) {
        std::fprintf(stderr, "%s\n", d.str().c_str());
        errors = errors || d.severity == model::Severity::Error;
    }
    if (errors) return 1;
    std::fputs(topology_dot(loaded.topology).c_str(), stdout);
    return 0;
}

}  // namespace netlab::cli
