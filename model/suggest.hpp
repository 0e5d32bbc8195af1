// Did-you-mean: the closest known word to a misspelt one, for diagnostics.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace netlab::model {

// The candidate closest to `word` by edit distance, or "" when none is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace netlab::model
