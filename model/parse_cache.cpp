// ParseCache: one file's reading kept while its text stays the same.
#include "model/parse_cache.hpp"

#include <iterator>

#include "model/reader.hpp"

namespace netlab::model {

const Loaded& ParseCache::read(std::string_view text, const std::string& file, std::size_t route_base,
                               bool drop_in) {
    auto it = entries_.find(file);
    if (it != entries_.end() && it->second.text == text && it->second.route_base == route_base &&
        it->second.drop_in == drop_in) {
        ++hits_;
        it->second.used = true;
        return it->second.one;
    }
    ++misses_;
    Entry e;
    e.text = std::string(text);
    e.route_base = route_base;
    e.drop_in = drop_in;
    e.used = true;
    read_document(text, file, route_base, e.one, drop_in);
    return (entries_.insert_or_assign(file, std::move(e)).first)->second.one;
}

void ParseCache::begin() {
    for (auto& [_, e] : entries_) e.used = false;
}

void ParseCache::end() {
    std::erase_if(entries_, [](const auto& kv) { return !kv.second.used; });
}

}  // namespace netlab::model
