// What each topology file read as, kept between loads (netlabd): a file
// whose text is the same as last time is not parsed again. Merge and
// validation still run over every file at each load, so conflicts between
// files and every file:line:col are reported exactly as without the cache.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "model/load.hpp"

namespace netlab::model {

class ParseCache {
public:
    // One file's reading (read_document), from memory when `file` had the
    // same text, drop-in flag and route numbering (routes are numbered
    // across files) at the last load.
    const Loaded& read(std::string_view text, const std::string& file, std::size_t route_base, bool drop_in);
    // Around one load: files not read since begin() are forgotten at end()
    // (a removed drop-in keeps nothing).
    void begin();
    void end();

    std::size_t hits() const { return hits_; }
    std::size_t misses() const { return misses_; }
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        std::string text;  // compared whole: equal text, equal reading
        std::size_t route_base = 0;
        bool drop_in = false;
        Loaded one;
        bool used = false;
    };
    std::map<std::string, Entry> entries_;
    std::size_t hits_ = 0, misses_ = 0;
};

// load_config (load.hpp) with `cache`: files whose text has not changed
// since the last load with the same cache are not parsed again.
Loaded load_config(const std::filesystem::path& path, EmptyDir empty, ParseCache& cache);

}  // namespace netlab::model
