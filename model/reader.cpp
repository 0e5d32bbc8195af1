// The YAML reader: one file's text -> Topology + SourceMap. It checks shape
// only — syntax, keys, types and the syntax of each value; what the values
// mean together is validate.cpp's job, combining files is merge.cpp's.
#include "model/reader.hpp"

#include <set>

#include "model/duration.hpp"
#include "model/guard.hpp"
#include "model/reader_confirm.hpp"
#include "model/yaml_walk.hpp"

namespace netlab::model {

namespace {

// The topology's sections, each read in the terms of YamlWalk.
class Reader : public YamlWalk {
public:
    Reader(const std::string& file, Loaded& out, std::size_t routeBase) : YamlWalk(file, out), routeBase_(routeBase) {}

    void document(const YAML::Node& root);

private:
    void interface(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl);
    std::optional<Route> route(const YAML::Node& n, const Location& at, const std::string& path, bool inContainer);
    void network(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl);
    void docker_network(Network& net, const YAML::Node& v, const Location& at, const std::string& what);
    void container(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl);
    void container_interface(ContainerInterface& ci, const YAML::Node& n, const std::string& path, const Location& kl);
    // One entry of an address list: `ADDR/LEN`, or a map with `address:` and
    // `broadcast:` (an IPv4 address, or `none`).
    std::optional<Prefix> address_entry(const YAML::Node& e, const Location& el, const std::string& path,
                                        const std::string& what, std::map<Prefix, std::optional<IpAddress>>& broadcasts);

