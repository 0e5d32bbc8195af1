// The Engine API calls behind the published networks (docker_network.hpp):
// observe what Docker holds, send one step.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "reconcile/docker.hpp"
#include "reconcile/docker_network.hpp"

namespace netlab::reconcile::docker {

// Every Docker network (GET /v1.41/networks), netlab's with their containers
// (GET /v1.41/networks/ID).
std::variant<Seen, Error> observe(const Client& c);

// The one request a step stands for; nullopt when Docker did it.
std::optional<Error> execute(const Client& c, const Step& s);

// Undoes what of `forward` Docker shows as done (undo()), best effort, one
// line per step (or failure) into `said`; true when Docker then shows
// nothing of it left.
bool roll_back(const Client& c, const std::vector<Step>& forward, std::vector<std::string>& said);

}  // namespace netlab::reconcile::docker
