// Input guards: what is refused before yaml-cpp sees the text, where yaml-cpp
// itself would suffer — files over the size limit or not regular files,
// bytes that are not UTF-8, nesting deeper than any topology needs (yaml-cpp
// recurses per level) — and the tab-indentation hint for syntax errors.
#include "model/guard.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "model/load_detail.hpp"

namespace netlab::model {

namespace fs = std::filesystem;

namespace {

Location offset_location(std::string_view text, std::size_t offset, const std::string& file) {
    int line = 1, col = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '\n') ++line, col = 1;
        else if ((c & 0xC0) != 0x80) ++col;  // count characters, not continuation bytes
    }
    return {file, line, col};
}

// Returns the offset of the first byte that is not well-formed UTF-8 (or a
// control character YAML forbids), or npos.
std::size_t first_bad_byte(std::string_view s, std::string* what) {
    std::size_t i = 0;
    if (s.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // BOM
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "control character 0x%02X", c);
                *what = buf;
                return i;
            }
            ++i;
            continue;
        }
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
        else {
            char buf[64];
            std::snprintf(buf, sizeof buf, "byte 0x%02X is not valid UTF-8", c);
            *what = buf;
            return i;
        }
        bool ok = i + n < s.size();
        for (std::size_t k = 1; ok && k <= n; ++k) {
            unsigned char cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) ok = false;
            else cp = (cp << 6) | (cc & 0x3F);
        }
        static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (ok && (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
        if (!ok) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "byte 0x%02X is not valid UTF-8", c);
            *what = buf;
            return i;
        }
        i += n + 1;
    }
    return std::string_view::npos;
}

// The deepest nesting of the document, approximated from the text: flow
// brackets outside quotes and comments, plus block levels (one per distinct
// indentation on the stack, one per "- " that opens a compact sequence).
// Returns the offset where the limit is passed, or npos.
std::size_t too_deep(std::string_view s, int limit) {
    std::vector<std::size_t> indents;  // block indentation stack
    int flow = 0;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t eol = s.find('\n', i);
        if (eol == std::string_view::npos) eol = s.size();
        std::string_view line = s.substr(i, eol - i);
        std::size_t ind = line.find_first_not_of(' ');
        bool blank = ind == std::string_view::npos || line[ind] == '#' || line[ind] == '\r';
        if (!blank && flow == 0) {
            while (!indents.empty() && indents.back() > ind) indents.pop_back();
            if (indents.empty() || indents.back() < ind) indents.push_back(ind);
            std::size_t k = ind;
            int dashes = 0;
            while (k + 1 < line.size() && (line[k] == '-' || line[k] == '?') && line[k + 1] == ' ') {
                ++dashes;
                k = line.find_first_not_of(' ', k + 1);
                if (k == std::string_view::npos) break;
            }
            if (static_cast<int>(indents.size()) + dashes > limit) return i + ind;
        }
        if (!blank) {
            char q = 0;
            for (std::size_t k = ind; k < line.size(); ++k) {
                char c = line[k];
                if (q) {
                    if (c == q) q = 0;
                    else if (c == '\\' && q == '"') ++k;
                    continue;
                }
                if (c == '#' && (k == 0 || line[k - 1] == ' ' || line[k - 1] == '\t')) break;
                if ((c == '"' || c == '\'') && (k == 0 || std::string_view(" \t[{,:-").find(line[k - 1]) != std::string_view::npos))
                    q = c;
                else if (c == '[' || c == '{') {
                    if (++flow + static_cast<int>(indents.size()) > limit) return i + k;
                } else if ((c == ']' || c == '}') && flow > 0)
                    --flow;
            }
        }
        i = eol + 1;
    }
    return std::string_view::npos;
}

std::string mib(std::uintmax_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

}  // namespace

// The 1-based line of the first line indented with a tab, or 0.
int first_tab_indent(std::string_view s) {
    int line = 1;
    bool atStart = true;
    for (char c : s) {
        if (c == '\n') ++line, atStart = true;
        else if (atStart && c == '\t') return line;
        else if (c != ' ') atStart = false;
    }
    return 0;
}

bool admit_text(std::string_view text, const std::string& file, Diagnostics& out) {
    if (text.size() > kMaxFileBytes) {
        out.push_back({Severity::Error, {file, 0, 0},
                       "file is " + mib(text.size()) + ", larger than the " + mib(kMaxFileBytes) + " limit",
                       kSplitHint});
        return false;
    }
    std::string what;
    if (auto bad = first_bad_byte(text, &what); bad != std::string_view::npos) {
        out.push_back({Severity::Error, offset_location(text, bad, file),
                       "file is not UTF-8 text: " + what + " at byte offset " + std::to_string(bad),
                       "save the file as UTF-8 (is it binary or UTF-16?)"});
        return false;
    }
    if (auto deep = too_deep(text, kMaxDepth); deep != std::string_view::npos) {
        out.push_back({Severity::Error, offset_location(text, deep, file),
                       "nesting is deeper than " + std::to_string(kMaxDepth) + " levels",
                       "a topology needs about 6 levels; this is not a netlab topology"});
        return false;
    }
    return true;
}

// Reads a file, refusing what is not a readable regular file of sane size.
std::optional<std::string> read_file(const fs::path& p, Diagnostics& diags) {
    std::error_code ec;
    auto st = fs::status(p, ec);
    std::string file = p.string();
    if (ec || !fs::exists(st)) {
        diags.push_back({Severity::Error, {file, 0, 0}, "cannot read: no such file", "check the path"});
        return std::nullopt;
    }
    if (fs::is_directory(st)) {
        diags.push_back({Severity::Error, {file, 0, 0}, "is a directory, expected a topology file",
                         "give the file itself, or the directory holding topology.yaml"});
        return std::nullopt;
    }
    if (!fs::is_regular_file(st)) {
        diags.push_back({Severity::Error, {file, 0, 0}, "is not a regular file", "give a topology .yaml file"});
        return std::nullopt;
    }
    auto size = fs::file_size(p, ec);
    if (!ec && size > kMaxFileBytes) {
        diags.push_back({Severity::Error, {file, 0, 0},
                         "file is " + mib(size) + ", larger than the " + mib(kMaxFileBytes) + " limit",
                         kSplitHint});
        return std::nullopt;
    }
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (!f) {
        int err = errno;
        diags.push_back({Severity::Error, {file, 0, 0}, std::string("cannot read: ") + std::strerror(err),
                         err == EACCES ? "run as a user that may read it (root), or fix its permissions" : ""});
        return std::nullopt;
    }
    std::string text;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        text.append(buf, n);
        if (text.size() > kMaxFileBytes) break;  // it grew while we read
    }
    bool err = std::ferror(f);
    std::fclose(f);
    if (err) {
        diags.push_back({Severity::Error, {file, 0, 0}, "cannot read: I/O error", ""});
        return std::nullopt;
    }
    return text;
}

}  // namespace netlab::model
