// Input guards: hostile or broken input refused before parsing, with a
// diagnostic that says where and why.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "model/topology.hpp"

namespace netlab::model {

// False, with an error in `out`, when `text` is over the size limit, is not
// UTF-8 (or holds a control character YAML forbids), or nests deeper than
// kMaxDepth; `file` names it in the error.
bool admit_text(std::string_view text, const std::string& file, Diagnostics& out);

// The 1-based line of the first line indented with a tab, or 0.
int first_tab_indent(std::string_view s);

// Reads a file, refusing what is not a readable regular file of sane size.
std::optional<std::string> read_file(const std::filesystem::path& p, Diagnostics& diags);

}  // namespace netlab::model
