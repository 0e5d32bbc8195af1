// netlabd's command line, parsed with CLI11 like netlabctl's
// (daemon/cli/command_line.cpp): --help, --version, --opt value and
// --opt=value; a usage error names the option and exits 2.
#include "netlabd/options.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "reconcile/apply/revision.hpp"
#include "reconcile/containers/target.hpp"

namespace netlab::daemon {

std::optional<Options> parse_options(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err,
                                     int& exit_code) {
    Options o;
    o.docker_socket = reconcile::docker_socket_from_env();
    CLI::App app("keep the host's network equal to /etc/netlab (netlabd(8))", "netlabd");
    app.get_formatter()->label("Usage", "usage");
    app.get_formatter()->column_width(30);
    app.set_version_flag("--version", "netlabd " NETLAB_VERSION, "print the version and exit");
    app.add_option("--config-dir", o.config_dir, "topology.yaml and topology.d/ (default /etc/netlab)")
        ->option_text("DIR");
    app.add_option("--state-dir", o.state_dir, "journal, ledger (default /run/netlab)")->option_text("DIR");
    app.add_option("--socket", o.socket, "control socket (default /run/netlab/netlabd.sock)")->option_text("PATH");
    app.add_option("--status-group", o.status_group, "let GROUP ask `netlabctl status` (socket mode 0660)")
        ->option_text("GROUP");
    app.add_option("--docker-socket", o.docker_socket,
                   "Docker Engine API socket for docker: containers (default $NETLAB_DOCKER_SOCKET, else "
                   "/var/run/docker.sock)")
        ->option_text("PATH");
    app.add_option_function<long>(
           "--debounce", [&o](long ms) { o.debounce = std::chrono::milliseconds(ms); },
           "wait this long after the last file event, in milliseconds (default 200)")
        ->option_text("MS")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                return v.find_first_not_of("0123456789") == std::string::npos && !v.empty() && v.size() < 10
                           ? ""
                           : "wants milliseconds (a whole number), got '" + v + "'";
            },
            "MS"));
    app.add_option("--revisions", o.revisions,
                   "keep the last N changes applied for `netlabctl history`, `diff` and `rollback --to` "
                   "(default 50)")
        ->option_text("N")
        ->check(CLI::Range(std::size_t{1}, reconcile::kMaxRevisions));
    app.add_option("--log-level", o.log_level, "trace|debug|info|warn|error (default info)")
        ->option_text("LEVEL")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "warning", "error", "critical", "off"}));
    app.add_option("--metrics-file", o.metrics_file,
                   "write Prometheus metrics here after every job (node_exporter textfile format)")
        ->option_text("PATH");
    std::vector<std::string> args(argv.rbegin(), argv.rend() - (argv.empty() ? 0 : 1));
    try {
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
            exit_code = app.exit(e, out, err);
            return std::nullopt;
        }
        CLI::Formatter usage;
        usage.label("Usage", "usage");
        err << "netlabd: " << e.what() << "\n"
            << usage.make_usage(&app, "netlabd") << "Run 'netlabd --help' for more information.\n";
        exit_code = kUsageError;
        return std::nullopt;
    }
    return o;
}

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
    return parse_options(std::vector<std::string>(argv, argv + argc), std::cout, std::cerr, exit_code);
}

}  // namespace netlab::daemon
