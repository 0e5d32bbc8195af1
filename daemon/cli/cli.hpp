// netlabctl subcommands. Each lives in its own file under daemon/cli/.
#pragma once

#include <string>
#include <vector>

namespace netlab::cli {

using Args = std::vector<std::string>;  // arguments after the subcommand

int check(const Args& args);     // check.cpp
int plan(const Args& args);      // apply.cpp
int apply(const Args& args);     // apply.cpp
int status(const Args& args);    // control.cpp (daemon client)
int reload(const Args& args);    // control.cpp
int confirm(const Args& args);   // control.cpp
int rollback(const Args& args);  // control.cpp
int apply_confirmed(const Args& args);  // control.cpp: apply --confirm DUR, through netlabd

}  // namespace netlab::cli