    std::size_t routeBase_;
};

void Reader::document(const YAML::Node& root) {
    Location top{file_, 1, 1};
    if (!root.IsMap()) {
        error(loc(root).line ? loc(root) : top, "the topology must be a map with `version: 1` at the top, not " + kind_of(root),
              "start the file with `version: 1`");
        return;
    }
    bool sawVersion = false;
    Topology& t = out_.topology;
    fields(root, "", {"version", "interfaces", "routes", "networks", "containers", "drift", "commit_confirmed", "probes",
                      "announce"},
           [&](const std::string& key, const YAML::Node& v, const std::string& path) {
               Location at = out_.sources.at(path);
               if (key == "version") {
                   sawVersion = true;
                   auto s = scalar(v, at, "version");
                   if (s && *s != "1")
                       error(at, "unsupported version " + quote(*s) + ": this netlab reads version 1",
                             "write `version: 1`");
               } else if (key == "interfaces") {
                   if (!expect_map(v, at, "interfaces", true)) return;
                   named_entries(v, path, "interface", [&](const std::string& name, const YAML::Node& e,
                                                           const std::string& p, const Location& kl) {
                       interface(name, e, p, kl);
                   });
               } else if (key == "routes") {
                   list(
                       v, at, path,
                       [&](const YAML::Node& e, const Location& el, const std::string& p) {
                           if (auto r = route(e, el, p, false)) t.routes.push_back(*r);
                           else t.routes.push_back(Route{});  // keeps indices aligned with the source paths
                       },
                       routeBase_);
               } else if (key == "networks") {
                   if (!expect_map(v, at, "networks", true)) return;
                   named_entries(v, path, "network", [&](const std::string& name, const YAML::Node& e,
                                                         const std::string& p, const Location& kl) {
                       network(name, e, p, kl);
                   });
               } else if (key == "containers") {
                   if (!expect_map(v, at, "containers", true)) return;
                   named_entries(v, path, "container", [&](const std::string& name, const YAML::Node& e,
                                                           const std::string& p, const Location& kl) {
                       container(name, e, p, kl);
                   });
               } else if (key == "drift") {
                   auto s = scalar(v, at, "drift");
                   if (!s) return;
                   if (*s == "repair") t.drift = DriftPolicy::Repair;
                   else if (*s == "report") t.drift = DriftPolicy::Report;
                   else error(at, "drift must be 'repair' or 'report', not " + quote(*s));
               } else if (key == "commit_confirmed") {
                   ConfirmReader(file_, out_).commit_confirmed(v, at, path);
               } else if (key == "probes") {
                   ConfirmReader(file_, out_).probes(v, at, path);
               } else if (key == "announce") {
                   if (auto b = boolean(v, at, "announce")) t.announce = *b;
               }
           });
    if (!sawVersion && !stopped_)
        error(loc(root), "missing `version: 1`", "every topology file starts with `version: 1`");
}

void Reader::interface(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl) {
    Interface itf;
    itf.name = name;
    if (!expect_map(n, kl, "interface " + quote(name), true)) {
        if (n.IsNull()) out_.topology.interfaces[name] = itf;
        return;
    }
    // kind first: which other keys are allowed depends on it
    std::optional<std::string> kind;
    for (const auto& kv : n)
        if (kv.first.IsScalar() && kv.first.Scalar() == "kind" && kv.second.IsScalar()) kind = kv.second.Scalar();
    std::vector<std::string> allowed{"kind", "up", "promisc", "mtu", "mac", "addresses"};
    if (kind == "bridge") allowed.insert(allowed.end(), {"ports", "stp"});
    if (kind == "macvlan") allowed.insert(allowed.end(), {"parent", "mode"});
    bool sawParent = false;
    fields(n, path, allowed, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
        Location at = out_.sources.at(p);
        std::string what = name + ": " + key;
        if (key == "kind") {
            auto s = scalar(v, at, what);
            if (!s) return;
            if (*s == "bridge") itf.kind = InterfaceKind::Bridge;
            else if (*s == "macvlan") itf.kind = InterfaceKind::Macvlan;
            else
                error(at, "unknown interface kind " + quote(*s),
                      "netlab creates kind: bridge or kind: macvlan; leave kind out to adopt an existing NIC");
        } else if (key == "up") {
            itf.up = boolean(v, at, what);
        } else if (key == "promisc") {
            itf.promisc = boolean(v, at, what);
        } else if (key == "stp") {
            itf.stp = boolean(v, at, what);
        } else if (key == "mtu") {
            itf.mtu = number(v, at, what, 68, 65535);
        } else if (key == "mac") {
            auto s = word(v, at, what);
            if (!s) return;
            // An interface name cannot contain ':' or '-'-separated hex pairs
            // of MAC length, so anything MAC-shaped is meant as a MAC.
            if (s->find(':') != std::string::npos || (s->size() == 17 && s->find('-') != std::string::npos))
                itf.mac = mac(*s, at, what);
            else
                itf.mac_from = *s;
        } else if (key == "addresses") {
            std::vector<Prefix> addrs;
            list(v, at, p, [&](const YAML::Node& e, const Location& el, const std::string& ep) {
                if (auto a = address_entry(e, el, ep, what, itf.broadcasts)) addrs.push_back(*a);
            });
            itf.addresses = addrs;
        } else if (key == "ports") {
            list(v, at, p, [&](const YAML::Node& e, const Location& el, const std::string&) {
                if (auto s = word(e, el, name + ": port")) itf.ports.push_back(*s);
            });
        } else if (key == "parent") {
            sawParent = true;
            if (auto s = word(v, at, what)) itf.parent = *s;
        } else if (key == "mode") {
            auto s = scalar(v, at, what);
            if (!s) return;
            if (auto m = parse_macvlan_mode(*s)) itf.mode = *m;
            else error(at, "unknown macvlan mode " + quote(*s), "use bridge, private, vepa or passthru");
        }
    }, {{"ports", "is only for `kind: bridge`"}, {"stp", "is only for `kind: bridge`"},
        {"parent", "is only for `kind: macvlan`"}, {"mode", "is only for `kind: macvlan`"}});
    if (itf.kind == InterfaceKind::Macvlan && !sawParent)
        error(kl, "macvlan interface " + quote(name) + " has no parent", "add `parent: NIC` (the link it sits on)");
    out_.topology.interfaces[name] = itf;
}

std::optional<Route> Reader::route(const YAML::Node& n, const Location& at, const std::string& path, bool inContainer) {
    if (!expect_map(n, at, "a route", false)) return std::nullopt;
    Route r;
    bool ok = true, sawTo = false, isDefault = false;
    std::optional<Prefix> to;
    std::vector<std::string> allowed{"to", "via", "metric", "on_link"};
    if (!inContainer) allowed.push_back("dev");
    fields(n, path, allowed, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
        Location l = out_.sources.at(p);
        if (key == "to") {
            sawTo = true;
            auto s = scalar(v, l, "route to");
            if (!s) return void(ok = false);
            if (*s == "default") isDefault = true;
            else if (!(to = network_prefix(v, l, "route destination"))) ok = false;
        } else if (key == "via") {
            if (!(r.via = ip(v, l, "route via"))) ok = false;
        } else if (key == "dev") {
            if (auto s = word(v, l, "route dev")) r.dev = *s;
            else ok = false;
        } else if (key == "metric") {
            if (!(r.metric = number(v, l, "route metric", 0, 4294967295u))) ok = false;
        } else if (key == "on_link") {
            if (auto b = boolean(v, l, "route on_link")) r.on_link = *b;
            else ok = false;
        }
    });
    if (!sawTo) {
        error(at, "route has no `to`", "write `to: default` or `to: 203.0.113.0/24`");
        return std::nullopt;
    }
    if (!ok) return std::nullopt;
    if (isDefault) r.to = Prefix::default_route(r.via ? r.via->family : 4);
    else r.to = *to;
    if (r.via && r.via->family != r.to.addr.family) {
        error(out_.sources.at(path + ".via"),
              "route to " + (isDefault ? std::string("default") : r.to.str()) + " is IPv" + std::to_string(r.to.addr.family) +
                  " but its via " + r.via->str() + " is IPv" + std::to_string(r.via->family),
              "use a gateway of the same family");
        return std::nullopt;
    }
    if (r.on_link && !r.via) {
        error(out_.sources.at(path + ".on_link"), "on_link on a route without `via`",
              "on_link says the gateway is on the link: write the gateway as `via:`, or leave on_link out");
        return std::nullopt;
    }
    if (!inContainer && r.on_link && r.dev.empty()) {
        error(out_.sources.at(path + ".on_link"), "on_link on a route without `dev`",
              "an on-link gateway is reached on one link: name it with `dev:`");
        return std::nullopt;
    }
    if (!inContainer && !r.via && r.dev.empty()) {
        error(at, "route needs `via`, `dev` or both", "e.g. `via: 198.51.100.1` or `dev: br0`");
        return std::nullopt;
    }
    return r;
}

