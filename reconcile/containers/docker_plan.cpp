// The steps from what Docker holds to the published networks, their
// inverses, and how each one reads (docker CLI words) and is journaled.
// Pure.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "reconcile/containers/docker_network.hpp"

namespace netlab::reconcile::docker {

using nlohmann::json;
using model::IpAddress;
using model::Prefix;

namespace {

const char* op_name(Step::Op op) {
    switch (op) {
        case Step::Op::CreateNetwork: return "docker_create_network";
        case Step::Op::RemoveNetwork: return "docker_remove_network";
        case Step::Op::Connect: return "docker_connect";
        case Step::Op::Disconnect: return "docker_disconnect";
    }
    return "?";
}

json ip_json(const std::optional<IpAddress>& a) { return a ? json(a->str()) : json(nullptr); }
std::optional<IpAddress> ip_from(const json& j) {
    return j.is_string() ? IpAddress::parse(j.get<std::string>()) : std::nullopt;
}

json endpoint_json(const Endpoint& e) {
    json j{{"container", e.container}, {"ipv4", ip_json(e.v4)}, {"ipv6", ip_json(e.v6)}};
    if (!e.id.empty()) j["id"] = e.id;
    return j;
}
Endpoint endpoint_from(const json& j) {
    return Endpoint{j.value("container", ""), ip_from(j.value("ipv4", json())), ip_from(j.value("ipv6", json())),
                    j.value("id", "")};
}

// A network as Docker holds it, in the terms netlab would create it with:
// what removing it must be able to put back.
NetworkSpec spec_of(const SeenNetwork& s) {
    NetworkSpec n;
    n.name = s.name;
    n.id = s.id;
    auto get = [](const std::map<std::string, std::string>& m, const char* k) {
        auto it = m.find(k);
        return it == m.end() ? std::string() : it->second;
    };
    n.network = get(s.labels, kTopologyLabel);
    n.parent = get(s.options, "parent");
    n.mode = get(s.options, "macvlan_mode");
    n.pools = s.pools;
    return n;
}

bool same_pools(const std::vector<Pool>& want, const std::vector<Pool>& have) {
    if (want.size() != have.size()) return false;
    for (const auto& w : want) {
        auto h = std::find_if(have.begin(), have.end(), [&](const Pool& p) { return p.subnet == w.subnet; });
        if (h == have.end() || h->reserved != w.reserved) return false;
        // Docker picks a gateway itself when none is given.
        if (w.gateway && h->gateway != w.gateway) return false;
    }
    return true;
}

bool same_network(const NetworkSpec& want, const SeenNetwork& have) {
    auto opt = [&](const char* k) {
        auto it = have.options.find(k);
        return it == have.options.end() ? std::string() : it->second;
    };
    return have.driver == "macvlan" && opt("parent") == want.parent &&
           (opt("macvlan_mode").empty() ? want.mode == "bridge" : opt("macvlan_mode") == want.mode) &&
           have.ipv6 == want.ipv6() && same_pools(want.pools, have.pools);
}

std::string names(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
    return s;
}

}  // namespace

std::string Step::describe() const {
    switch (op) {
        case Op::CreateNetwork: {
            std::string s = "docker network create -d macvlan";
            for (const auto& p : network.pools) {
                s += " --subnet=" + p.subnet.str();
                if (p.gateway) s += " --gateway=" + p.gateway->str();
                for (const auto& [k, a] : p.reserved) s += " --aux-address=" + k + "=" + a.str();
            }
            if (network.ipv6()) s += " --ipv6";
            s += " -o parent=" + network.parent + " -o macvlan_mode=" + network.mode;
            return s + " --label " + kOwnerLabel + "=" + kOwnerValue + " " + network.name;
        }
        case Op::RemoveNetwork: return "docker network rm " + network.name;
        case Op::Connect: {
            std::string s = "docker network connect";
            if (endpoint.v4) s += " --ip=" + endpoint.v4->str();
            if (endpoint.v6) s += " --ip6=" + endpoint.v6->str();
            return s + " " + network.name + " " + endpoint.container;
        }
        case Op::Disconnect: return "docker network disconnect " + network.name + " " + endpoint.container;
    }
    return "?";
}

json Step::to_json() const {
    json pools = json::array();
    for (const auto& p : network.pools) {
        json r = json::object();
        for (const auto& [k, a] : p.reserved) r[k] = a.str();
        pools.push_back(json{{"subnet", p.subnet.str()}, {"gateway", ip_json(p.gateway)}, {"reserved", r}});
    }
    json j{{"op", op_name(op)},
           {"network", {{"name", network.name}, {"network", network.network}, {"parent", network.parent},
                        {"mode", network.mode}, {"pools", pools}}}};
    if (!network.id.empty()) j["network"]["id"] = network.id;
    if (op == Op::Connect || op == Op::Disconnect) j["endpoint"] = endpoint_json(endpoint);
    return j;
}

std::optional<Step> Step::from_json(const json& j) {
    if (!j.is_object() || !j.contains("network") || !j["network"].is_object()) return std::nullopt;
    Step s;
    const std::string op = j.value("op", "");
    bool known = false;
    for (auto o : {Op::CreateNetwork, Op::RemoveNetwork, Op::Connect, Op::Disconnect})
        if (op == op_name(o)) s.op = o, known = true;
    if (!known) return std::nullopt;
    const json& n = j["network"];
    s.network.name = n.value("name", "");
    s.network.network = n.value("network", "");
    s.network.parent = n.value("parent", "");
    s.network.mode = n.value("mode", "");
    s.network.id = n.value("id", "");
    if (auto ps = n.find("pools"); ps != n.end() && ps->is_array())
        for (const auto& p : *ps) {
            auto sub = Prefix::parse(p.value("subnet", ""));
            if (!sub) return std::nullopt;
            Pool pool{*sub, ip_from(p.value("gateway", json())), {}};
            if (auto r = p.find("reserved"); r != p.end() && r->is_object())
                for (const auto& [k, v] : r->items())
                    if (auto a = ip_from(v)) pool.reserved.emplace(k, *a);
            s.network.pools.push_back(std::move(pool));
        }
    if (auto e = j.find("endpoint"); e != j.end() && e->is_object()) s.endpoint = endpoint_from(*e);
    if (s.network.name.empty()) return std::nullopt;
    return s;
}

Step Step::inverse() const {
    Step s = *this;
    switch (op) {
        case Op::CreateNetwork: s.op = Op::RemoveNetwork; break;
        case Op::RemoveNetwork: s.op = Op::CreateNetwork; break;
        case Op::Connect: s.op = Op::Disconnect; break;
        case Op::Disconnect: s.op = Op::Connect; break;
    }
    return s;
}

std::vector<Step> undo(const std::vector<Step>& forward, const Seen& now, const std::vector<Step>& earlier) {
    // Docker's state as the undo steps change it, so an undone removal's
    // re-created network is seen by the reconnects that follow it. A
    // network is known by name and by the ID the steps address: a step on
    // an ID that is not the one of that name now acted on another network.
    struct Net {
        std::string id;
        std::map<std::string, std::string> members;  // container ID -> name
        bool ours = false;
    };
    std::map<std::string, Net> on;  // by name
    for (const auto& n : now) {
        Net& net = on[n.name];
        net.id = n.id;
        net.ours = n.ours();
        for (const auto& [id, e] : n.containers) net.members[id] = e.container;
    }
    // By ID; by name for an endpoint that has none (a journal that does not record IDs).
    auto member = [](Net& n, const Endpoint& e) {
        return std::find_if(n.members.begin(), n.members.end(), [&](const auto& m) {
            return e.id.empty() ? m.second == e.container : m.first == e.id;
        });
    };
    // A re-creation removes the network by its ID before it creates the new
    // one: while Docker still shows that ID, the creation never happened.
    std::map<std::string, std::string> removes;  // name -> ID this plan removes
    for (const auto* steps : {&earlier, &forward})
        for (const auto& s : *steps)
            if (s.op == Step::Op::RemoveNetwork && !s.network.id.empty()) removes[s.network.name] = s.network.id;
    auto still_removed_one = [&](const std::string& name, const std::string& id) {
        auto r = removes.find(name);
        return r != removes.end() && r->second == id;
    };
    std::vector<Step> back;
    for (auto it = forward.rbegin(); it != forward.rend(); ++it) {
        Step s = *it;
        const std::string& name = s.network.name;
        auto found = on.find(name);
        const bool named = found != on.end();
        // A network this plan created has no ID in the journal: any of that
        // name is it, unless it is the one the plan removes first.
        const bool same = named && (s.network.id.empty() ? !still_removed_one(name, found->second.id)
                                                         : s.network.id == found->second.id);
        const std::string seen_id = named ? found->second.id : std::string();
        bool undone = false;
        switch (s.op) {
            case Step::Op::Connect:
                if (same)
                    if (auto m = member(found->second, s.endpoint); (undone = m != found->second.members.end()))
                        found->second.members.erase(m);
                break;
            case Step::Op::Disconnect:
                if ((undone = same && member(found->second, s.endpoint) == found->second.members.end()))
                    found->second.members[s.endpoint.ref()] = s.endpoint.container;
                break;
            case Step::Op::CreateNetwork:
                // Only a network that is netlab's, and empty by now: what
                // netlab connected to it was disconnected above.
                if ((undone = same && found->second.ours && found->second.members.empty())) on.erase(found);
                break;
            case Step::Op::RemoveNetwork:
                // Re-created under the old ID's name; docker::Runner maps
                // the old ID to the new one for the reconnects after it.
                if ((undone = !named)) on[name] = Net{s.network.id, {}, true};
                break;
        }
        if (!undone) continue;
        if (s.network.id.empty() && s.op != Step::Op::RemoveNetwork) s.network.id = seen_id;
        back.push_back(s.inverse());
    }
    return back;
}

std::vector<Step> undo_done(const std::vector<Step>& done) {
    std::vector<Step> back;
    for (auto it = done.rbegin(); it != done.rend(); ++it) back.push_back(it->inverse());
    return back;
}

Connected connected_by(const std::vector<NetworkSpec>& desired, const Connected& before,
                       const std::vector<LeftOut>& left) {
    Connected c;
    for (const auto& n : desired) {
        auto& on = c[n.name];
        for (const auto& e : n.endpoints) on.insert(e.ref());
    }
    for (const auto& l : left) {
        auto was = before.find(l.network);
        if (was == before.end() || !c.count(l.network)) continue;
        for (const auto& k : {l.id, l.ref})
            if (!k.empty() && was->second.count(k)) c[l.network].insert(k);
    }
    return c;
}

Plan plan(const std::vector<NetworkSpec>& desired, const Seen& seen, const Connected& connected) {
    Plan out;
    std::vector<Step> down, up;
    auto refuse = [&](std::string msg, std::string hint) {
        out.refusals.push_back(model::Diagnostic{model::Severity::Error, {}, std::move(msg), std::move(hint)});
    };
    // A ledger names containers by ID, or by name where it records no ID.
    auto was_ours = [&](const std::string& net, const Endpoint& e) {
        auto it = connected.find(net);
        return it != connected.end() && (it->second.count(e.ref()) != 0 || it->second.count(e.container) != 0);
    };
    // Docker lists a network's containers by ID; an endpoint not bound to
    // an ID (no container list) matches by name.
    auto same_container = [](const Endpoint& want, const Endpoint& have) {
        return want.id.empty() ? want.container == have.container : want.id == have.id;
    };
    auto find_seen = [&](const std::string& name) -> const SeenNetwork* {
        for (const auto& s : seen)
            if (s.name == name) return &s;
        return nullptr;
    };
    // Everything on `s` but netlab's own earlier connects: foreign.
    auto foreign_on = [&](const SeenNetwork& s) {
        std::vector<std::string> f;
        for (const auto& [_, e] : s.containers)
            if (!was_ours(s.name, e)) f.push_back(e.container);
        std::sort(f.begin(), f.end());
        return f;
    };
    auto take_down = [&](const SeenNetwork& s) {
        const NetworkSpec spec = spec_of(s);
        for (const auto& [_, e] : s.containers) down.push_back(Step{Step::Op::Disconnect, spec, e});
        down.push_back(Step{Step::Op::RemoveNetwork, spec, {}});
    };

    for (const auto& d : desired) {
        const SeenNetwork* s = find_seen(d.name);
        if (s && !s->ours()) {
            refuse("Docker network '" + d.name + "' exists and is not netlab's (no label " + kOwnerLabel + "=" +
                       kOwnerValue + ")",
                   "remove it (docker network rm " + d.name + ") or publish network '" + d.network +
                       "' under another name (docker: NAME)");
            continue;
        }
        for (const auto& o : seen) {
            if (o.name == d.name) continue;
            for (const auto& p : d.pools)
                for (const auto& q : o.pools)
                    if (p.subnet.overlaps(q.subnet))
                        refuse("subnet " + p.subnet.str() + " of network '" + d.network + "' overlaps subnet " +
                                   q.subnet.str() + " of Docker network '" + o.name + "'",
                               "Docker refuses overlapping pools: pick another subnet or remove '" + o.name + "'");
        }
        std::vector<Endpoint> to_connect;
        if (s && !same_network(d, *s)) {
            // Docker cannot change a network in place: it is re-created,
            // which only netlab's own connects may stand in the way of.
            if (auto f = foreign_on(*s); !f.empty()) {
                refuse("Docker network '" + d.name + "' must be re-created to match network '" + d.network +
                           "', but containers netlab did not connect use it: " + names(f),
                       "disconnect or stop them first (docker network disconnect " + d.name + " NAME)");
                continue;
            }
            take_down(*s);
            s = nullptr;
        }
        // The network the steps act on: the one Docker holds (by its ID),
        // or the one created below (its ID is known once Docker answers).
        NetworkSpec on = d;
        on.id = s ? s->id : std::string();
        if (!s) {
            up.push_back(Step{Step::Op::CreateNetwork, on, {}});
            to_connect = d.endpoints;
        } else {
            for (const auto& e : d.endpoints) {
                const Endpoint* have = nullptr;
                for (const auto& [_, c] : s->containers)
                    if (same_container(e, c)) have = &c;
                // An address the topology leaves to Docker is Docker's to pick.
                if (have && (!e.v4 || have->v4 == e.v4) && (!e.v6 || have->v6 == e.v6)) continue;
                if (have) down.push_back(Step{Step::Op::Disconnect, on, *have});
                to_connect.push_back(e);
            }
            for (const auto& [_, c] : s->containers) {
                const Endpoint& have = c;  // clang 14 cannot capture a structured binding
                bool wanted = std::any_of(d.endpoints.begin(), d.endpoints.end(),
                                          [&](const Endpoint& e) { return same_container(e, have); });
                if (!wanted && was_ours(d.name, c)) down.push_back(Step{Step::Op::Disconnect, on, c});
            }
        }
        for (const auto& e : to_connect) {
            if (s)
                for (const auto& [_, c] : s->containers)
                    if (!same_container(e, c) && ((e.v4 && c.v4 == e.v4) || (e.v6 && c.v6 == e.v6)))
                        refuse("address " + (e.v4 && c.v4 == e.v4 ? e.v4 : e.v6)->str() + " of container '" +
                                   e.container + "' is held by container '" + c.container + "' on Docker network '" +
                                   d.name + "'",
                               "give one of them another address");
            up.push_back(Step{Step::Op::Connect, on, e});
        }
    }
    for (const auto& s : seen) {
        if (!s.ours()) continue;
        if (std::any_of(desired.begin(), desired.end(), [&](const NetworkSpec& d) { return d.name == s.name; })) continue;
        if (auto f = foreign_on(s); !f.empty()) {
            refuse("Docker network '" + s.name + "' is no longer in the topology, but containers netlab did not " +
                       "connect still use it: " + names(f),
                   "disconnect or stop them first (docker network disconnect " + s.name + " NAME)");
            continue;
        }
        take_down(s);
    }
    out.steps = std::move(down);
    out.steps.insert(out.steps.end(), up.begin(), up.end());
    return out;
}

}  // namespace netlab::reconcile::docker
