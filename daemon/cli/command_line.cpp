// netlabctl's command line, parsed with CLI11: one subcommand per command,
// `--help` on each, `--version`, `--opt value` and `--opt=value`, and usage
// errors that name the option and show the command's usage line.
#include <algorithm>
#include <array>
#include <ostream>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/cli.hpp"
#include "model/duration.hpp"
#include "reconcile/containers/target.hpp"

namespace netlab::cli {

namespace {

constexpr std::array<std::string_view, 11> kCommands = {"check",    "plan",    "apply", "status", "reload", "confirm",
                                                        "rollback", "history", "diff",  "graph",  "show"};

// --confirm DUR: 1 s to 24 h, in the topology file's duration syntax.
CLI::Validator confirm_duration() {
    return CLI::Validator(
        [](std::string& v) -> std::string {
            auto d = model::parse_duration(v);
            if (!d || d->count() < 1 || *d > model::kMaxConfirmDeadline)
                return "wants a duration from 1s to 24h such as 60s or 5m, got '" + v + "'";
            return "";
        },
        "DURATION");
}

// The options of check/plan/apply: PATH or --config-dir, and the state dir.
void add_local(CLI::App& sub, LocalOptions& o, bool engine) {
    auto* path = sub.add_option("PATH", o.path,
                                "config directory (topology.yaml + topology.d/*.yaml, *.yml) or one topology file "
                                "(default /etc/netlab)");
    sub.add_option("--config-dir", o.path, "same as PATH")->option_text("DIR")->excludes(path);
    sub.add_flag("--json", o.json, "machine-readable output (docs/json.md)");
    if (!engine) return;
    sub.add_option("--state-dir", o.state_dir, "journal and ledger (default /run/netlab)")->option_text("DIR");
    sub.add_option_function<std::string>(
           "--color",
           [&o](const std::string& v) {
               o.color = v == "always" ? ColorMode::Always : v == "never" ? ColorMode::Never : ColorMode::Auto;
           },
           "color the plan: never, auto (on a terminal, unless NO_COLOR is set; the default) or always")
        ->option_text("WHEN")
        ->check(CLI::IsMember({"never", "auto", "always"}));
    sub.add_option("--docker-socket", o.docker_socket,
                   std::string("Docker Engine API socket for docker:NAME containers (default "
                               "$NETLAB_DOCKER_SOCKET, else ") +
                       reconcile::kDefaultDockerSocket + ")")
        ->option_text("PATH");
}

// The options every netlabd client takes. --config-dir and --state-dir are
// accepted for symmetry with check/plan/apply: the daemon knows its own.
void add_client(CLI::App& sub, ClientOptions& o, std::string& ignored) {
    sub.add_option("--socket", o.socket, "netlabd's control socket (default /run/netlab/netlabd.sock)")
        ->option_text("PATH");
    sub.add_option_function<double>(
           "--timeout", [&o](double s) { o.timeout = std::chrono::milliseconds(static_cast<long long>(s * 1000)); },
           "how long to wait for netlabd, in seconds (default 300)")
        ->option_text("SECONDS")
        ->check(CLI::PositiveNumber);
    sub.add_flag("--json", o.json, "print netlabd's reply as JSON (docs/json.md)");
    sub.add_option("--config-dir", ignored, "accepted and ignored: netlabd reads its own")
        ->option_text("DIR")
        ->group("");
    sub.add_option("--state-dir", ignored, "accepted and ignored: netlabd keeps its own")
        ->option_text("DIR")
        ->group("");
}

const CLI::App* deepest(const CLI::App* app) {
    while (!app->get_subcommands().empty()) app = app->get_subcommands().front();
    return app;
}

std::string usage_line(const CLI::App* app, const std::string& name) {
    CLI::Formatter f;
    f.label("Usage", "usage");
    return f.make_usage(app, name);
}

std::string command_name(const CLI::App* app) {
    return app->get_parent() ? "netlabctl " + app->get_name() : "netlabctl";
}

}  // namespace

CommandLine parse_command_line(const std::vector<std::string>& argv_in, std::ostream& out, std::ostream& err) {
    CommandLine cl;
    std::vector<std::string> argv = argv_in;
    if (argv.size() > 1 && argv[1] == "help") argv[1] = "--help";

    CLI::App app("check, plan and apply netlab topologies; talk to netlabd (netlabctl(8))", "netlabctl");
    app.get_formatter()->label("Usage", "usage");
    app.get_formatter()->column_width(34);
    app.set_version_flag("--version", "netlabctl " NETLAB_VERSION, "print the version and exit");
    app.require_subcommand(1);
    app.footer("exit status: 0 ok; 1 error; plan 2 changes; apply 3 rolled back, 4 not fully restored; "
               "5 netlabd not running (netlabctl(8), EXIT STATUS)");

    std::string ignored;
    cl.local.docker_socket = reconcile::docker_socket_from_env();
    ClientOptions& co = cl.client;

    auto* check = app.add_subcommand("check", "validate the topology; exit 0 valid, 1 errors");
    add_local(*check, cl.local, false);

    auto* plan = app.add_subcommand("plan", "show what apply would change; exit 0 converged, 2 changes, 1 error");
    add_local(*plan, cl.local, true);

    auto* apply = app.add_subcommand("apply", "apply the topology to this network namespace as one transaction");
    add_local(*apply, cl.local, true);
    apply->add_flag("--detailed-exitcode", cl.local.detailed_exitcode,
                    "exit 2 when the apply changed something, 0 when it was converged already");
    std::string confirm_value;
    auto* confirm = apply->add_option("--confirm", confirm_value,
                                      "have netlabd apply its files and roll them back after DURATION (60s, 5m) "
                                      "unless confirmed")
                        ->option_text("DURATION")
                        ->check(confirm_duration());
    apply->add_option("--socket", co.socket, "with --confirm: netlabd's control socket")
        ->option_text("PATH")
        ->needs(confirm);
    apply->add_option_function<double>(
             "--timeout", [&co](double s) { co.timeout = std::chrono::milliseconds(static_cast<long long>(s * 1000)); },
             "with --confirm: how long to wait for netlabd, in seconds")
        ->option_text("SECONDS")
        ->check(CLI::PositiveNumber)
        ->needs(confirm);

    auto* status = app.add_subcommand("status", "ask netlabd what is in force");
    add_client(*status, co, ignored);
    auto* reload = app.add_subcommand("reload", "ask netlabd to reload; fails with the diagnostics if rejected");
    add_client(*reload, co, ignored);
    reload->add_flag("--full", co.full,
                     "observe and reconcile even when nothing changed (without it, an unchanged reload with "
                     "nothing dirty observes nothing)");
    auto* confirm_cmd = app.add_subcommand("confirm", "keep the pending commit-confirmed change");
    add_client(*confirm_cmd, co, ignored);
    confirm_cmd->add_flag("--force", co.force, "keep it even if a probe failed or has not passed yet");
    auto* rollback = app.add_subcommand("rollback", "roll the pending commit-confirmed change back now, or with "
                                                    "--to REV put revision REV back (files and kernel)");
    add_client(*rollback, co, ignored);
    std::uint64_t rollback_rev = 0;
    auto* rollback_to = rollback->add_option("--to", rollback_rev, "the revision to put back (netlabctl history)")
                            ->option_text("REV")
                            ->check(CLI::PositiveNumber);
    std::string rollback_confirm;
    rollback->add_option("--confirm", rollback_confirm,
                         "with --to: roll it back in turn after DURATION (60s, 5m) unless confirmed")
        ->option_text("DURATION")
        ->check(confirm_duration())
        ->needs(rollback_to);
    auto* history = app.add_subcommand("history", "list the changes netlabd applied (its revisions)");
    add_client(*history, co, ignored);
    auto* diff = app.add_subcommand("diff", "show how two revisions' topologies differ and the plans between them");
    add_client(*diff, co, ignored);
    diff->add_option("REV", co.revisions,
                     "none: the last revision against the one before; REV: what REV changed; "
                     "REV REV: from the first to the second")
        ->expected(0, 2)
        ->check(CLI::PositiveNumber);
    auto* graph = app.add_subcommand("graph", "print the topology as a Graphviz DOT graph (dot -Tsvg)");
    graph->add_option("PATH", cl.local.path,
                      "config directory (topology.yaml + topology.d/*.yaml, *.yml) or one topology file "
                      "(default /etc/netlab)");
    graph->add_flag("--live", cl.local.live,
                    "draw the file over the live state of this namespace and of the file's containers, "
                    "marking what differs (planned, live only, differs)");

    auto* show = app.add_subcommand("show", "print the live state as a topology file that plan finds converged");
    auto* show_json = show->add_flag("--json", cl.show.json, "the topology as JSON, with the notes (docs/json.md)");
    bool show_yaml = false;  // the default; the flag says so explicitly
    show->add_flag("--yaml", show_yaml, "YAML with the notes as comments (the default)")->excludes(show_json);
    show->add_option_function<std::vector<std::string>>(
            "--netns",
            [&cl](const std::vector<std::string>& vs) {
                for (const auto& v : vs) {
                    const auto eq = v.find('=');
                    const std::string name = eq == std::string::npos ? std::string() : v.substr(0, eq);
                    const std::string target = eq == std::string::npos ? v : v.substr(eq + 1);
                    auto t = model::NetnsTarget::parse(target);
                    // Checked by the validator below; parse again here for the value.
                    if (!t) continue;
                    cl.show.containers.emplace_back(name.empty() ? t->value : name, *t);
                }
            },
            "also show this container (repeatable): NAME=TARGET or TARGET (netns:N, pid:P, path:F, docker:N; "
            "the name is then N)")
        ->option_text("[NAME=]TARGET")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                const auto eq = v.find('=');
                const std::string target = eq == std::string::npos ? v : v.substr(eq + 1);
                if (eq == 0) return "wants NAME=TARGET with a NAME, got '" + v + "'";
                const auto t = model::NetnsTarget::parse(target);
                if (!t) return "wants netns:NAME, pid:PID, path:FILE or docker:NAME, got '" + target + "'";
                if (eq == std::string::npos && (t->kind == model::NetnsTarget::Kind::Pid ||
                                                t->kind == model::NetnsTarget::Kind::Path))
                    return "wants NAME=" + target + ": a pid: or path: target does not name the container";
                return "";
            },
            "[NAME=]TARGET"));
    show->add_option("--docker-socket", cl.show.docker_socket,
                     std::string("Docker Engine API socket for docker:NAME (default $NETLAB_DOCKER_SOCKET, else ") +
                         reconcile::kDefaultDockerSocket + ")")
        ->option_text("PATH");
    cl.show.docker_socket = cl.local.docker_socket;

    std::vector<std::string> args(argv.rbegin(), argv.rend() - (argv.empty() ? 0 : 1));
    try {
        if (argv.size() > 1 && !argv[1].empty() && argv[1][0] != '-' &&
            std::find(kCommands.begin(), kCommands.end(), argv[1]) == kCommands.end())
            throw CLI::ExtrasError("unknown command '" + argv[1] + "'", CLI::ExitCodes::ExtrasError);
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
            cl.exit = app.exit(e, out, err);
            return cl;
        }
        const CLI::App* where = deepest(&app);
        const std::string name = command_name(where);
        err << name << ": " << e.what() << "\n"
            << usage_line(where, name) << "Run '" << name
            << " --help' for more information.\n";
        cl.exit = kUsageError;
        return cl;
    }

    if (check->parsed()) cl.command = Command::Check;
    else if (plan->parsed()) cl.command = Command::Plan;
    else if (apply->parsed()) {
        cl.command = Command::Apply;
        if (confirm->count()) {
            if (apply->get_option("PATH")->count()) {
                err << "netlabctl apply: --confirm: netlabd applies its own configuration directory; a PATH ('"
                    << cl.local.path << "') cannot be given\n"
                    << usage_line(apply, "netlabctl apply");
                cl.exit = kUsageError;
                return cl;
            }
            cl.command = Command::ApplyConfirmed;
            co.confirm = *model::parse_duration(confirm_value);
            co.json = cl.local.json;
            co.detailed_exitcode = cl.local.detailed_exitcode;
        }
    } else if (status->parsed()) cl.command = Command::Status;
    else if (reload->parsed()) cl.command = Command::Reload;
    else if (confirm_cmd->parsed()) cl.command = Command::Confirm;
    else if (rollback->parsed()) {
        cl.command = Command::Rollback;
        if (rollback_to->count()) {
            cl.command = Command::RollbackTo;
            co.rollback_to = rollback_rev;
            if (!rollback_confirm.empty()) co.confirm = *model::parse_duration(rollback_confirm);
        }
    } else if (history->parsed()) cl.command = Command::History;
    else if (diff->parsed()) cl.command = Command::Diff;
    else if (graph->parsed()) cl.command = Command::Graph;
    else if (show->parsed()) cl.command = Command::Show;
    return cl;
}

}  // namespace netlab::cli
