// netlabctl: check/plan/apply work from the library; status/reload/confirm/
// rollback talk to netlabd over its control socket.
#include <cstdio>
#include <string>
#include <string_view>

#include "cli/cli.hpp"

namespace {
void usage(std::FILE* out) {
    std::fputs(
        "usage: netlabctl COMMAND [options]\n"
        "  check [PATH] [--json]          validate the topology (PATH: directory or file; default /etc/netlab)\n"
        "  plan [PATH] [--json]           show what apply would change (exit 0 converged, 2 changes, 1 error)\n"
        "  apply [PATH] [--json]          apply the topology to this network namespace as one transaction\n"
        "  status [--json]                ask netlabd what is in force\n"
        "  reload [--full]                ask netlabd to reload; fails with the diagnostics if rejected; without\n"
        "                                 --full, an unchanged reload with nothing dirty observes nothing\n"
        "  apply --confirm DUR [--json]   have netlabd apply its files and roll them back after DUR (60s, 5m)\n"
        "                                 unless confirmed\n"
        "  confirm [--force]              keep the pending commit-confirmed change (--force: even if its probe failed)\n"
        "  rollback                       roll the pending commit-confirmed change back now\n"
        "  --version                      print the version\n"
        "common options: --config-dir DIR --state-dir DIR --socket PATH\n"
        "plan/apply: --docker-socket PATH  Docker Engine API socket for docker: containers\n"
        "            (default $NETLAB_DOCKER_SOCKET, else /var/run/docker.sock)\n",
        out);
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    std::string_view cmd = argv[1];
    netlab::cli::Args args(argv + 2, argv + argc);
    if (cmd == "check") return netlab::cli::check(args);
    if (cmd == "plan") return netlab::cli::plan(args);
    if (cmd == "apply") {
        for (const auto& a : args)
            if (a == "--confirm") return netlab::cli::apply_confirmed(args);
        return netlab::cli::apply(args);
    }
    if (cmd == "status") return netlab::cli::status(args);
    if (cmd == "reload") return netlab::cli::reload(args);
    if (cmd == "confirm") return netlab::cli::confirm(args);
    if (cmd == "rollback") return netlab::cli::rollback(args);
    if (cmd == "--version") {
        std::puts("netlabctl " NETLAB_VERSION);
        return 0;
    }
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        usage(stdout);
        return 0;
    }
    std::fprintf(stderr, "netlabctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 1;
}
