// Progress of a long apply (daemon/cli/progress.cpp): the line, the quiet
// first second, nothing when disabled, and the line cleared at the end.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "cli/progress.hpp"

using netlab::reconcile::Step;
using netlab::reconcile::StepEvent;

namespace {
std::string read_all(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    char buf[256];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    return s;
}
}  // namespace

TEST_CASE("progress: the line says the phase and the count") {
    CHECK(netlab::cli::progress_line(StepEvent::Phase::Forward, 412, 1000, 1.25) == "applying: step 412/1000 (1.2 s)");
    CHECK(netlab::cli::progress_line(StepEvent::Phase::Rollback, 3, 10, 2.0) == "rolling back: step 3/10 (2.0 s)");
}

TEST_CASE("progress: quiet at first, drawn in place later, cleared at the end") {
    Step st;
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    {
        netlab::cli::Progress quiet(true, f, std::chrono::hours(1));
        quiet.step(StepEvent{StepEvent::Phase::Forward, 1, 2, st});
    }
    CHECK(read_all(f).empty());
    {
        netlab::cli::Progress off(false, f, std::chrono::milliseconds(0));
        off.step(StepEvent{StepEvent::Phase::Forward, 1, 2, st});
    }
    CHECK(read_all(f).empty());
    {
        netlab::cli::Progress p(true, f, std::chrono::milliseconds(0), std::chrono::milliseconds(0));
        p.step(StepEvent{StepEvent::Phase::Forward, 1, 2, st});
        p.step(StepEvent{StepEvent::Phase::Forward, 2, 2, st});
    }
    const std::string s = read_all(f);
    CHECK(s.find("\r\033[Kapplying: step 1/2") == 0);
    CHECK(s.find("\r\033[Kapplying: step 2/2") != std::string::npos);
    CHECK(s.size() >= 4);
    CHECK(s.substr(s.size() - 4) == "\r\033[K");
    std::fclose(f);
}
