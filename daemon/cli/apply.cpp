// netlabctl plan / apply: load the topology, then run the Engine directly on
// the namespace netlabctl runs in (`ip netns exec LAB netlabctl apply ...`).
//
//   plan  exit 0 converged, 2 changes, 1 error or rejected
//   apply exit 0 applied or converged, 1 rejected, rolled back or failed
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "model/load.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/nl/kernel.hpp"
#include "reconcile/state_dir.hpp"
#include "reconcile/target.hpp"

namespace netlab::cli {

namespace {

using reconcile::Outcome;

struct Invocation {
    std::string path = "/etc/netlab";
    std::string state_dir = "/run/netlab";
    std::string docker_socket = reconcile::docker_socket_from_env();
    bool json = false;
    bool help = false;
};

std::optional<Invocation> parse(const char* cmd, const Args& args) {
    Invocation inv;
    bool have_path = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= args.size()) {
                std::fprintf(stderr, "netlabctl %s: %s needs a value\n", cmd, a.c_str());
                return std::nullopt;
            }
            return args[++i];
        };
        if (a == "--json") {
            inv.json = true;
        } else if (a == "-h" || a == "--help") {
            inv.help = true;
        } else if (a == "--state-dir") {
            auto v = value();
            if (!v) return std::nullopt;
            inv.state_dir = *v;
        } else if (a == "--docker-socket") {
            auto v = value();
            if (!v) return std::nullopt;
            inv.docker_socket = *v;
        } else if (a == "--config-dir") {
            auto v = value();
            if (!v) return std::nullopt;
            inv.path = *v;
            have_path = true;
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "netlabctl %s: unknown option %s\n", cmd, a.c_str());
            return std::nullopt;
        } else if (!have_path) {
            inv.path = a;
            have_path = true;
        } else {
            std::fprintf(stderr, "netlabctl %s: more than one PATH given\n", cmd);
            return std::nullopt;
        }
    }
    return inv;
}

void print_diagnostics(const model::Diagnostics& ds) {
    for (const auto& d : ds) std::fprintf(stderr, "%s\n", d.str().c_str());
}

std::string ms(double seconds) { return std::to_string(static_cast<long long>(seconds * 1000 + 0.5)) + " ms"; }

std::string step_line(const Outcome& o) {
    if (!o.failed_step) return "verification";
    std::size_t k = *o.failed_step;
    std::string s = "step " + std::to_string(k + 1);
    if (k < o.plan.steps.size()) s += " (" + o.plan.steps[k].describe() + ")";
    return s;
}

std::string joined(const std::vector<std::string>& v) {
    if (v.empty()) return "nothing";
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : "; ") + x;
    return s;
}

// The human account of a transaction's outcome (apply and recover alike).
void print_outcome(const Outcome& o, const char* verb) {
    print_diagnostics(o.diagnostics);
    using S = Outcome::Status;
    switch (o.status) {
        case S::Converged:
            std::printf("converged: nothing to do (%llu netlink writes, %s)\n",
                        static_cast<unsigned long long>(o.writes), ms(o.seconds).c_str());
            break;
        case S::Changes:
            for (const auto& s : o.plan.steps) std::printf("%s\n", s.describe().c_str());
            std::printf("%zu changes to apply\n", o.plan.steps.size());
            break;
        case S::Applied:
            for (const auto& s : o.plan.steps) std::printf("%s\n", s.describe().c_str());
            std::printf("%s %zu steps, %llu netlink writes, %s\n", verb, o.plan.steps.size(),
                        static_cast<unsigned long long>(o.writes), ms(o.seconds).c_str());
            break;
        case S::Rejected:
            std::fprintf(stderr, "rejected: %s\n", o.error.c_str());
            break;
        case S::RolledBack:
            std::fprintf(stderr, "rolled back after %s: %s; restored: %s (%llu netlink writes, %s)\n",
                         step_line(o).c_str(), o.error.c_str(), joined(o.restored).c_str(),
                         static_cast<unsigned long long>(o.writes), ms(o.seconds).c_str());
            break;
        case S::Failed:
            std::fprintf(stderr,
                         "FAILED after %s: %s; the rollback did not restore everything: %s "
                         "(%llu netlink writes, %s)\n",
                         step_line(o).c_str(), o.error.c_str(), joined(o.restored).c_str(),
                         static_cast<unsigned long long>(o.writes), ms(o.seconds).c_str());
            break;
    }
}

