// The plan as a person reads it: `+` create, `~` change, `-` delete, grouped
// by namespace (the host, then each container in the order it first acts),
// each step numbered in execution order with its reason, a one-line
// summary; ANSI colors when asked. Pure: no I/O.
#pragma once

#include <string>

#include "reconcile/plan/plan.hpp"

namespace netlab::cli {

enum class ColorMode { Never, Auto, Always };

// Whether to color: Always/Never as said; Auto on a terminal unless NO_COLOR
// is set (no-color.org) or TERM is dumb.
bool use_color(ColorMode mode, bool is_tty, const char* no_color_env, const char* term_env);

// '+', '~' or '-'.
char step_marker(reconcile::Step::Op op);

// "3 to create, 2 to change, 1 to delete in 2 namespaces".
std::string plan_summary(const reconcile::Plan& plan);

// The whole plan, one line per step plus its reason, ending with the summary.
std::string render_plan(const reconcile::Plan& plan, bool color);

}  // namespace netlab::cli
