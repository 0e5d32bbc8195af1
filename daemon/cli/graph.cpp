// The topology as Graphviz DOT (graph.hpp), alone or drawn over the live
// state with the differences marked. Node ids are quoted with a kind prefix
// ("if:br0", "net:mynet", "ct:test1/eth1") so names never collide.
#include "cli/graph.hpp"

#include <algorithm>
#include <set>

namespace netlab::cli {

namespace {

using model::Interface;
using model::Prefix;

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

enum class Mark { Plain, Planned, LiveOnly, Differs, NotFound };

const char* suffix(Mark m) {
    switch (m) {
        case Mark::Planned: return " (planned)";
        case Mark::LiveOnly: return " (live only)";
        case Mark::Differs: return " (differs)";
        case Mark::NotFound: return " (not found live)";
        case Mark::Plain: break;
    }
    return "";
}

// The attributes after shape: `dashed` is the object's own style (a host
// shim, a route); a mark adds its colour and, where absent, a dashed line.
std::string style(Mark m, bool dashed) {
    std::string s;
    if (dashed || m == Mark::Planned || m == Mark::LiveOnly || m == Mark::NotFound) s += ", style=dashed";
    switch (m) {
        case Mark::Planned: return s + ", color=darkgreen, fontcolor=darkgreen";
        case Mark::LiveOnly:
        case Mark::NotFound: return s + ", color=red, fontcolor=red";
        case Mark::Differs: return s + ", color=darkorange, fontcolor=darkorange, penwidth=2";
        case Mark::Plain: break;
    }
    return s;
}

bool has(const std::vector<Prefix>& v, const Prefix& p) { return std::find(v.begin(), v.end(), p) != v.end(); }

// Addresses as label lines: the file's, each marked when the live state
// lacks it, then the live ones the file does not list.
std::string address_lines(const std::vector<Prefix>& want, const std::vector<Prefix>* seen, bool& differs) {
    std::string s;
    for (const auto& a : want) {
        s += "\n" + a.str();
        if (seen && !has(*seen, a)) s += suffix(Mark::Planned), differs = true;
    }
    if (seen)
        for (const auto& a : *seen)
            if (!has(want, a)) s += "\n" + a.str() + suffix(Mark::LiveOnly), differs = true;
    return s;
}

std::string on_off(bool b) { return b ? "on" : "off"; }

// An interface's label. `f` is the file's entry, `l` the live one; either
// may be missing (not both). Only what the file manages is compared.
std::string iface_label(const std::string& name, const Interface* f, const Interface* l, bool& differs) {
    const Interface& main = f ? *f : *l;
    std::string s = name + " (" + model::to_string(main.kind) + ")";
    const bool both = f && l;
    if (both && f->kind != l->kind) s += std::string(" (live ") + model::to_string(l->kind) + ")", differs = true;
    if (main.mtu) {
        s += "\nmtu " + std::to_string(*main.mtu);
        if (both && l->mtu.value_or(1500) != *f->mtu)
            s += " (live " + std::to_string(l->mtu.value_or(1500)) + ")", differs = true;
    }
    if (both && f->promisc && *f->promisc != l->promisc.value_or(false)) {
        s += "\npromisc " + on_off(*f->promisc) + " (live " + on_off(!*f->promisc) + ")", differs = true;
    } else if (main.promisc.value_or(false)) {
        s += "\npromisc";
    }
    if (both) {
        // Devices netlab creates are up unless the file says otherwise.
        std::optional<bool> up = f->up;
        if (!up && f->kind != model::InterfaceKind::Adopted) up = true;
        if (up && *up != l->up.value_or(true)) s += *up ? "\nup (live down)" : "\ndown (live up)", differs = true;
        if (f->stp && l->stp && *f->stp != *l->stp)
            s += "\nstp " + on_off(*f->stp) + " (live " + on_off(*l->stp) + ")", differs = true;
    } else if (l && !f && !l->up.value_or(true)) {
        s += "\ndown";
    }
    static const std::vector<Prefix> none;
    if (f && f->addresses) {
        const std::vector<Prefix>* seen = nullptr;
        if (l) seen = l->addresses ? &*l->addresses : &none;
        s += address_lines(*f->addresses, seen, differs);
    } else if (l && l->addresses) {
        bool ignored = false;  // not managed by the file: shown as it is
        s += address_lines(*l->addresses, nullptr, ignored);
    }
    return s;
}

// Routes match when they are the same route; a file route without `dev`
// matches the live one on any device.
bool same_route(const model::Route& f, const model::Route& l) {
    return f.to == l.to && f.via == l.via && f.metric == l.metric && f.on_link == l.on_link &&
           (f.dev.empty() || f.dev == l.dev);
}

template <class T>
using Both = std::map<std::string, std::pair<const T*, const T*>>;

// The file's and the live entries of a map, by name.
template <class T>
Both<T> both(const std::map<std::string, T>& file, const std::map<std::string, T>* live) {
    Both<T> all;
    for (const auto& [name, x] : file) all[name].first = &x;
    if (live)
        for (const auto& [name, x] : *live) all[name].second = &x;
    return all;
}

// A node's label with its mark on a line of its own.
std::string marked(const std::string& label, Mark m) {
    return m == Mark::Plain ? label : label + "\n" + std::string(suffix(m)).substr(1);
}

using Pair = std::pair<std::string, std::string>;

// A network's shim addresses; none for a network on one side only.
const std::vector<Prefix>& shims_of(const model::Network* n) {
    static const std::vector<Prefix> none;
    return n ? n->host_access : none;
}

// A shim's addresses in the order the kernel lists them does not matter.
std::set<Prefix> shim_set(const std::vector<Prefix>& v) { return {v.begin(), v.end()}; }
std::string shim_text(const std::vector<Prefix>& v) {
    std::string out;
    for (const auto& p : shim_set(v)) out += (out.empty() ? "" : ", ") + p.str();
    return out;
}

class Drawer {
public:
    Drawer(const model::Topology& file, const model::Topology* live) : f_(file), l_(live) {}
    std::string draw(const std::vector<std::string>& notes);

private:
    // Where an object is: in both, only in the file, only live.
    Mark where(bool inFile, bool inLive) const {
        if (!l_ || (inFile && inLive)) return Mark::Plain;
        return inFile ? Mark::Planned : Mark::LiveOnly;
    }
    std::string iface_node(const std::string& name) {
        const std::string id = "if:" + name;
        if (declared_.insert(id).second) out_ += "  " + q(id) + " [label=" + q(name) + ", shape=box];\n";
        return q(id);
    }
    void edge(const std::string& from, const std::string& to, const std::string& label, Mark m, bool dashed = false) {
        out_ += "  " + from + " -> " + to + " [label=" + q(label + suffix(m)) + style(m, dashed) + "];\n";
    }
    // The edges of the file and of the live state, keyed by their ends: the
    // file's in its order, then the live-only ones.
    template <class Key, class Draw>
    void edges(const std::vector<Key>& inFile, const std::vector<Key>& inLive, Draw draw) {
        for (const auto& k : inFile) draw(k, where(true, std::find(inLive.begin(), inLive.end(), k) != inLive.end()));
        if (l_)
            for (const auto& k : inLive)
                if (std::find(inFile.begin(), inFile.end(), k) == inFile.end()) draw(k, Mark::LiveOnly);
    }
    Mark shim_mark(const model::Network* fn, const model::Network* ln) const {
        const std::vector<Prefix>& fs = shims_of(fn);
        const std::vector<Prefix>& ls = shims_of(ln);
        Mark m = where(!fs.empty(), !ls.empty());
        if (m == Mark::Plain && l_ && !fs.empty() && !ls.empty() && shim_set(fs) != shim_set(ls)) m = Mark::Differs;
        return m;
    }
    std::set<std::string> referenced() const;
    void host_cluster();
    void links();
    void containers();
    void routes();

