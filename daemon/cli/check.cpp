#include <cstdio>
#include "cli/cli.hpp"
namespace netlab::cli {
int check(const Args&) { std::fputs("netlabctl check: not implemented yet\n", stderr); return 1; }
}
