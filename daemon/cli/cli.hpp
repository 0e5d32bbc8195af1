// netlabctl's commands and the options they take. command_line.cpp turns argv
// into a CommandLine; each command lives in its own file under daemon/cli/.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/plan_text.hpp"
#include "model/topology.hpp"

namespace netlab::cli {

// check, plan and apply: run from the library in netlabctl's own namespace.
struct LocalOptions {
    std::string path = "/etc/netlab";  // PATH or --config-dir: a directory or one file
    std::string state_dir = "/run/netlab";
    std::string docker_socket;         // --docker-socket, else $NETLAB_DOCKER_SOCKET, else the default
    bool json = false;
    bool detailed_exitcode = false;    // apply: exit 2 when it changed something
    ColorMode color = ColorMode::Auto; // --color=never|auto|always (plan_text.hpp)
    bool live = false;                 // graph --live: draw over the observed state
};

// status, reload, confirm, rollback and apply --confirm: netlabd's clients.
struct ClientOptions {
    std::string socket = "/run/netlab/netlabd.sock";
    bool json = false;
    bool force = false;                           // confirm --force
    bool full = false;                            // reload --full
    std::optional<std::chrono::seconds> confirm;  // apply --confirm DUR
    bool detailed_exitcode = false;               // apply --confirm: exit 2 when it changed something
    std::chrono::milliseconds timeout{std::chrono::minutes(5)};
    std::vector<std::uint64_t> revisions;         // diff [REV [REV]]
    std::optional<std::uint64_t> rollback_to;     // rollback --to REV
};

// show: the live state as a topology.
struct ShowOptions {
    bool json = false;
    // --netns NAME=TARGET, in order: the containers to show with the host.
    std::vector<std::pair<std::string, model::NetnsTarget>> containers;
    std::string docker_socket;  // for docker:NAME targets
};

enum class Command {
    Check, Plan, Apply, ApplyConfirmed, Status, Reload, Confirm, Rollback, RollbackTo, History, Diff, Graph, Show
};

struct CommandLine {
    Command command = Command::Check;
    LocalOptions local;
    ClientOptions client;
    ShowOptions show;
    // Set when parsing already ended the run: --help, --version (0) or a
    // usage error (kUsageError), after printing to `out`/`err`.
    std::optional<int> exit;
};

// Exit code of a command line netlabctl cannot parse.
inline constexpr int kUsageError = 1;

// Parses netlabctl's argv (argv[0] is the program). Help and version go to
// `out`, usage errors (naming the option, with the usage line) to `err`.
CommandLine parse_command_line(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

int check(const LocalOptions& o);            // check.cpp
int graph(const LocalOptions& o);            // graph_live.cpp: the topology (and --live state) as DOT
int show(const ShowOptions& o);              // show.cpp: the live state as a topology
int plan(const LocalOptions& o);             // apply.cpp
int apply(const LocalOptions& o);            // apply.cpp
int status(const ClientOptions& o);          // control.cpp (daemon client)
int reload(const ClientOptions& o);          // control.cpp
int confirm(const ClientOptions& o);         // control.cpp
int rollback(const ClientOptions& o);        // control.cpp
int apply_confirmed(const ClientOptions& o); // control.cpp: apply --confirm DUR, through netlabd
int history(const ClientOptions& o);         // history.cpp: the revisions netlabd keeps
int diff(const ClientOptions& o);            // history.cpp: topology diff and plans between two
int rollback_to(const ClientOptions& o);     // history.cpp: rollback --to REV, through netlabd

}  // namespace netlab::cli
