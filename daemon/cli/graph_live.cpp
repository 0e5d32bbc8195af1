// netlabctl graph [--live]: load the topology and print it as DOT; with
// --live, observe the namespace netlabctl runs in and the containers the file
// names, turn that into topology terms (live_view, pure) and draw both with
// the differences marked (graph.cpp). Reads only; changes nothing.
#include <cstdio>
#include <variant>

#include "cli/cli.hpp"
#include "cli/graph.hpp"
#include "model/load.hpp"
#include "reconcile/plan/compile.hpp"
#include "reconcile/plan/desired.hpp"
#include "reconcile/nl/kernel.hpp"
#include "reconcile/containers/target.hpp"

namespace netlab::cli {

namespace {

std::vector<model::Prefix> addresses_of(const model::NetnsState& s, const std::string& dev) {
    std::vector<model::Prefix> out;
    for (const auto& a : s.addresses)
        if (a.dev == dev && !a.prefix.addr.is_link_local_v6()) out.push_back(a.prefix);
    return out;
}

}  // namespace

LiveView live_view(const model::Topology& file, const model::NetnsState& host,
                   const std::vector<reconcile::ShownContainer>& containers) {
    reconcile::Shown shown = reconcile::show(host, containers);
    LiveView v{std::move(shown.topology), std::move(shown.notes)};
    for (const auto& [name, n] : file.networks) {
        model::Network live = n;  // subnets, gateways, driver: the file's
        live.host_access.clear();
        bool seen = false;
        if (auto it = host.links.find(reconcile::shim_name(name)); it != host.links.end() && it->second.owned()) {
            seen = true;
            live.parent = it->second.parent;
            const auto addrs = addresses_of(host, it->first);
            live.host_access.assign(addrs.begin(), addrs.end());
        }
        for (const auto& c : containers) {
            auto fc = file.containers.find(c.name);
            if (fc == file.containers.end()) continue;
            for (const auto& [iname, fi] : fc->second.interfaces) {
                if (fi.network != name) continue;
                auto l = c.state.links.find(iname);
                if (l == c.state.links.end() || !l->second.owned() || l->second.kind != "macvlan") continue;
                seen = true;
                model::ContainerInterface ci;
                ci.name = iname;
                ci.network = name;
                ci.addresses = addresses_of(c.state, iname);
                for (const auto& r : c.state.routes)
                    if (r.owned() && r.dev == iname && r.dst.is_default() && r.via) ci.gateway = r.via;
                v.topology.containers[c.name].interfaces[iname] = ci;
            }
        }
        if (seen) v.topology.networks[name] = live;
    }
    return v;
}

int graph(const LocalOptions& o) {
    model::Loaded loaded = model::load_config(o.path);
    bool errors = false;
    for (const auto& d : loaded.diagnostics) {
        std::fprintf(stderr, "%s\n", d.str().c_str());
        errors = errors || d.severity == model::Severity::Error;
    }
    if (errors) return 1;
    if (!o.live) {
        std::fputs(topology_dot(loaded.topology).c_str(), stdout);
        return 0;
    }
    try {
        reconcile::nl::NlKernel kernel;
        const model::NetnsState host = kernel.observe("");
        std::vector<reconcile::ShownContainer> containers;
        std::vector<std::string> missing;
        reconcile::ResolverOptions ropts;
        if (!o.docker_socket.empty()) ropts.docker_socket = o.docker_socket;
        for (const auto& [name, c] : loaded.topology.containers) {
            auto r = reconcile::resolve_netns(c.netns, ropts);
            if (auto* why = std::get_if<std::string>(&r)) {
                missing.push_back("container " + name + " (" + c.netns.str() + "): " + *why);
                continue;
            }
            const reconcile::NsId ns = reconcile::container_ns(name);
            kernel.attach_namespace(ns, std::get<reconcile::ResolvedNs>(r).fd);
            containers.push_back({name, c.netns, kernel.observe(ns)});
        }
        LiveView live = live_view(loaded.topology, host, containers);
        live.notes.insert(live.notes.begin(), missing.begin(), missing.end());
        std::fputs(live_dot(loaded.topology, live.topology, live.notes).c_str(), stdout);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "netlabctl graph: %s\n", e.what());
        return 1;
    }
}

}  // namespace netlab::cli