int run(const char* cmd, const Args& args, bool apply) {
    auto inv = parse(cmd, args);
    if (!inv) return 1;
    if (inv->help) {
        std::printf(
            "usage: netlabctl %s [PATH] [--json] [--state-dir DIR] [--docker-socket PATH]\n"
            "  PATH              config directory (topology.yaml + topology.d/*.yaml) or one file;\n"
            "                    default /etc/netlab (also --config-dir DIR)\n"
            "  --state-dir DIR   journal and ledger (default /run/netlab)\n"
            "  --docker-socket PATH\n"
            "                    Docker Engine API socket that docker:NAME containers are resolved\n"
            "                    through (default $NETLAB_DOCKER_SOCKET, else %s)\n"
            "  acts on the network namespace netlabctl runs in; %s\n",
            cmd, reconcile::kDefaultDockerSocket,
            apply ? "exit 0 applied or converged, 1 rejected, rolled back or failed"
                  : "exit 0 converged, 2 changes, 1 error");
        return 0;
    }
    const auto load_start = std::chrono::steady_clock::now();
    model::Loaded config = model::load_config(inv->path);
    const double load_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
    try {
        reconcile::nl::NlKernel kernel;
        reconcile::Options opts;
        opts.state_dir = inv->state_dir;
        opts.resolver.docker_socket = inv->docker_socket;
        reconcile::Engine engine(kernel, opts);

        std::optional<Outcome> recovered;
        if (apply) {
            recovered = engine.recover();
            if (recovered && !inv->json) {
                std::fprintf(stderr, "netlabctl apply: found the journal of an interrupted transaction in %s\n",
                             inv->state_dir.c_str());
                std::fprintf(stderr, "%s: %s; restored: %s (%llu netlink writes, %s)\n",
                             recovered->status == Outcome::Status::RolledBack ? "recovered" : "RECOVERY FAILED",
                             recovered->error.c_str(), joined(recovered->restored).c_str(),
                             static_cast<unsigned long long>(recovered->writes), ms(recovered->seconds).c_str());
            }
        } else if (const reconcile::StateDirectory dir(inv->state_dir); dir.has(reconcile::StateDirectory::Record::Journal)) {
            std::fprintf(stderr,
                         "netlabctl plan: warning: %s is the journal of an interrupted transaction; "
                         "apply restores its snapshot first, so this plan may change\n",
                         dir.file(reconcile::StateDirectory::Record::Journal).c_str());
        }
        Outcome out = apply ? engine.apply(config) : engine.plan(config);
        out.phases["load"] = load_ms;
        if (inv->json) {
            nlohmann::json j = out.to_json();
            j["recovered"] = recovered ? recovered->to_json() : nlohmann::json(nullptr);
            std::cout << j.dump(2) << std::endl;
        } else {
            print_outcome(out, "applied");
        }
        if (!apply) return out.status == Outcome::Status::Converged ? 0 : out.status == Outcome::Status::Changes ? 2 : 1;
        return out.ok() ? 0 : 1;
    } catch (const std::exception& e) {
        if (inv->json) {
            nlohmann::json j{{"status", "error"}, {"ok", false}, {"error", e.what()}};
            std::cout << j.dump(2) << std::endl;
        }
        std::fprintf(stderr, "netlabctl %s: %s\n", cmd, e.what());
        return 1;
    }
}

}  // namespace

int plan(const Args& args) { return run("plan", args, false); }
int apply(const Args& args) { return run("apply", args, true); }

}  // namespace netlab::cli
