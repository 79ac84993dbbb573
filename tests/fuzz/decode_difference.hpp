#pragma once

// decode_request (a one-pass fast path for `message.send`, the DOM for everything else) against
// the reference DOM decoder, detail::decode_request_dom: the same request or the same error (code,
// message and id) for every input. Used by the differential test, the fuzz target and its replay.

#include <string>
#include <string_view>
#include <variant>

#include "pactum/protocol/codec.hpp"

// protocol/src (private to the protocol layer): the reference DOM decoder.
#include "chat_send_decode.hpp"

namespace pactum::fuzz {

inline std::string describe_id(const std::optional<protocol::request_id>& id) {
  if (!id)
    return "none";
  if (auto* i = std::get_if<int64_t>(&id->value))
    return std::to_string(*i);
  return '"' + std::get<std::string>(id->value) + '"';
}

/// Empty when decode_request and decode_request_dom answer `frame` identically; otherwise what
/// differs.
inline std::string decode_difference(std::string_view frame, protocol::encoding enc,
                                     const protocol::limits& lim) {
  auto got = protocol::decode_request(frame, enc, lim);
  auto want = protocol::detail::decode_request_dom(frame, enc, lim);
  if (got.has_value() != want.has_value())
    return got ? "decode_request decoded a frame the DOM refuses: " + want.error().message
               : "decode_request refused a frame the DOM decodes: " + got.error().message;
  if (!got) {
    auto& a = got.error();
    auto& b = want.error();
    if (a.code != b.code || a.message != b.message || describe_id(a.id) != describe_id(b.id))
      return "errors differ: '" + a.message + "' (id " + describe_id(a.id) + ") against '"
             + b.message + "' (id " + describe_id(b.id) + ")";
    return {};
  }
  if (got->id.value != want->id.value)
    return "ids differ: " + describe_id(got->id) + " against " + describe_id(want->id);
  if (got->body.index() != want->body.index())
    return "request types differ";
  if (auto* a = std::get_if<protocol::message_send_req>(&got->body)) {
    auto& b = std::get<protocol::message_send_req>(want->body);
    if (a->conversation != b.conversation)
      return "conversations differ";
    if (a->client_id != b.client_id)
      return "client_ids differ: '" + a->client_id + "' against '" + b.client_id + "'";
    if (a->text != b.text)
      return "texts differ: '" + a->text + "' against '" + b.text + "'";
    if (a->reply_to != b.reply_to)
      return "reply_to differ: " + std::to_string(a->reply_to) + " against "
             + std::to_string(b.reply_to);
    if (a->attachments != b.attachments)
      return "attachments differ";
  }
  return {};
}

} // namespace pactum::fuzz
