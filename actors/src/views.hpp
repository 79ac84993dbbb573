#pragma once

// Views of approved campaign posts (actors/src/views.cpp): what the campaign actor hands over
// when content is approved. Internal to actors/src.

#include <memory>
#include <string>
#include <vector>

#include "pactum/common/uuid.hpp"

namespace pactum::actors {

struct services;

/// An approved submission: its id (seq), the stored `content.submitted` payload and the stored
/// `content.reviewed` payload of its approval (null when not at hand).
struct approved_submission {
  int64_t submission = 0;
  std::shared_ptr<const std::string> content;
  std::shared_ptr<const std::string> review;
};

/// Tracks the posts of `approved` (those on a social platform, by their first media URL) for
/// view polling, on the persistence pool; a post already tracked is left as it is, so calling
/// this again (every activation) is harmless. Returns at once; failures are logged.
void track_approved_content(services& svc, const uuid& campaign, std::vector<approved_submission> approved);

} // namespace pactum::actors