std::optional<Prefix> Reader::address_entry(const YAML::Node& e, const Location& el, const std::string& path,
                                            const std::string& what,
                                            std::map<Prefix, std::optional<IpAddress>>& broadcasts) {
    if (!e.IsMap()) return prefix(e, el, what, false);
    std::optional<Prefix> addr;
    std::optional<std::optional<IpAddress>> brd;
    std::optional<Location> brdAt;
    bool ok = true;
    fields(e, path, {"address", "broadcast"}, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
        Location at = out_.sources.at(p);
        if (key == "address") {
            if (!(addr = prefix(v, at, what, false))) ok = false;
        } else if (key == "broadcast") {
            brdAt = at;
            auto s = scalar(v, at, what + " broadcast");
            if (!s) return void(ok = false);
            if (*s == "none") {
                brd.emplace(std::nullopt);
            } else if (auto ip = IpAddress::parse(*s); ip && ip->is_v4()) {
                brd.emplace(*ip);
            } else {
                ok = false;
                error(at, "broadcast " + quote(*s) + " is not an IPv4 address",
                      "write an IPv4 address such as 198.51.100.255, or `none` for no broadcast address");
            }
        }
    });
    if (!ok) return std::nullopt;
    if (!addr) {
        error(el, "address entry has no `address`", "write `- address: 198.51.100.7/24` with its `broadcast:`");
        return std::nullopt;
    }
    if (brd) {
        if (!addr->addr.is_v4() && *brd) {
            error(*brdAt, "broadcast on IPv6 address " + addr->str(), "IPv6 has no broadcast address: leave it out");
            return std::nullopt;
        }
        broadcasts[*addr] = *brd;
    }
    return addr;
}

