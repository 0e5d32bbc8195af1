#include "netlabd/options.hpp"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "reconcile/target.hpp"

namespace netlab::daemon {

namespace {
void usage(std::FILE* out) {
    std::fputs(
        "usage: netlabd [options]\n"
        "  --config-dir DIR     topology.yaml and topology.d/ (default /etc/netlab)\n"
        "  --state-dir DIR      journal, ledger (default /run/netlab)\n"
        "  --socket PATH        control socket (default /run/netlab/netlabd.sock)\n"
        "  --status-group GROUP let GROUP ask `netlabctl status` (socket mode 0660)\n"
        "  --docker-socket PATH Docker Engine API socket for docker: containers\n"
        "                       (default $NETLAB_DOCKER_SOCKET, else /var/run/docker.sock)\n"
        "  --debounce MS        wait this long after the last file event (default 200)\n"
        "  --log-level LEVEL    trace|debug|info|warn|error (default info)\n"
        "  --version            print the version\n",
        out);
}
}  // namespace

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
    Options o;
    o.docker_socket = reconcile::docker_socket_from_env();
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> const char* {
            return i + 1 < argc ? argv[++i] : nullptr;
        };
        const char* v = nullptr;
        if (a == "-h" || a == "--help") {
            usage(stdout);
            exit_code = 0;
            return std::nullopt;
        } else if (a == "--version") {
            std::puts("netlabd " NETLAB_VERSION);
            exit_code = 0;
            return std::nullopt;
        } else if (a == "--config-dir" && (v = value())) {
            o.config_dir = v;
        } else if (a == "--state-dir" && (v = value())) {
            o.state_dir = v;
        } else if (a == "--socket" && (v = value())) {
            o.socket = v;
        } else if (a == "--docker-socket" && (v = value())) {
            o.docker_socket = v;
        } else if (a == "--status-group" && (v = value())) {
            o.status_group = v;
        } else if (a == "--debounce" && (v = value())) {
            char* end = nullptr;
            long ms = std::strtol(v, &end, 10);
            if (*end || ms < 0) {
                std::fprintf(stderr, "netlabd: --debounce wants milliseconds, got '%s'\n", v);
                exit_code = 2;
                return std::nullopt;
            }
            o.debounce = std::chrono::milliseconds(ms);
        } else if (a == "--log-level" && (v = value())) {
            o.log_level = v;
        } else {
            std::fprintf(stderr, "netlabd: unknown argument or missing value: '%s'\n", argv[i]);
            usage(stderr);
            exit_code = 2;
            return std::nullopt;
        }
    }
    return o;
}

}  // namespace netlab::daemon
