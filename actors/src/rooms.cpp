#include "rooms.hpp"

#include <string>

#include "name_uuid.hpp"

namespace pactum::actors {

uuid room_id_for(const uuid& campaign) {
  return name_uuid("pactum.room|" + campaign.str());
}

} // namespace pactum::actors
