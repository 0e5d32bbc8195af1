// The configuration directory written back, for `netlabctl rollback --to`:
// a revision's topology put in force as DIR/topology.yaml, what it replaces
// (topology.yaml and the drop-ins of topology.d/) moved aside into a
// directory of its own, and put back when the rollback does not take. The
// files stay the source of truth: netlabd applies them, never the revision
// alone (docs/daemon.md, "Revisions").
#pragma once

#include <filesystem>
#include <string>

namespace netlab::daemon {

// Moves DIR/topology.yaml and DIR/topology.d/*.yaml|*.yml into `saved`
// (created; the same tree below it), then writes `text` as DIR/topology.yaml,
// every step durable. A topology.yaml that is a symlink stays one: its target
// is written, keeping its mode and owner. Throws std::system_error (or filesystem_error); what
// was moved by then is put back first.
void replace_config(const std::filesystem::path& dir, const std::string& text, const std::filesystem::path& saved);

// Puts back what replace_config moved into `saved` (a topology.yaml it did
// not find is removed again; through a symlink, the file it made) and removes
// `saved`. Throws like replace_config.
void restore_config(const std::filesystem::path& dir, const std::filesystem::path& saved);

}  // namespace netlab::daemon
