// netlabctl plan / apply: load the topology, then run the Engine directly on
// the namespace netlabctl runs in (`ip netns exec LAB netlabctl apply ...`).
//
// Exit codes: daemon/cli/exit_code.hpp.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/exit_code.hpp"
#include "cli/json_out.hpp"
#include "cli/plan_text.hpp"
#include "cli/progress.hpp"
#include "model/load.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/nl/kernel.hpp"
#include "reconcile/apply/state_dir.hpp"
#include "reconcile/containers/target.hpp"

namespace netlab::cli {

namespace {

using reconcile::Outcome;

void print_diagnostics(const model::Diagnostics& ds) {
    for (const auto& d : ds) std::fprintf(stderr, "%s\n", d.str().c_str());
}

std::string ms(double seconds) { return std::to_string(static_cast<long long>(seconds * 1000 + 0.5)) + " ms"; }

std::string step_line(const Outcome& o) {
    if (!o.failed_step) return "verification";
    std::size_t k = *o.failed_step;
    std::string s = "step " + std::to_string(k + 1);
    if (k < o.plan.total()) s += " (" + o.plan.describe_at(k) + ")";
    return s;
}

std::string joined(const std::vector<std::string>& v) {
    if (v.empty()) return "nothing";
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : "; ") + x;
    return s;
}

// The human account of a transaction's outcome (apply and recover alike).
void print_outcome(const Outcome& o, const char* verb, bool color) {
    print_diagnostics(o.diagnostics);
    using S = Outcome::Status;
    switch (o.status) {
        case S::Converged:
            std::printf("converged: nothing to do (%llu netlink writes, %s)\n",
                        static_cast<unsigned long long>(o.writes), ms(o.seconds).c_str());
            break;
        case S::Changes:
            std::fputs(render_plan(o.plan, color).c_str(), stdout);
            break;
        case S::Applied:
            std::fputs(render_plan(o.plan, color).c_str(), stdout);
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

int run(const char* cmd, const LocalOptions& o, bool apply) {
    const auto load_start = std::chrono::steady_clock::now();
    model::Loaded config = model::load_config(o.path);
    const double load_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
    try {
        reconcile::nl::NlKernel kernel;
        reconcile::Options opts;
        opts.state_dir = o.state_dir;
        opts.resolver.docker_socket = o.docker_socket;
        // On a terminal, without --json: a line on stderr once the apply
        // takes more than a second.
        Progress progress(apply && !o.json && ::isatty(STDERR_FILENO) != 0, stderr);
        opts.progress = [&progress](const reconcile::StepEvent& e) { progress.step(e); };
        reconcile::Engine engine(kernel, opts);

        std::optional<Outcome> recovered;
        if (apply) {
            recovered = engine.recover();
            if (recovered && !o.json) {
                std::fprintf(stderr, "netlabctl apply: found the journal of an interrupted transaction in %s\n",
                             o.state_dir.c_str());
                std::fprintf(stderr, "%s: %s; restored: %s (%llu netlink writes, %s)\n",
                             recovered->status == Outcome::Status::RolledBack ? "recovered" : "RECOVERY FAILED",
                             recovered->error.c_str(), joined(recovered->restored).c_str(),
                             static_cast<unsigned long long>(recovered->writes), ms(recovered->seconds).c_str());
            }
        } else if (const reconcile::StateDirectory dir(o.state_dir); dir.has(reconcile::StateDirectory::Record::Journal)) {
            std::fprintf(stderr,
                         "netlabctl plan: warning: %s is the journal of an interrupted transaction; "
                         "apply restores its snapshot first, so this plan may change\n",
                         dir.file(reconcile::StateDirectory::Record::Journal).c_str());
        }
        Outcome out = apply ? engine.apply(config) : engine.plan(config);
        progress.finish();
        out.phases["load"] = load_ms;
        if (o.json) {
            nlohmann::json j = out.to_json();
            j["recovered"] = recovered ? recovered->to_json() : nlohmann::json(nullptr);
            print_json(std::move(j));
        } else {
            print_outcome(out, "applied",
                          use_color(o.color, ::isatty(STDOUT_FILENO) != 0, std::getenv("NO_COLOR"), std::getenv("TERM")));
        }
        if (!apply) return exit_code::plan(out.status);
        // A failed recovery left the host as the interrupted run did.
        if (recovered && recovered->status == Outcome::Status::Failed) return exit_code::kNotRestored;
        return exit_code::apply(out.status, o.detailed_exitcode);
    } catch (const std::exception& e) {
        if (o.json) {
            print_json({{"status", "error"}, {"ok", false}, {"error", e.what()}});
        }
        std::fprintf(stderr, "netlabctl %s: %s\n", cmd, e.what());
        return 1;
    }
}

}  // namespace

int plan(const LocalOptions& o) { return run("plan", o, false); }
int apply(const LocalOptions& o) { return run("apply", o, true); }

}  // namespace netlab::cli
