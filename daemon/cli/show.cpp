// netlabctl show: the live state of this namespace (and of the containers
// named with --netns) written as a topology (reconcile/plan/show.hpp), so that an
// admin can adopt a running host: save it, review it, and `netlabctl plan`
// on it finds nothing to do. Reads only; changes nothing.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/json_out.hpp"
#include "model/emit.hpp"
#include "reconcile/plan/desired.hpp"
#include "reconcile/nl/kernel.hpp"
#include "reconcile/plan/show.hpp"
#include "reconcile/containers/target.hpp"
#include "reconcile/apply/transaction.hpp"

namespace netlab::cli {

namespace {

std::string hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return "this host";
    return buf;
}

}  // namespace

int show(const ShowOptions& o) {
    try {
        reconcile::nl::NlKernel kernel;
        const model::NetnsState host = kernel.observe("");
        std::vector<reconcile::ShownContainer> containers;
        reconcile::ResolverOptions ropts;
        if (!o.docker_socket.empty()) ropts.docker_socket = o.docker_socket;
        for (const auto& [name, target] : o.containers) {
            auto r = reconcile::resolve_netns(target, ropts);
            if (auto* why = std::get_if<std::string>(&r)) {
                std::fprintf(stderr, "netlabctl show: --netns %s=%s: %s\n", name.c_str(), target.str().c_str(),
                             why->c_str());
                return 1;
            }
            const reconcile::NsId ns = reconcile::container_ns(name);
            kernel.attach_namespace(ns, std::get<reconcile::ResolvedNs>(r).fd);
            containers.push_back({name, target, kernel.observe(ns)});
        }
        const reconcile::Shown shown = reconcile::show(host, containers);
        if (o.json) {
            print_json({{"topology", model::to_document(shown.topology)}, {"notes", shown.notes}});
        } else {
            const std::vector<std::string> header = {
                "netlabctl show on " + hostname() + " at " + reconcile::detail::now_utc() + ": the live state as a topology.",
                "`netlabctl plan` on this file finds nothing to do; review it before netlabd applies it.",
                "What is live but not written here is listed at the end, each with why."};
            const std::string text = model::to_yaml(shown.topology, header, shown.notes);
            std::fwrite(text.data(), 1, text.size(), stdout);
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "netlabctl show: %s\n", e.what());
        return 1;
    }
}

}  // namespace netlab::cli
