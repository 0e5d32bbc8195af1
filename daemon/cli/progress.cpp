// Progress of a long apply on stderr (progress.hpp).
#include "cli/progress.hpp"

namespace netlab::cli {

std::string progress_line(reconcile::StepEvent::Phase phase, std::size_t n, std::size_t total, double seconds) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s: step %zu/%zu (%.1f s)",
                  phase == reconcile::StepEvent::Phase::Rollback ? "rolling back" : "applying", n, total, seconds);
    return buf;
}

Progress::Progress(bool enabled, std::FILE* out, std::chrono::milliseconds after, std::chrono::milliseconds every)
    : enabled_(enabled), out_(out), after_(after), every_(every) {}

Progress::~Progress() { finish(); }

void Progress::step(const reconcile::StepEvent& e) {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (now - start_ < after_) return;
    if (drawn_ && now - last_ < every_ && e.n != e.total) return;
    last_ = now;
    drawn_ = true;
    const double s = std::chrono::duration<double>(now - start_).count();
    // \r and "erase to end of line": the next draw replaces this one.
    std::fprintf(out_, "\r\033[K%s", progress_line(e.phase, e.n, e.total, s).c_str());
    std::fflush(out_);
}

void Progress::finish() {
    if (!drawn_) return;
    std::fputs("\r\033[K", out_);
    std::fflush(out_);
    drawn_ = false;
}

}  // namespace netlab::cli
