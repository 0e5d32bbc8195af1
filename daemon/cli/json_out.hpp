// How netlabctl prints JSON: every document is one object that carries
// "format" (the version of the vocabulary in docs/json.md), bytes that are
// not UTF-8 replaced rather than thrown on.
#pragma once

#include <cstdio>

#include <nlohmann/json.hpp>

namespace netlab::cli {

// Bumped when a field changes meaning or goes away; new fields keep it.
inline constexpr int kJsonFormat = 1;

inline void print_json(nlohmann::json j) {
    j["format"] = kJsonFormat;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
}

}  // namespace netlab::cli
