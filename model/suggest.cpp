// Did-you-mean: the closest known word to a misspelt one, by edit distance,
// so "unknown key 'promisk'" can name 'promisc'.
#include "model/suggest.hpp"

#include <algorithm>
#include <cstdint>

namespace netlab::model {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

}  // namespace

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    if (word.size() > 64) return {};
    std::string best;
    std::size_t bestDist = SIZE_MAX;
    for (const auto& c : candidates) {
        std::size_t d = edit_distance(word, c);
        if (d < bestDist) bestDist = d, best = c;
    }
    std::size_t allowed = std::max<std::size_t>(2, best.size() / 3);
    return bestDist <= allowed ? best : std::string();
}

}  // namespace netlab::model
