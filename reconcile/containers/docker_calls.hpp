// The Engine API calls behind the published networks (docker_network.hpp):
// observe what Docker holds, send steps addressing networks by ID.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "reconcile/containers/docker.hpp"
#include "reconcile/containers/docker_network.hpp"

namespace netlab::reconcile::docker {

// Every Docker network (GET /v1.41/networks), netlab's with their containers
// (GET /v1.41/networks/ID).
std::variant<Seen, Error> observe(const Client& c);

// Every container, running or not (GET /v1.41/containers/json?all=1).
std::variant<SeenContainers, Error> observe_containers(const Client& c);

// Sends steps one at a time. A network is addressed by the ID its step
// carries (observed when the plan was made) or, for one this runner created
// (or re-created in place of an old ID), by the ID Docker answered then:
// never by name, so a network someone else made under the same name is not
// touched. done() is what Docker accepted, each with the IDs it acted on:
// exactly what a rollback undoes.
class Runner {
public:
    explicit Runner(const Client& c) : client_(c) {}
    // nullopt when Docker did it.
    std::optional<Error> execute(const Step& s);
    const std::vector<Step>& done() const { return done_; }
    // The step whose request was sent but whose answer never came or was
    // not understood (a timeout): Docker may have done it; only what
    // Docker shows can tell.
    const std::optional<Step>& unsure() const { return unsure_; }

private:
    const Client& client_;
    std::map<std::string, std::string> now_id_;  // a created network's name, or the ID it replaces -> its ID
    std::vector<Step> done_;
    std::optional<Step> unsure_;
};

// Undoes `done` (a Runner's done(), or part of it) exactly, last first,
// best effort, one line per step (or failure) into `said`; true when every
// step was accepted.
bool roll_back_done(const Client& c, const std::vector<Step>& done, std::vector<std::string>& said);

// Undoes what of `forward` Docker shows as done (undo()), best effort, one
// line per step (or failure) into `said`; true when Docker then shows
// nothing of it left. For a journal, which does not say how far it got;
// `earlier` as for undo().
bool roll_back(const Client& c, const std::vector<Step>& forward, std::vector<std::string>& said,
               const std::vector<Step>& earlier = {});

}  // namespace netlab::reconcile::docker
