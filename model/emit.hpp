// A Topology written back in the terms of the file netlab reads (format
// version 1), as a JSON document and as YAML text. What it writes loads back
// to an equal Topology; `netlabctl show` prints the live host with it.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/topology.hpp"

namespace netlab::model {

// The document, keys in the order a person writes them: version, drift,
// commit_confirmed, probes, announce, interfaces, routes, networks, containers. One canonical
// spelling per value: `addresses:` lists (never pipework's ADDR@GW), `to:
// default`, a network's `subnet`/`gateway` as a scalar when there is one.
nlohmann::ordered_json to_document(const Topology& t);

// The same document as YAML, block style (flow style for lists of scalars),
// with `header` comment lines before it and `notes` comment lines after it.
std::string to_yaml(const Topology& t, const std::vector<std::string>& header = {},
                    const std::vector<std::string>& notes = {});

}  // namespace netlab::model
