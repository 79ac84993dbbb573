#pragma once

// Campaign rooms (docs/protocol.md, "Campaign rooms"): the group chat of a campaign's brand and the
// creators working on it. A room is a conversation entity (same actor, journal and chat path as a
// brand-creator conversation) whose first event is `room.opened`; its id is derived from the
// campaign's, so finding a room needs no index and two first openers name the same journal.

#include "pactum/common/uuid.hpp"

namespace pactum::actors {

/// The id of campaign `campaign`'s room: a name-based (version 8) UUID, stable for the campaign.
uuid room_id_for(const uuid& campaign);

} // namespace pactum::actors
