// Progress of a long apply on stderr: after about a second, one line
// rewritten in place ("applying: step 412/1000 (1.3 s)"), cleared at the end.
// Only on a terminal and never with --json (apply.cpp decides).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "reconcile/engine.hpp"

namespace netlab::cli {

// The text of one progress line (pure).
std::string progress_line(reconcile::StepEvent::Phase phase, std::size_t n, std::size_t total, double seconds);

class Progress {
public:
    using Clock = std::chrono::steady_clock;
    // Draws on `out` when `enabled`; quiet before `after`, then at most
    // every `every`.
    Progress(bool enabled, std::FILE* out, std::chrono::milliseconds after = std::chrono::seconds(1),
             std::chrono::milliseconds every = std::chrono::milliseconds(100));
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void step(const reconcile::StepEvent& e);  // reconcile::Options::progress
    void finish();                             // clears the line, if one was drawn

private:
    bool enabled_;
    std::FILE* out_;
    Clock::time_point start_ = Clock::now();
    Clock::time_point last_{};
    std::chrono::milliseconds after_, every_;
    bool drawn_ = false;
};

}  // namespace netlab::cli
