#include <cstdio>
#include "cli/cli.hpp"
namespace netlab::cli {
static int notyet(const char* what) { std::fprintf(stderr, "netlabctl %s: netlabd is not implemented yet\n", what); return 1; }
int status(const Args&) { return notyet("status"); }
int reload(const Args&) { return notyet("reload"); }
int confirm(const Args&) { return notyet("confirm"); }
int rollback(const Args&) { return notyet("rollback"); }
}
