// Logging: spdlog to stderr. Under systemd (JOURNAL_STREAM set) each line
// carries a "<N>" syslog priority prefix instead of a timestamp, so journald
// records the level and `journalctl -p err` works.
#pragma once

#include <chrono>
#include <string>

namespace netlab::daemon {

void setup_logging(const std::string& level);

// "2026-11-28T12:40:22.123Z": the times in logs and in the status reply.
std::string iso_time(std::chrono::system_clock::time_point t);

}  // namespace netlab::daemon
