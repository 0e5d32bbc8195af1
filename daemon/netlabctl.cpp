// netlabctl: check/plan/apply work from the library; status/reload/confirm/
// rollback talk to netlabd over its control socket. The command line is
// parsed in daemon/cli/command_line.cpp.
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli.hpp"

int main(int argc, char** argv) {
    using netlab::cli::Command;
    const auto cl = netlab::cli::parse_command_line(std::vector<std::string>(argv, argv + argc), std::cout, std::cerr);
    if (cl.exit) return *cl.exit;
    switch (cl.command) {
        case Command::Check: return netlab::cli::check(cl.local);
        case Command::Plan: return netlab::cli::plan(cl.local);
        case Command::Apply: return netlab::cli::apply(cl.local);
        case Command::ApplyConfirmed: return netlab::cli::apply_confirmed(cl.client);
        case Command::Status: return netlab::cli::status(cl.client);
        case Command::Reload: return netlab::cli::reload(cl.client);
        case Command::Confirm: return netlab::cli::confirm(cl.client);
        case Command::Rollback: return netlab::cli::rollback(cl.client);
        case Command::RollbackTo: return netlab::cli::rollback_to(cl.client);
        case Command::History: return netlab::cli::history(cl.client);
        case Command::Diff: return netlab::cli::diff(cl.client);
        case Command::Graph: return netlab::cli::graph(cl.local);
        case Command::Show: return netlab::cli::show(cl.show);
    }
    return 1;
}
