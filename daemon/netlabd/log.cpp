// spdlog to stderr or structured entries to the journal (log.hpp).
#include "netlabd/log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "netlabd/events.hpp"

namespace netlab::daemon {

namespace {

int priority(spdlog::level::level_enum l) {
    switch (l) {
    case spdlog::level::critical: return 2;
    case spdlog::level::err: return 3;
    case spdlog::level::warn: return 4;
    case spdlog::level::info: return 6;
    default: return 7;
    }
}

// stderr with an sd-daemon(3) priority prefix: journald still records the
// level when its native socket cannot be reached.
void write_prefixed(spdlog::level::level_enum level, const spdlog::memory_buf_t& line) {
    std::fprintf(stderr, "<%d>", priority(level));
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

// The journal's native protocol (sd_journal_sendv): the message with its
// priority and, for an event (events.hpp), MESSAGE_ID and the NETLAB_*
// fields. When journald cannot be reached the line goes to stderr (which is
// the journal's stream: nothing is lost but the fields).
class JournalNativeSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t line;
        formatter_->format(msg, line);
        std::string_view text(line.data(), line.size());
        while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
        std::vector<std::string> fields;
        fields.push_back("MESSAGE=" + std::string(text));
        fields.push_back("PRIORITY=" + std::to_string(priority(msg.level)));
        fields.push_back("SYSLOG_IDENTIFIER=netlabd");
        if (const auto* e = events::current()) {
            fields.push_back("MESSAGE_ID=" + std::string(events::message_id(e->kind)));
            if (!e->fields->netns.empty()) fields.push_back("NETLAB_NETNS=" + e->fields->netns);
            if (!e->fields->object.empty()) fields.push_back("NETLAB_OBJECT=" + e->fields->object);
            if (e->fields->steps) fields.push_back("NETLAB_STEPS=" + std::to_string(*e->fields->steps));
        }
        std::vector<iovec> iov;
        iov.reserve(fields.size());
        for (auto& f : fields) iov.push_back(iovec{f.data(), f.size()});
        if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0) write_prefixed(msg.level, line);
    }
    void flush_() override {}
};

// systemd connects stderr to the journal and says so in $JOURNAL_STREAM
// ("DEV:INODE" of that stream, systemd.exec(5)); a stderr redirected since
// (a child, a shell's 2>file) does not match and keeps plain lines.
bool stderr_is_journal() {
    const char* env = std::getenv("JOURNAL_STREAM");
    if (!env) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (::fstat(2, &st) != 0) return false;
    return st.st_dev == dev && st.st_ino == ino;
}

}  // namespace

void setup_logging(const std::string& level) {
    std::shared_ptr<spdlog::logger> logger;
    if (stderr_is_journal()) {
        logger = std::make_shared<spdlog::logger>("netlabd", std::make_shared<JournalNativeSink>());
        logger->set_pattern("%v");
    } else {
        logger = std::make_shared<spdlog::logger>("netlabd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e netlabd[%P] %l: %v");
    }
    logger->set_level(spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

std::string iso_time(std::chrono::system_clock::time_point t) {
    std::time_t secs = std::chrono::system_clock::to_time_t(t);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(ms));
    return out;
}

}  // namespace netlab::daemon
