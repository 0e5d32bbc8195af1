#include <cstdio>
#include "cli/cli.hpp"
namespace netlab::cli {
int plan(const Args&) { std::fputs("netlabctl plan: not implemented yet\n", stderr); return 1; }
int apply(const Args&) { std::fputs("netlabctl apply: not implemented yet\n", stderr); return 1; }
}
