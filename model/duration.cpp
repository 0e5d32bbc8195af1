// Parsing and printing durations such as "1m30s" (duration.hpp).
#include "model/duration.hpp"

#include <cctype>
#include <cstdint>

namespace netlab::model {

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
    constexpr std::uint64_t kYear = 366ull * 24 * 3600;
    if (text.empty()) return std::nullopt;
    std::uint64_t total = 0;
    int last_rank = 4;  // h=3, m=2, s=1: units must come largest first, once each
    std::size_t i = 0;
    while (i < text.size()) {
        std::uint64_t n = 0;
        std::size_t digits = 0;
        for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i, ++digits) {
            n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
            if (n > kYear) return std::nullopt;
        }
        if (digits == 0) return std::nullopt;
        if (i == text.size()) {
            // A bare number: seconds, and only on its own.
            if (last_rank != 4) return std::nullopt;
            total = n;
            break;
        }
        int rank = 0;
        std::uint64_t unit = 0;
        switch (text[i]) {
        case 'h': rank = 3; unit = 3600; break;
        case 'm': rank = 2; unit = 60; break;
        case 's': rank = 1; unit = 1; break;
        default: return std::nullopt;
        }
        if (rank >= last_rank) return std::nullopt;
        last_rank = rank;
        ++i;
        total += n * unit;
        if (total > kYear) return std::nullopt;
    }
    return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(total));
}

std::string format_duration(std::chrono::seconds d) {
    long long s = d.count();
    if (s <= 0) return "0s";
    std::string out;
    if (s >= 3600) {
        out += std::to_string(s / 3600) + "h";
        s %= 3600;
    }
    if (s >= 60) {
        out += std::to_string(s / 60) + "m";
        s %= 60;
    }
    if (s > 0) out += std::to_string(s) + "s";
    return out;
}

}  // namespace netlab::model
