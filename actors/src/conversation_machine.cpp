#include "pactum/actors/conversation_machine.hpp"

#include <cassert>
#include <cstring>
#include <optional>

#include <nlohmann/json.hpp>

#include <set>

#include "pactum/common/overload.hpp"
#include "pactum/actors/contact_guard.hpp"

namespace pactum::actors::conversation {

std::string dedup_key(const uuid& author, const std::string& client_id) {
  std::string key{reinterpret_cast<const char*>(author.bytes.data()), author.bytes.size()};
  key += client_id;
  return key;
}

std::string_view to_string(guard_policy x) noexcept {
  switch (x) {
    case guard_policy::off:
      return "off";
    case guard_policy::flag:
      return "flag";
    case guard_policy::mask:
      return "mask";
    case guard_policy::block:
      return "block";
  }
  return "off";
}

std::optional<guard_policy> guard_policy_from_string(std::string_view x) noexcept {
  for (auto p : {guard_policy::off, guard_policy::flag, guard_policy::mask, guard_policy::block})
    if (to_string(p) == x)
      return p;
  return std::nullopt;
}

bool state::has_deal() const {
  for (auto& [seq, o] : offers)
    if (o.status == offer_status::accepted)
      return true;
  return false;
}

namespace {

/// Runs the anti-bypass guard over the free texts of a command, before the conversation has a
/// deal. With the mask policy the texts are masked in place. nullopt: nothing found (or the
/// guard is off, or a deal exists).
std::optional<guard_finding> screen(const uuid& sender, const std::vector<std::string*>& texts,
                                    const state& s, const rules& r) {
  if (r.guard == guard_policy::off || s.has_deal())
    return std::nullopt;
  std::set<std::string> categories;
  std::string original;
  for (auto* text : texts) {
    auto hits = guard::scan(*text);
    if (hits.empty())
      continue;
    for (auto& h : hits)
      categories.emplace(guard::to_string(h.what));
    if (!original.empty())
      original += '\n';
    original += *text;
    if (r.guard == guard_policy::mask)
      *text = guard::mask(*text, hits);
  }
  if (categories.empty())
    return std::nullopt;
  const char* action = r.guard == guard_policy::block  ? "blocked"
                       : r.guard == guard_policy::mask ? "masked"
                                                       : "flagged";
  return guard_finding{sender, {categories.begin(), categories.end()}, action, std::move(original)};
}

refusal blocked(guard_finding finding) {
  std::string found;
  for (auto& c : finding.categories)
    found += (found.empty() ? "" : ", ") + c;
  return refusal{protocol::error_code::content_blocked,
                 "contact details and payment outside Pactum cannot be shared before a deal is "
                 "accepted (found: " + found + "); the attempt was recorded",
                 std::move(finding)};
}

} // namespace

decision decide(const state& s, const post_message& cmd, millis now, const rules& r) {
  if (!s.is_participant(cmd.author))
    return refusal{protocol::error_code::forbidden, "not a member of this conversation"};
  if (cmd.client_id.empty())
    return refusal{protocol::error_code::bad_request, "client_id must not be empty"};
  if (cmd.text.empty())
    return refusal{protocol::error_code::bad_request, "text must not be empty"};
  if (auto i = s.recent.find(dedup_key(cmd.author, cmd.client_id)); i != s.recent.end())
    return duplicate{i->second.seq, i->second.at};
  if (cmd.reply_to < 0 || cmd.reply_to > s.head)
    return refusal{protocol::error_code::bad_request, "reply_to names no message of this conversation"};
  auto text = cmd.text;
  auto finding = screen(cmd.author, {&text}, s, r);
  if (finding && r.guard == guard_policy::block)
    return blocked(std::move(*finding));
  return accepted{protocol::message_posted{cmd.author, cmd.client_id, std::move(text), now,
                                           cmd.reply_to, cmd.attachments},
                  std::move(finding)};
}

namespace {

/// FNV-1a: stable across builds, since it is stored in snapshots.
uint64_t text_hash(const std::string& text) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

/// The checks edits and deletes share; nullptr when the change may go ahead.
std::optional<refusal> check_change(const state& s, const uuid& by, int64_t target, millis now,
                                    const rules& r, const state::message_meta*& meta) {
  if (!s.is_participant(by))
    return refusal{protocol::error_code::forbidden, "not a member of this conversation"};
  auto i = s.messages.find(target);
  if (i == s.messages.end()) // not a message, or too old to be remembered (far past the window)
    return refusal{protocol::error_code::not_found, "no message with this seq that can be changed"};
  meta = &i->second;
  if (meta->author != by)
    return refusal{protocol::error_code::forbidden, "only its author may change a message"};
  if (now - meta->at > r.edit_window)
    return refusal{protocol::error_code::forbidden, "the edit window of this message has passed"};
  return std::nullopt;
}

} // namespace

decision decide(const state& s, const edit_message& cmd, millis now, const rules& r) {
  const state::message_meta* meta = nullptr;
  if (auto no = check_change(s, cmd.by, cmd.target, now, r, meta))
    return *no;
  if (meta->deleted)
    return refusal{protocol::error_code::conflict, "the message was deleted"};
  auto text = cmd.text;
  auto finding = screen(cmd.by, {&text}, s, r);
  if (finding && r.guard == guard_policy::block)
    return blocked(std::move(*finding));
  if (meta->text_hash == text_hash(text))
    return duplicate{meta->last_change, meta->at}; // nothing to change (e.g. a retry)
  return accepted{protocol::message_edited{cmd.target, cmd.by, std::move(text), now},
                  std::move(finding)};
}

decision decide(const state& s, const mark_read& cmd, millis now, const rules&) {
  if (!s.is_participant(cmd.member))
    return refusal{protocol::error_code::forbidden, "not a member of this conversation"};
  if (cmd.upto > s.head)
    return refusal{protocol::error_code::bad_request, "seq is beyond the conversation's head"};
  if (auto i = s.reads.find(cmd.member); i != s.reads.end() && i->second.upto >= cmd.upto)
    return duplicate{i->second.event_seq, i->second.at}; // marks only move forward
  return accepted{protocol::read_marked{cmd.member, cmd.upto, now}};
}

std::string_view to_string(offer_status x) noexcept {
  switch (x) {
    case offer_status::pending:
      return "pending";
    case offer_status::withdrawn:
      return "withdrawn";
    case offer_status::declined:
      return "declined";
    case offer_status::accepted:
      return "accepted";
    case offer_status::expired:
      return "expired";
    case offer_status::superseded:
      return "superseded";
  }
  return "unknown";
}

size_t state::pending_offers() const {
  size_t n = 0;
  for (auto& [seq, o] : offers)
    if (o.status == offer_status::pending)
      ++n;
  return n;
}

millis state::next_offer_expiry() const {
  millis next = 0;
  for (auto& [seq, o] : offers)
    if (o.status == offer_status::pending && (next == 0 || o.expires_at < next))
      next = o.expires_at;
  return next;
}

namespace {

refusal not_pending(int64_t seq, const state::offer_meta& o, millis now) {
  if (o.status == offer_status::pending && o.expires_at <= now)
    return {protocol::error_code::conflict, "offer " + std::to_string(seq) + " has expired"};
  return {protocol::error_code::conflict, "offer " + std::to_string(seq) + " is no longer pending: it was "
                                            + std::string{to_string(o.status)}};
}

} // namespace

decision decide(const state& s, const make_offer& cmd, millis now, const rules& r) {
  if (!s.is_member(cmd.by))
    return refusal{protocol::error_code::forbidden, "not a member of this conversation"};
  if (s.is_room())
    return refusal{protocol::error_code::forbidden,
                   "offers are not made in a campaign room: make them in the brand-creator "
                   "conversation"};
  if (cmd.client_id.empty())
    return refusal{protocol::error_code::bad_request, "client_id must not be empty"};
  if (auto i = s.recent.find(dedup_key(cmd.by, cmd.client_id)); i != s.recent.end())
    return duplicate{i->second.seq, i->second.at};
  if (cmd.ttl <= 0)
    return refusal{protocol::error_code::bad_request, "an offer needs a lifetime"};
  size_t pending = s.pending_offers();
  if (cmd.counter_to != 0) {
    auto i = s.offers.find(cmd.counter_to);
    if (i == s.offers.end())
      return refusal{protocol::error_code::not_found, "counter_to names no offer of this conversation"};
    if (i->second.by == cmd.by)
      return refusal{protocol::error_code::forbidden,
                     "only the other member's offer can be countered; withdraw your own and make a new one"};
    if (i->second.status != offer_status::pending || i->second.expires_at <= now)
      return not_pending(cmd.counter_to, i->second, now);
    --pending; // the counter supersedes it
  }
  if (pending >= r.max_pending_offers)
    return refusal{protocol::error_code::limit_reached,
                   "this conversation already has " + std::to_string(pending)
                     + " pending offers (the limit): wait for answers or withdraw one"};
  auto terms = cmd.terms;
  std::vector<std::string*> briefs; // free text too
  for (auto& d : terms.deliverables)
    briefs.push_back(&d.brief);
  auto finding = screen(cmd.by, briefs, s, r);
  if (finding && r.guard == guard_policy::block)
    return blocked(std::move(*finding));
  return accepted{protocol::offer_made{cmd.by, cmd.client_id, std::move(terms), cmd.counter_to,
                                       now + cmd.ttl, now},
                  std::move(finding)};
}

decision decide(const state& s, const answer_offer& cmd, millis now, const rules& r) {
  if (!s.is_member(cmd.by))
    return refusal{protocol::error_code::forbidden, "not a member of this conversation"};
  auto i = s.offers.find(cmd.offer);
  if (i == s.offers.end())
    return refusal{protocol::error_code::not_found, "no offer with this seq in this conversation"};
  const auto& o = i->second;
  const bool own = o.by == cmd.by;
  if (cmd.what == answer::withdraw && !own)
    return refusal{protocol::error_code::forbidden, "only its author may withdraw an offer"};
  if (cmd.what != answer::withdraw && own)
    return refusal{protocol::error_code::forbidden,
                   "only the other member may accept or decline an offer"};
  if (o.status != offer_status::pending) {
    // A retry (or a second click, from another device) of the answer that ended it.
    static constexpr offer_status ends[] = {offer_status::accepted, offer_status::declined,
                                            offer_status::withdrawn};
    if (o.status == ends[static_cast<size_t>(cmd.what)]) {
      return duplicate{o.closed_by, o.closed_at, o.contract};
    }
    return not_pending(cmd.offer, o, now);
  }
  if (o.expires_at <= now)
    return not_pending(cmd.offer, o, now);
  switch (cmd.what) {
    case answer::accept:
      if (cmd.contract.is_nil())
        return refusal{protocol::error_code::internal, "accept without a contract id"};
      return accepted{protocol::offer_accepted{cmd.offer, cmd.by, cmd.contract, now}};
    case answer::decline: {
      auto reason = cmd.reason;
      auto finding = screen(cmd.by, {&reason}, s, r);
      if (finding && r.guard == guard_policy::block)
        return blocked(std::move(*finding));
      return accepted{protocol::offer_declined{cmd.offer, cmd.by, std::move(reason), now},
                      std::move(finding)};
    }
    case answer::withdraw:
      break;
  }
  return accepted{protocol::offer_withdrawn{cmd.offer, cmd.by, now}};
}

decision decide(const state& s, const expire_offer& cmd, millis now, const rules&) {
  auto i = s.offers.find(cmd.offer);
  if (i == s.offers.end() || i->second.status != offer_status::pending)
    return refusal{protocol::error_code::conflict, "not a pending offer"};
  if (i->second.expires_at > now)
    return refusal{protocol::error_code::conflict, "not due yet"};
  return accepted{protocol::offer_expired{cmd.offer, now}};
}

decision decide(const state& s, const note_dispute& cmd, millis now, const rules&) {
  if (!s.exists())
    return refusal{protocol::error_code::forbidden, "no such conversation"};
  bool known = s.disputes.count(cmd.contract) > 0;
  if (known == cmd.open) // already noted: a repeated report changes nothing
    return duplicate{s.head, now};
  return accepted{protocol::dispute_changed{cmd.contract, cmd.open, now}};
}

decision decide(const state& s, const join& cmd, millis now, const rules& r) {
  if (!s.exists() || !cmd.moderator)
    return refusal{protocol::error_code::forbidden, "only moderators join conversations"};
  if (s.is_participant(cmd.user))
    return duplicate{s.head, now};
  if (s.disputes.empty())
    return refusal{protocol::error_code::forbidden,
                   "moderators join a conversation only while its deal is disputed"};
  if (2 + s.moderators.size() >= r.max_members)
    return refusal{protocol::error_code::limit_reached,
                   "the conversation already has the maximum number of members ("
                     + std::to_string(r.max_members) + ")"};
  return accepted{protocol::moderator_joined{cmd.user, now}};
}

decision decide(const state& s, const enter_room& cmd, millis now, const rules& r) {
  if (!s.exists()) {
    if (cmd.user != cmd.brand || cmd.campaign.is_nil())
      return refusal{protocol::error_code::forbidden, "the campaign's room is not open"};
    return accepted{protocol::room_opened{cmd.campaign, cmd.brand, now}};
  }
  if (!s.is_room() || s.campaign != cmd.campaign)
    return refusal{protocol::error_code::internal, "this conversation is not the campaign's room"};
  if (s.is_member(cmd.user))
    return duplicate{s.head, now};
  if (1 + s.room_members.size() >= r.max_room_members)
    return refusal{protocol::error_code::limit_reached,
                   "the campaign room already has the maximum number of members ("
                     + std::to_string(r.max_room_members) + ")"};
  return accepted{protocol::member_joined{cmd.user, now}};
}

int64_t state::unread(const uuid& member) const {
  int64_t mark = 0;
  if (auto i = reads.find(member); i != reads.end())
    mark = i->second.upto;
  int64_t n = 0;
  for (auto i = messages.upper_bound(mark); i != messages.end(); ++i)
    if (!i->second.deleted && i->second.author != member)
      ++n;
  return n;
}

decision decide(const state& s, const delete_message& cmd, millis now, const rules& r) {
  const state::message_meta* meta = nullptr;
  if (auto no = check_change(s, cmd.by, cmd.target, now, r, meta))
    return *no;
  if (meta->deleted)
    return duplicate{meta->last_change, meta->at};
  return accepted{protocol::message_deleted{cmd.target, cmd.by, now}};
}

namespace {

void remember_client_id(state& s, std::string key, int64_t seq, millis at, const rules& r) {
  if (s.recent.emplace(key, state::sent{seq, at}).second) {
    s.recent_order.push_back(std::move(key));
    while (s.recent_order.size() > r.dedup_window) {
      s.recent.erase(s.recent_order.front());
      s.recent_order.pop_front();
    }
  }
}

/// Ends a pending offer; false when it is not pending (already ended: the first end stands).
bool close_offer(state& s, int64_t offer, offer_status status, int64_t seq, millis at) {
  auto i = s.offers.find(offer);
  if (i == s.offers.end() || i->second.status != offer_status::pending)
    return false;
  i->second.status = status;
  i->second.closed_by = seq;
  i->second.closed_at = at;
  i->second.terms.reset(); // the journal keeps them; an accepted offer's are the contract's
  return true;
}

} // namespace

void apply(state& s, int64_t seq, const protocol::conversation_event& ev, const rules& r) {
  assert(seq == s.head + 1);
  std::visit(overload{
               [&](const protocol::conversation_opened& x) {
                 s.brand = x.brand;
                 s.creator = x.creator;
               },
               [&](const protocol::message_posted& x) {
                 remember_client_id(s, dedup_key(x.author, x.client_id), seq, x.at, r);
                 s.messages[seq] = state::message_meta{x.author, x.at, text_hash(x.text), false, seq};
                 while (s.messages.size() > r.dedup_window)
                   s.messages.erase(s.messages.begin());
               },
               [&](const protocol::message_edited& x) {
                 if (auto i = s.messages.find(x.target); i != s.messages.end()) {
                   i->second.text_hash = text_hash(x.text);
                   i->second.last_change = seq;
                 }
               },
               [&](const protocol::message_deleted& x) {
                 if (auto i = s.messages.find(x.target); i != s.messages.end()) {
                   i->second.deleted = true;
                   i->second.last_change = seq;
                 }
               },
               [&](const protocol::read_marked& x) {
                 auto& mark = s.reads[x.member];
                 if (x.seq > mark.upto)
                   mark = state::read_mark{x.seq, seq, x.at};
               },
               [&](const protocol::offer_made& x) {
                 remember_client_id(s, dedup_key(x.by, x.client_id), seq, x.at, r);
                 s.offers[seq] = state::offer_meta{x.by, x.expires_at, offer_status::pending, 0, 0, {},
                                                   x.terms};
                 if (x.counter_to != 0)
                   close_offer(s, x.counter_to, offer_status::superseded, seq, x.at);
               },
               [&](const protocol::offer_withdrawn& x) {
                 close_offer(s, x.offer, offer_status::withdrawn, seq, x.at);
               },
               [&](const protocol::offer_declined& x) {
                 close_offer(s, x.offer, offer_status::declined, seq, x.at);
               },
               [&](const protocol::offer_accepted& x) {
                 if (close_offer(s, x.offer, offer_status::accepted, seq, x.at))
                   s.offers[x.offer].contract = x.contract;
                 // The deal is struck: every other open offer is moot.
                 for (auto& [other, o] : s.offers)
                   if (o.status == offer_status::pending)
                     close_offer(s, other, offer_status::superseded, seq, x.at);
               },
               [&](const protocol::offer_expired& x) {
                 close_offer(s, x.offer, offer_status::expired, seq, x.at);
               },
               [&](const protocol::dispute_changed& x) {
                 if (x.open)
                   s.disputes.insert(x.contract);
                 else
                   s.disputes.erase(x.contract);
               },
               [&](const protocol::moderator_joined& x) { s.moderators.insert(x.moderator); },
               [&](const protocol::room_opened& x) {
                 s.campaign = x.campaign;
                 s.brand = x.brand;
               },
               [&](const protocol::member_joined& x) { s.room_members.insert(x.member); },
             },
             ev);
  s.head = seq;
}

using json = nlohmann::json;

namespace {

// Snapshot version 2 packs the two indexes as binary blobs of fixed-layout records (little
// endian), decoded by a tight loop: a snapshot is on the activation path, and decoding 8,000 small
// msgpack arrays dominated activation time.
template <class T>
void put(std::string& out, T x) {
  char buf[sizeof(T)];
  std::memcpy(buf, &x, sizeof(T));
  out.append(buf, sizeof(T));
}

template <class T>
bool get(const std::vector<uint8_t>& in, size_t& pos, T& x) {
  if (pos + sizeof(T) > in.size())
    return false;
  std::memcpy(&x, in.data() + pos, sizeof(T));
  pos += sizeof(T);
  return true;
}

} // namespace

std::string encode_snapshot(const state& s) {
  std::string recent;
  recent.reserve(s.recent_order.size() * 40);
  for (auto& key : s.recent_order) {
    auto& sent = s.recent.at(key);
    put<uint16_t>(recent, static_cast<uint16_t>(key.size()));
    recent += key;
    put<int64_t>(recent, sent.seq);
    put<int64_t>(recent, sent.at);
  }
  std::string messages;
  messages.reserve(s.messages.size() * 49);
  for (auto& [seq, m] : s.messages) {
    put<int64_t>(messages, seq);
    messages.append(reinterpret_cast<const char*>(m.author.bytes.data()), m.author.bytes.size());
    put<int64_t>(messages, m.at);
    put<uint64_t>(messages, m.text_hash);
    put<uint8_t>(messages, m.deleted ? 1 : 0);
    put<int64_t>(messages, m.last_change);
  }
  json obj{{"id", s.id.str()},
           {"brand", s.brand.str()},
           {"creator", s.creator.str()},
           {"head", s.head},
           {"recent", json::binary(std::vector<uint8_t>(recent.begin(), recent.end()))},
           {"messages", json::binary(std::vector<uint8_t>(messages.begin(), messages.end()))}};
  auto reads = json::array();
  for (auto& [member, mark] : s.reads)
    reads.push_back(json::array({member.str(), mark.upto, mark.event_seq, mark.at}));
  obj["reads"] = std::move(reads);
  auto offers = json::array();
  for (auto& [seq, o] : s.offers) {
    auto entry = json::array({seq, o.by.str(), o.expires_at, static_cast<int>(o.status),
                              o.closed_by, o.closed_at, o.contract.str()});
    if (o.terms) { // version 4: a pending offer's terms
      auto t = protocol::encode_terms(*o.terms);
      entry.push_back(json::binary(std::vector<uint8_t>(t.begin(), t.end())));
    }
    offers.push_back(std::move(entry));
  }
  obj["offers"] = std::move(offers);
  auto ids = [](const std::set<uuid>& set) {
    auto list = json::array();
    for (auto& id : set)
      list.push_back(id.str());
    return list;
  };
  obj["disputes"] = ids(s.disputes);     // version 5
  obj["moderators"] = ids(s.moderators); // version 5
  obj["campaign"] = s.campaign.str();         // version 6
  obj["room_members"] = ids(s.room_members); // version 6
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

expected<state, std::string> decode_snapshot(int16_t version, std::string_view bytes,
                                             const rules& r) {
  if (version < 1 || version > 6)
    return std::string{"unknown conversation snapshot version "} + std::to_string(version);
  auto obj = json::from_msgpack(bytes.begin(), bytes.end(), true, false);
  if (obj.is_discarded() || !obj.is_object())
    return std::string{"snapshot is not a msgpack map"};
  try {
    state s;
    auto id = uuid::parse(obj.at("id").get<std::string>());
    auto brand = uuid::parse(obj.at("brand").get<std::string>());
    auto creator = uuid::parse(obj.at("creator").get<std::string>());
    if (!id || !brand || !creator)
      return std::string{"snapshot has a malformed id"};
    s.id = *id;
    s.brand = *brand;
    s.creator = *creator;
    s.head = obj.at("head").get<int64_t>();
    if (version == 1) { // an array of [key, seq, at]; no message index (older messages are final)
      for (auto& entry : obj.at("recent")) {
        auto& bin = entry.at(0).get_binary();
        std::string key(bin.begin(), bin.end());
        s.recent.emplace(key, state::sent{entry.at(1).get<int64_t>(), entry.at(2).get<int64_t>()});
        s.recent_order.push_back(std::move(key));
      }
    } else {
      auto& recent = obj.at("recent").get_binary();
      for (size_t pos = 0; pos < recent.size();) {
        uint16_t len = 0;
        state::sent sent{};
        if (!get(recent, pos, len) || pos + len > recent.size())
          return std::string{"snapshot: truncated dedup index"};
        std::string key(reinterpret_cast<const char*>(recent.data() + pos), len);
        pos += len;
        if (!get(recent, pos, sent.seq) || !get(recent, pos, sent.at))
          return std::string{"snapshot: truncated dedup index"};
        s.recent.emplace(key, sent);
        s.recent_order.push_back(std::move(key));
      }
      auto& messages = obj.at("messages").get_binary();
      for (size_t pos = 0; pos < messages.size();) {
        int64_t seq = 0;
        state::message_meta m;
        uint8_t deleted = 0;
        if (!get(messages, pos, seq) || pos + 16 > messages.size())
          return std::string{"snapshot: truncated message index"};
        std::memcpy(m.author.bytes.data(), messages.data() + pos, 16);
        pos += 16;
        if (!get(messages, pos, m.at) || !get(messages, pos, m.text_hash)
            || !get(messages, pos, deleted) || !get(messages, pos, m.last_change))
          return std::string{"snapshot: truncated message index"};
        m.deleted = deleted != 0;
        s.messages.emplace_hint(s.messages.end(), seq, m);
      }
      for (auto& r : obj.at("reads")) {
        auto member = uuid::parse(r.at(0).get<std::string>());
        if (!member)
          return std::string{"snapshot has a malformed member"};
        s.reads[*member] = state::read_mark{r.at(1).get<int64_t>(), r.at(2).get<int64_t>(),
                                            r.at(3).get<int64_t>()};
      }
    }
    if (version >= 3) { // versions 1 and 2 predate offers
      for (auto& o : obj.at("offers")) {
        auto by = uuid::parse(o.at(1).get<std::string>());
        auto contract = uuid::parse(o.at(6).get<std::string>());
        auto status = o.at(3).get<int>();
        if (!by || !contract || status < 0 || status > static_cast<int>(offer_status::superseded))
          return std::string{"snapshot has a malformed offer"};
        auto& meta = s.offers[o.at(0).get<int64_t>()] =
          state::offer_meta{*by, o.at(2).get<int64_t>(), static_cast<offer_status>(status),
                            o.at(4).get<int64_t>(), o.at(5).get<int64_t>(), *contract};
        if (meta.status != offer_status::pending)
          continue;
        if (o.size() < 8) // version 3 kept no terms; an accept would need them
          return std::string{"snapshot predates offer terms and has a pending offer"};
        auto& bin = o.at(7).get_binary();
        auto terms = protocol::decode_terms(
          std::string_view{reinterpret_cast<const char*>(bin.data()), bin.size()});
        if (!terms)
          return "snapshot has malformed offer terms: " + terms.error();
        meta.terms = std::move(*terms);
      }
    }
    if (version >= 5) { // earlier versions predate disputes and moderators
      for (auto [key, set] : {std::pair{"disputes", &s.disputes}, std::pair{"moderators", &s.moderators}})
        for (auto& v : obj.at(key)) {
          auto id = uuid::parse(v.get<std::string>());
          if (!id)
            return std::string{"snapshot has a malformed "} + key + " entry";
          set->insert(*id);
        }
    }
    if (version >= 6) { // earlier versions predate campaign rooms
      auto campaign = uuid::parse(obj.at("campaign").get<std::string>());
      if (!campaign)
        return std::string{"snapshot has a malformed campaign"};
      s.campaign = *campaign;
      for (auto& v : obj.at("room_members")) {
        auto id = uuid::parse(v.get<std::string>());
        if (!id)
          return std::string{"snapshot has a malformed room_members entry"};
        s.room_members.insert(*id);
      }
    }
    while (s.recent_order.size() > r.dedup_window) {
      s.recent.erase(s.recent_order.front());
      s.recent_order.pop_front();
    }
    while (s.messages.size() > r.dedup_window)
      s.messages.erase(s.messages.begin());
    return s;
  } catch (const json::exception& ex) {
    return std::string{"malformed snapshot: "} + ex.what();
  }
}

} // namespace pactum::actors::conversation