    const model::Topology& f_;
    const model::Topology* l_;  // nullptr: the file alone
    std::string out_;
    std::set<std::string> declared_;
};

// The interfaces the file names anywhere: a live one among them is drawn
// plainly even when the file does not list it under `interfaces:`.
std::set<std::string> Drawer::referenced() const {
    std::set<std::string> s;
    for (const auto& [name, i] : f_.interfaces) {
        s.insert(name);
        s.insert(i.ports.begin(), i.ports.end());
        if (!i.parent.empty()) s.insert(i.parent);
    }
    for (const auto& [name, n] : f_.networks) s.insert(n.parent);
    for (const auto& r : f_.routes) s.insert(r.dev);
    for (const auto& [cname, c] : f_.containers)
        for (const auto& [iname, ci] : c.interfaces)
            if (ci.bridge) s.insert(*ci.bridge);
    return s;
}

void Drawer::host_cluster() {
    out_ += "  subgraph cluster_host {\n    label=\"host\";\n";
    const std::set<std::string> named = referenced();
    for (const auto& [name, fl] : both(f_.interfaces, l_ ? &l_->interfaces : nullptr)) {
        const auto [fi, li] = fl;
        bool differs = false;
        const std::string label = iface_label(name, fi, li, differs);
        Mark m = where(fi != nullptr, li != nullptr);
        if (m == Mark::LiveOnly && named.count(name)) m = Mark::Plain;
        // An adopted NIC is not created by netlab: missing, it is not planned.
        if (m == Mark::Planned && fi->kind == model::InterfaceKind::Adopted) m = Mark::NotFound;
        if (differs) m = Mark::Differs;
        const std::string id = "if:" + name;
        declared_.insert(id);
        const auto kind = (fi ? fi : li)->kind;
        out_ += "    " + q(id) + " [label=" + q(marked(label, m)) +
                ", shape=" + (kind == model::InterfaceKind::Bridge ? "box3d" : "box") + style(m, false) + "];\n";
    }
    for (const auto& [name, fl] : both(f_.networks, l_ ? &l_->networks : nullptr)) {
        const auto [fn, ln] = fl;
        const model::Network& n = fn ? *fn : *ln;
        std::string head = "network " + name + " (" + n.driver + ")";
        for (const auto& s : n.subnets) head += "\n" + s.str();
        Mark m = where(fn != nullptr, ln != nullptr);
        // A network with no host shim and no container on it has nothing in
        // the kernel: there is nothing to plan.
        if (m == Mark::Planned && fn->host_access.empty()) {
            bool used = false;
            for (const auto& [cname, c] : f_.containers)
                for (const auto& [iname, ci] : c.interfaces) used = used || ci.network == name;
            if (!used) m = Mark::Plain;
        }
        out_ += "    " + q("net:" + name) + " [label=" + q(marked(head, m)) + ", shape=ellipse" + style(m, false) +
                "];\n";
        const std::vector<Prefix>& fs = shims_of(fn);
        const std::vector<Prefix>& ls = shims_of(ln);
        if (fs.empty() && ls.empty()) continue;
        const Mark sm = shim_mark(fn, ln);
        std::string label = "host shim\n" + shim_text(fs.empty() ? ls : fs);
        if (sm == Mark::Differs) label += " (live " + shim_text(ls) + ")";
        out_ += "    " + q("shim:" + name) + " [label=" + q(marked(label, sm)) + ", shape=box" + style(sm, true) +
                "];\n";
    }
    out_ += "  }\n";
}

void Drawer::links() {
    auto ports = [](const Interface* i) {
        std::vector<Pair> v;
        if (i)
            for (const auto& p : i->ports) v.emplace_back(p, i->name);
        return v;
    };
    auto parent = [](const std::string& name, const Interface* i) {
        return i && !i->parent.empty() ? std::vector<Pair>{{name, i->parent}} : std::vector<Pair>{};
    };
    for (const auto& [name, fl] : both(f_.interfaces, l_ ? &l_->interfaces : nullptr)) {
        const auto [fi, li] = fl;
        edges(ports(fi), ports(li),
              [&](const Pair& p, Mark m) { edge(iface_node(p.first), iface_node(p.second), "port", m); });
        edges(parent(name, fi), parent(name, li),
              [&](const Pair& p, Mark m) { edge(iface_node(p.first), iface_node(p.second), "parent", m); });
    }
    for (const auto& [name, fl] : both(f_.networks, l_ ? &l_->networks : nullptr)) {
        const auto [fn, ln] = fl;
        const std::string& net = name;  // a structured binding cannot be captured in C++20
        auto par = [&](const model::Network* n) {
            return n ? std::vector<Pair>{{net, n->parent}} : std::vector<Pair>{};
        };
        edges(par(fn), par(ln),
              [&](const Pair& p, Mark m) { edge(q("net:" + p.first), iface_node(p.second), "parent", m); });
        if (!shims_of(fn).empty() || !shims_of(ln).empty()) {
            const Mark m = shim_mark(fn, ln);
            edge(q("shim:" + name), q("net:" + name), "macvlan", m == Mark::Differs ? Mark::Plain : m);
        }
    }
}

void Drawer::containers() {
    for (const auto& [cname, fl] : both(f_.containers, l_ ? &l_->containers : nullptr)) {
        const auto [fc, lc] = fl;
        const model::Container& c = fc ? *fc : *lc;
        std::string label = cname + " (" + c.netns.str() + ")";
        // The namespace is the container's own: netlab neither makes nor removes it.
        if (l_ && !lc) label += "\nnamespace not found";
        out_ += "  subgraph " + q("cluster_ct:" + cname) + " {\n    label=" + q(label) + ";\n";
        static const std::map<std::string, model::ContainerInterface> none;
        const auto ifs = both(fc ? fc->interfaces : none, lc ? &lc->interfaces : nullptr);
        for (const auto& [iname, il] : ifs) {
            const auto [fi, li] = il;
            const model::ContainerInterface& ci = fi ? *fi : *li;
            bool differs = false;
            std::string head = iname;
            if (ci.gateway) {
                head += "\ngw " + ci.gateway->str();
                if (fi && li && li->gateway != fi->gateway)
                    head += " (live " + (li->gateway ? li->gateway->str() : std::string("none")) + ")", differs = true;
            }
            head += address_lines(ci.addresses, fi && li ? &li->addresses : nullptr, differs);
            Mark m = where(fi != nullptr, li != nullptr);
            if (differs) m = Mark::Differs;
            out_ += "    " + q("ct:" + cname + "/" + iname) + " [label=" + q(marked(head, m)) + ", shape=box" +
                    style(m, false) + "];\n";
        }
        out_ += "  }\n";
        for (const auto& [iname, il] : ifs) {
            const auto [fi, li] = il;
            const std::string id = cname + "/" + iname;
            auto net = [&](const model::ContainerInterface* i) {
                return i && i->network ? std::vector<Pair>{{id, *i->network}} : std::vector<Pair>{};
            };
            auto bridge = [&](const model::ContainerInterface* i) {
                return i && i->bridge ? std::vector<Pair>{{id, *i->bridge}} : std::vector<Pair>{};
            };
            edges(net(fi), net(li),
                  [&](const Pair& p, Mark m) { edge(q("ct:" + p.first), q("net:" + p.second), "macvlan", m); });
            edges(bridge(fi), bridge(li),
                  [&](const Pair& p, Mark m) { edge(q("ct:" + p.first), iface_node(p.second), "veth", m); });
        }
    }
}

void Drawer::routes() {
    auto draw = [&](const model::Route& r, Mark m) {
        const std::string gw = r.via ? r.via->str() : std::string("on-link");
        const std::string id = "gw:" + gw;
        if (declared_.insert(id).second)
            out_ += "  " + q(id) + " [label=" + q("gateway " + gw) + ", shape=diamond];\n";
        std::string from;
        if (r.dev.empty()) {
            if (declared_.insert("host").second) out_ += "  \"host\" [label=\"host (any device)\", shape=box];\n";
            from = "\"host\"";
        } else {
            from = iface_node(r.dev);
        }
        edge(from, q(id), "route " + r.to.str(), m, true);
    };
    std::vector<bool> matched(l_ ? l_->routes.size() : 0, false);
    for (const auto& r : f_.routes) {
        bool live = false;
        for (std::size_t k = 0; k < matched.size() && !live; ++k)
            if (!matched[k] && same_route(r, l_->routes[k])) matched[k] = live = true;
        draw(r, where(true, live));
    }
    for (std::size_t k = 0; k < matched.size(); ++k)
        if (!matched[k]) draw(l_->routes[k], Mark::LiveOnly);
}

std::string Drawer::draw(const std::vector<std::string>& notes) {
    out_ = "digraph netlab {\n  rankdir=LR;\n  node [fontname=\"sans-serif\", fontsize=10];\n"
           "  edge [fontname=\"sans-serif\", fontsize=9];\n";
    if (l_) {
        out_ += "  \"legend\" [shape=plaintext, label=" +
                q("netlabctl graph --live\ngreen, dashed: planned, only in the file\n"
                  "red, dashed: live only, not in the file\norange: in both, differs") +
                "];\n";
        for (const auto& n : notes) {
            std::string one = n;
            std::replace(one.begin(), one.end(), '\n', ' ');
            out_ += "  // live, not drawn: " + one + "\n";
        }
    }
    host_cluster();
    links();
    containers();
    routes();
    out_ += "}\n";
    return out_;
}

}  // namespace

std::string topology_dot(const model::Topology& t) { return Drawer(t, nullptr).draw({}); }

std::string live_dot(const model::Topology& file, const model::Topology& live, const std::vector<std::string>& notes) {
    return Drawer(file, &live).draw(notes);
}

}  // namespace netlab::cli
