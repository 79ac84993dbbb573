#include "pactum/actors/conversation_machine.hpp"

#include <cassert>

namespace pactum::actors::conversation {

std::string dedup_key(const uuid& author, const std::string& client_id) {
  std::string key{reinterpret_cast<const char*>(author.bytes.data()), author.bytes.size()};
  key += client_id;
  return key;
}

decision decide(const state& s, const post_message& cmd, millis now) {
  if (!s.is_member(cmd.author))
    return refusal{protocol::error_code::forbidden, "not a member of this conversation"};
  if (cmd.client_id.empty())
    return refusal{protocol::error_code::bad_request, "client_id must not be empty"};
  if (cmd.text.empty())
    return refusal{protocol::error_code::bad_request, "text must not be empty"};
  if (auto i = s.recent.find(dedup_key(cmd.author, cmd.client_id)); i != s.recent.end())
    return duplicate{i->second.seq, i->second.at};
  return accepted{protocol::message_posted{cmd.author, cmd.client_id, cmd.text, now}};
}

namespace {

template <class... Fs>
struct overload : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overload(Fs...) -> overload<Fs...>;

} // namespace

void apply(state& s, int64_t seq, const protocol::conversation_event& ev, const rules& r) {
  assert(seq == s.head + 1);
  std::visit(overload{
               [&](const protocol::conversation_opened& x) {
                 s.brand = x.brand;
                 s.creator = x.creator;
               },
               [&](const protocol::message_posted& x) {
                 auto key = dedup_key(x.author, x.client_id);
                 if (s.recent.emplace(key, state::sent{seq, x.at}).second) {
                   s.recent_order.push_back(std::move(key));
                   while (s.recent_order.size() > r.dedup_window) {
                     s.recent.erase(s.recent_order.front());
                     s.recent_order.pop_front();
                   }
                 }
               },
             },
             ev);
  s.head = seq;
}

} // namespace pactum::actors::conversation
