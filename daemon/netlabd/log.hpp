// Logging: spdlog to stderr, or to the journal. When stderr is the journal
// ($JOURNAL_STREAM names stderr's device and inode) every message goes
// through sd_journal_sendv with its priority, and events (events.hpp) carry
// MESSAGE_ID and NETLAB_* fields; `journalctl -p err` works. Otherwise
// lines are plain text with a timestamp.
#pragma once

#include <chrono>
#include <string>

namespace netlab::daemon {

void setup_logging(const std::string& level);

// "2026-11-28T12:40:22.123Z": the times in logs and in the status reply.
std::string iso_time(std::chrono::system_clock::time_point t);

}  // namespace netlab::daemon