void Reader::network(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl) {
    Network net;
    net.name = name;
    if (!expect_map(n, kl, "network " + quote(name), false)) return;
    bool sawParent = false;
    fields(n, path, {"driver", "parent", "mode", "subnet", "gateway", "host_access", "docker"},
           [&](const std::string& key, const YAML::Node& v, const std::string& p) {
               Location at = out_.sources.at(p);
               std::string what = name + ": " + key;
               if (key == "driver") {
                   auto s = scalar(v, at, what);
                   if (s && *s != "macvlan")
                       error(at, "unsupported network driver " + quote(*s), "netlab networks use `driver: macvlan`");
               } else if (key == "parent") {
                   sawParent = true;
                   if (auto s = word(v, at, what)) net.parent = *s;
               } else if (key == "mode") {
                   auto s = scalar(v, at, what);
                   if (!s) return;
                   if (auto m = parse_macvlan_mode(*s)) net.mode = *m;
                   else error(at, "unknown macvlan mode " + quote(*s), "use bridge, private, vepa or passthru");
               } else if (key == "subnet") {
                   net.subnets = scalar_or_list<Prefix>(v, at, p, [&](const YAML::Node& e, const Location& el) {
                       return network_prefix(e, el, "subnet");
                   });
               } else if (key == "gateway") {
                   net.gateways = scalar_or_list<IpAddress>(v, at, p, [&](const YAML::Node& e, const Location& el) {
                       return ip(e, el, "gateway");
                   });
               } else if (key == "host_access") {
                   net.host_access = scalar_or_list<Prefix>(v, at, p, [&](const YAML::Node& e, const Location& el) {
                       return prefix(e, el, "host_access", true);
                   });
               } else if (key == "docker") {
                   docker_network(net, v, at, what);
               }
           });
    if (!sawParent) error(kl, "network " + quote(name) + " has no parent", "add `parent: NIC` (e.g. ens33)");
    out_.topology.networks[name] = net;
}

// `docker: true` publishes the network under its own name, `docker: NAME`
// under another, `docker: false` (the default) keeps it netlab's alone.
void Reader::docker_network(Network& net, const YAML::Node& v, const Location& at, const std::string& what) {
    auto s = scalar(v, at, what);
    if (!s) return;
    static const std::set<std::string> yes{"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const std::set<std::string> no{"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    if (no.count(*s)) return;
    const std::string name = yes.count(*s) ? net.name : *s;
    if (!valid_docker_network_name(name))
        error(at, "Docker network name " + quote(name) + " is not one Docker accepts",
              "use letters, digits, '_', '.' and '-', starting with a letter or digit (or `docker: NAME`)");
    else net.docker = name;
}

void Reader::container(const std::string& name, const YAML::Node& n, const std::string& path, const Location& kl) {
    Container c;
    c.name = name;
    if (!expect_map(n, kl, "container " + quote(name), false)) return;
    bool sawNetns = false;
    fields(n, path, {"netns", "interfaces"}, [&](const std::string& key, const YAML::Node& v, const std::string& p) {
        Location at = out_.sources.at(p);
        if (key == "netns") {
            sawNetns = true;
            auto s = scalar(v, at, name + ": netns");
            if (!s) return;
            if (auto t = NetnsTarget::parse(*s)) c.netns = *t;
            else
                error(at, "netns " + quote(*s) + " is not a namespace target",
                      "write docker:NAME, netns:NAME, pid:N or path:/proc/N/ns/net");
        } else if (key == "interfaces") {
            if (!expect_map(v, at, name + ": interfaces", true)) return;
            named_entries(v, p, "interface", [&](const std::string& ifname, const YAML::Node& e,
                                                 const std::string& ip_, const Location& ikl) {
                ContainerInterface ci;
                ci.name = ifname;
                container_interface(ci, e, ip_, ikl);
                c.interfaces[ifname] = ci;
            });
        }
    });
    if (!sawNetns)
        error(kl, "container " + quote(name) + " has no netns",
              "add e.g. `netns: docker:" + name + "` (or netns:NAME, pid:N, path:P)");
    out_.topology.containers[name] = c;
}

void Reader::container_interface(ContainerInterface& ci, const YAML::Node& n, const std::string& path,
                                 const Location& kl) {
    if (!expect_map(n, kl, "interface " + quote(ci.name), false)) return;
    std::optional<Location> addressAt, addressesAt, gatewayAt, atGw;
    fields(n, path,
           {"network", "bridge", "address", "addresses", "mac", "mtu", "gateway", "on_link", "default_route", "routes"},
           [&](const std::string& key, const YAML::Node& v, const std::string& p) {
               Location at = out_.sources.at(p);
               std::string what = ci.name + ": " + key;
               if (key == "network") {
                   ci.network = word(v, at, what);
               } else if (key == "bridge") {
                   ci.bridge = word(v, at, what);
               } else if (key == "address") {
                   addressAt = at;
                   auto s = scalar(v, at, what);
                   if (!s) return;
                   record(path + ".addresses[0]", at);
                   std::string text = *s;
                   // pipework's ADDR/LEN@GW: the gateway replaces the default route
                   if (auto atPos = text.find('@'); atPos != std::string::npos) {
                       std::string gw = text.substr(atPos + 1);
                       text.resize(atPos);
                       auto g = IpAddress::parse(gw);
                       if (!g) error(at, "gateway " + quote(gw) + " after '@' is not an IP address",
                                     "pipework form: 198.51.100.11/24@198.51.100.1");
                       else {
                           ci.gateway = g;
                           atGw = at;
                           record(path + ".gateway", at);
                       }
                   }
                   if (auto a = prefix_text(text, at, "address", false)) ci.addresses.push_back(*a);
               } else if (key == "addresses") {
                   addressesAt = at;
                   list(v, at, p, [&](const YAML::Node& e, const Location& el, const std::string& ep) {
                       if (auto a = address_entry(e, el, ep, "address", ci.broadcasts)) ci.addresses.push_back(*a);
                   });
               } else if (key == "mac") {
                   auto s = scalar(v, at, what);
                   if (s) ci.mac = mac(*s, at, what);
               } else if (key == "mtu") {
                   ci.mtu = number(v, at, what, 68, 65535);
               } else if (key == "gateway") {
                   gatewayAt = at;
                   if (auto g = ip(v, at, what)) ci.gateway = g;
               } else if (key == "on_link") {
                   if (auto b = boolean(v, at, what)) ci.gateway_on_link = *b;
               } else if (key == "default_route") {
                   if (auto b = boolean(v, at, what)) ci.default_route = *b;
               } else if (key == "routes") {
                   list(v, at, p, [&](const YAML::Node& e, const Location& el, const std::string& rp) {
                       if (auto r = route(e, el, rp, true)) {
                           r->dev = ci.name;
                           ci.routes.push_back(*r);
                       } else
                           ci.routes.push_back(Route{});  // keep indices aligned with the source paths
                   });
               }
           });
    if (addressAt && addressesAt)
        error(*addressesAt, "interface " + quote(ci.name) + " has both `address` and `addresses`",
              "use `address` for one address or `addresses` for a list, not both");
    if (atGw && gatewayAt) {
        error(*gatewayAt, "interface " + quote(ci.name) + " has a gateway twice: in `address` after '@' and in `gateway`",
              "keep one of them");
        record(path + ".gateway", *gatewayAt);
    }
    if (ci.network && ci.bridge)
        error(kl, "interface " + quote(ci.name) + " has both `network` and `bridge`",
              "attach it to a macvlan network or to a bridge, not both");
    else if (!ci.network && !ci.bridge && !n.IsNull())
        error(kl, "interface " + quote(ci.name) + " is attached to nothing",
              "add `network: NAME` (macvlan) or `bridge: NAME` (veth pair)");
}

}  // namespace

