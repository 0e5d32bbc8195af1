// netlabd: keeps the host's network equal to /etc/netlab (daemon/netlabd/).
#include <signal.h>

#include <cstdio>
#include <exception>

#include <spdlog/spdlog.h>

#include "netlabd/daemon.hpp"
#include "netlabd/log.hpp"
#include "netlabd/options.hpp"

int main(int argc, char** argv) {
    int exit_code = 0;
    auto opts = netlab::daemon::parse_options(argc, argv, exit_code);
    if (!opts) return exit_code;
    // Control clients that hang up must not kill the daemon.
    ::signal(SIGPIPE, SIG_IGN);
    try {
        netlab::daemon::setup_logging(opts->log_level);
        netlab::daemon::Daemon daemon(*opts);
        return daemon.run();
    } catch (const std::exception& e) {
        spdlog::critical("netlabd: {}", e.what());
        return 1;
    }
}
