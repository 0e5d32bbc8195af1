// Logging: spdlog to stderr. Under systemd (JOURNAL_STREAM set) each line
// carries a "<N>" syslog priority prefix instead of a timestamp, so journald
// records the level and `journalctl -p err` works.
#pragma once

#include <string>

namespace netlab::daemon {

void setup_logging(const std::string& level);

}  // namespace netlab::daemon