void read_document(std::string_view text, const std::string& file, std::size_t routeBase, Loaded& out, bool dropIn) {
    out.sources.set("", Location{file, 0, 0});
    if (!admit_text(text, file, out.diagnostics)) return;
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        Location l{file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0};
        std::string hint = "check the indentation and the quoting around this place";
        if (int tabLine = first_tab_indent(text); tabLine > 0 && (l.line == 0 || tabLine <= l.line))
            hint = "line " + std::to_string(tabLine) + " is indented with a tab; YAML indents with spaces only";
        out.diagnostics.push_back({Severity::Error, l, "YAML syntax error: " + e.msg, hint});
        return;
    }
    if (root.IsNull()) {
        if (dropIn)
            out.diagnostics.push_back({Severity::Warning, {file, 0, 0}, "empty drop-in file: ignored",
                                       "delete it, or give it `version: 1` and content"});
        else
            out.diagnostics.push_back({Severity::Error, {file, 0, 0}, "empty file: expected `version: 1`",
                                       "start the topology with `version: 1`"});
        return;
    }
    try {
        Reader(file, out, routeBase).document(root);
    } catch (const std::exception& e) {  // yaml-cpp's own, or out of memory: never escape as a crash
        out.diagnostics.push_back({Severity::Error, {file, 0, 0}, std::string("cannot read the document: ") + e.what(),
                                   "report this file to the netlab developers"});
    }
}

}  // namespace netlab::model
