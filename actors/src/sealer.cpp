#include "pactum/actors/sealer.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include <nlohmann/json.hpp>
#include <sodium.h>
#include <sys/stat.h>

#include "msgpack_peek.hpp"

namespace pactum::actors::privacy {

using json = nlohmann::json;

namespace {

constexpr size_t nonce_bytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t tag_bytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32);

/// Which events carry personal data: the fields naming the users it belongs to ("" = the
/// journal's entity, as for a wallet) and the top-level fields that hold it. Types not listed
/// carry none. With two owners (a contract's terms, written by either party) the data is sealed
/// under both keys in turn, so erasing either one makes it unreadable.
struct seal_rule {
  std::string_view type;
  std::vector<std::string_view> owners;
  std::vector<std::string_view> fields;
};

const std::vector<seal_rule>& rules() {
  static const std::vector<seal_rule> table{
    {"message.posted", {"author"}, {"text", "attachments"}},
    {"message.edited", {"by"}, {"text"}},
    {"offer.made", {"by"}, {"terms"}},
    {"offer.declined", {"by"}, {"reason"}},
    {"contract.opened", {"brand", "creator"}, {"terms"}},
    {"contract.delivered", {"by"}, {"items", "note"}},
    {"contract.revision_requested", {"by"}, {"reason"}},
    {"contract.disputed", {"by"}, {"reason"}},
    {"wallet.withdrawal_requested", {""}, {"destination"}},
  };
  return table;
}

const seal_rule* find_rule(std::string_view type) {
  for (auto& r : rules())
    if (r.type == type)
      return &r;
  return nullptr;
}

/// Strings that describe the shape of a value, not the person: kept when scrubbing.
bool structural_key(const std::string& key) {
  return key == "platform" || key == "type" || key == "currency" || key == "scope";
}

/// The value with every free-text string emptied (numbers, booleans and structural strings stay),
/// so the scrubbed event still decodes.
json scrub(const json& v, const std::string& key = {}) {
  if (v.is_string())
    return structural_key(key) ? v : json("");
  if (v.is_array()) {
    auto out = json::array();
    for (auto& x : v)
      out.push_back(scrub(x, key));
    return out;
  }
  if (v.is_object()) {
    auto out = json::object();
    for (auto& [k, x] : v.items())
      out[k] = scrub(x, k);
    return out;
  }
  return v;
}

std::string to_msgpack(const json& v) {
  auto bytes = json::to_msgpack(v);
  return std::string{bytes.begin(), bytes.end()};
}

json parse(std::string_view bytes) {
  return json::from_msgpack(bytes.begin(), bytes.end(), true, false);
}

std::string associated_data(const uuid& owner, std::string_view type) {
  return "pactum-event:" + owner.str() + ":" + std::string{type};
}

std::string user_key_ad(const uuid& user) {
  return "pactum-user-key:" + user.str();
}

} // namespace

data_key random_key() {
  data_key k;
  crypto_aead_xchacha20poly1305_ietf_keygen(k.data());
  return k;
}

std::string seal(const data_key& key, std::string_view plaintext, std::string_view ad) {
  std::string out(nonce_bytes + plaintext.size() + tag_bytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, nonce_bytes);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    nonce + nonce_bytes, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
    plaintext.size(), reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, nonce,
    key.data());
  out.resize(nonce_bytes + len);
  return out;
}

std::optional<std::string> open(const data_key& key, std::string_view sealed, std::string_view ad) {
  if (sealed.size() < nonce_bytes + tag_bytes)
    return std::nullopt;
  auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string out(sealed.size() - nonce_bytes - tag_bytes, '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
        reinterpret_cast<unsigned char*>(out.data()), &len, nullptr, nonce + nonce_bytes,
        sealed.size() - nonce_bytes, reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
        nonce, key.data())
      != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

// -- master key -------------------------------------------------------------------------------

expected<data_key, seal_error> read_key_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return seal_error{"cannot read the master key file " + path};
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    return seal_error{"the master key file " + path
                      + " must be readable by its owner only (chmod 600)"};
  std::ifstream in(path, std::ios::binary);
  std::string raw{std::istreambuf_iterator<char>(in), {}};
  data_key k{};
  if (raw.size() == k.size()) {
    std::memcpy(k.data(), raw.data(), k.size());
    sodium_memzero(raw.data(), raw.size());
    return k;
  }
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r'))
    raw.pop_back();
  size_t got = 0;
  if (raw.size() == 2 * k.size()
      && sodium_hex2bin(k.data(), k.size(), raw.data(), raw.size(), nullptr, &got, nullptr) == 0
      && got == k.size()) {
    sodium_memzero(raw.data(), raw.size());
    return k;
  }
  return seal_error{"the master key file " + path
                    + " must hold 32 raw bytes or 64 hexadecimal digits"};
}

std::string master_key::wrap(const uuid& user, const data_key& key) const {
  return seal(key_, std::string_view{reinterpret_cast<const char*>(key.data()), key.size()},
              user_key_ad(user));
}

std::optional<data_key> master_key::unwrap(const uuid& user, std::string_view wrapped) const {
  auto raw = open(key_, wrapped, user_key_ad(user));
  if (!raw || raw->size() != 32)
    return std::nullopt;
  data_key k;
  std::memcpy(k.data(), raw->data(), k.size());
  sodium_memzero(raw->data(), raw->size());
  return k;
}

namespace {
std::string secret_ad(std::string_view purpose) {
  return "pactum.server-secret.v1:" + std::string{purpose};
}
} // namespace

std::string master_key::seal_secret(std::string_view purpose, std::string_view secret) const {
  return seal(key_, secret, secret_ad(purpose));
}

std::optional<std::string> master_key::open_secret(std::string_view purpose, std::string_view sealed) const {
  return open(key_, sealed, secret_ad(purpose));
}

std::optional<master_key> master_key::from_bytes(std::string_view raw) {
  data_key k{};
  if (raw.size() != k.size())
    return std::nullopt;
  std::memcpy(k.data(), raw.data(), k.size());
  return master_key{k};
}

// -- keyring ----------------------------------------------------------------------------------

std::optional<std::optional<data_key>> keyring::find(const uuid& user) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = index_.find(user);
  if (i == index_.end())
    return std::nullopt;
  lru_.splice(lru_.begin(), lru_, i->second);
  return i->second->key;
}

void keyring::put(const uuid& user, std::optional<data_key> key) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = index_.find(user); i != index_.end()) {
    i->second->key = key;
    lru_.splice(lru_.begin(), lru_, i->second);
    return;
  }
  lru_.push_front(entry{user, key});
  index_.emplace(user, lru_.begin());
  while (lru_.size() > capacity_) {
    if (lru_.back().key)
      sodium_memzero(lru_.back().key->data(), lru_.back().key->size());
    index_.erase(lru_.back().user);
    lru_.pop_back();
  }
}

size_t keyring::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return lru_.size();
}

// -- payloads ---------------------------------------------------------------------------------

std::vector<uuid> payload_owners(std::string_view event_type, std::string_view payload,
                                 const uuid& entity) {
  auto* rule = find_rule(event_type);
  if (!rule)
    return {};
  std::vector<uuid> out;
  for (auto field : rule->owners) {
    if (field.empty()) {
      out.push_back(entity);
      continue;
    }
    // Read from the msgpack directly (every chat message passes here twice): the same answer as
    // the JSON DOM gave, nothing when the payload is not a well-formed map.
    auto value = msgpack_peek_str(payload, field);
    if (!value)
      return {};
    auto id = uuid::parse(*value);
    if (!id)
      return {};
    out.push_back(*id);
  }
  return out;
}

namespace {

/// Cheap pre-check: a sealed payload contains the key "sealed" (msgpack fixstr 0xa6 "sealed").
bool may_be_sealed(std::string_view payload) {
  static constexpr std::string_view marker{"\xa6sealed", 7};
  return payload.find(marker) != std::string_view::npos;
}

std::vector<uuid> owners_of(const json& obj) {
  if (!obj.is_object())
    return {};
  auto s = obj.find("sealed");
  if (s == obj.end() || !s->is_object())
    return {};
  auto k = s->find("k");
  if (k == s->end() || !k->is_array())
    return {};
  std::vector<uuid> out;
  for (auto& x : *k) {
    auto id = x.is_string() ? uuid::parse(x.get_ref<const std::string&>()) : std::nullopt;
    if (!id)
      return {};
    out.push_back(*id);
  }
  return out;
}

} // namespace

std::vector<uuid> sealed_owners(std::string_view payload) {
  if (!may_be_sealed(payload))
    return {};
  return owners_of(parse(payload));
}

namespace {

void put_be(std::string& out, uint64_t x, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

/// A msgpack string or binary header (as nlohmann writes them: the smallest form).
void put_header(std::string& out, size_t n, bool binary) {
  if (!binary && n < 32) {
    out.push_back(static_cast<char>(0xa0 | n));
  } else if (n < 256) {
    out.push_back(static_cast<char>(binary ? 0xc4 : 0xd9));
    put_be(out, n, 1);
  } else if (n < 65536) {
    out.push_back(static_cast<char>(binary ? 0xc5 : 0xda));
    put_be(out, n, 2);
  } else {
    out.push_back(static_cast<char>(binary ? 0xc6 : 0xdb));
    put_be(out, n, 4);
  }
}

void put_str(std::string& out, std::string_view s) {
  put_header(out, s.size(), false);
  out.append(s);
}

bool is_msgpack_str(std::string_view raw) {
  if (raw.empty())
    return false;
  auto b = static_cast<uint8_t>(raw[0]);
  return (b >= 0xa0 && b <= 0xbf) || b == 0xd9 || b == 0xda || b == 0xdb;
}

/// The common case of every chat message, a message.posted with a text and no attachments under
/// one live key, sealed without a JSON DOM: the event with `text` emptied and `sealed` added, as
/// the DOM path below writes it (keys in order, so opening it gives the same event). nullopt for
/// anything else, which takes the DOM path.
std::optional<std::string> seal_message_posted(std::string_view payload, const owner_keys& keys) {
  if (keys.size() != 1 || keys[0].second == nullptr)
    return std::nullopt;
  auto entries = msgpack_map_entries(payload);
  if (!entries || entries->size() >= 15)
    return std::nullopt;
  const msgpack_entry* text = nullptr;
  for (size_t i = 0; i < entries->size(); ++i) {
    auto& e = (*entries)[i];
    if (i > 0 && !((*entries)[i - 1].key < e.key))
      return std::nullopt; // not as the DOM would write it
    if (e.key == "sealed" || e.key == "attachments" || e.key == "erased")
      return std::nullopt;
    if (e.key == "text")
      text = &e;
  }
  if (!text || !is_msgpack_str(text->value))
    return std::nullopt;
  std::string secret; // {"text": <the text>}
  secret.reserve(text->value.size() + 8);
  secret.push_back(static_cast<char>(0x81));
  put_str(secret, "text");
  secret.append(text->value);
  const auto& [owner, key] = keys[0];
  auto blob = seal(*key, secret, associated_data(owner, "message.posted"));
  sodium_memzero(secret.data(), secret.size());
  std::string out;
  out.reserve(payload.size() + blob.size() + 64);
  out.push_back(static_cast<char>(0x80 | (entries->size() + 1)));
  bool sealed_written = false;
  auto write_sealed = [&] {
    put_str(out, "sealed");
    out.push_back(static_cast<char>(0x82)); // {"c": <ciphertext>, "k": [owner]}
    put_str(out, "c");
    put_header(out, blob.size(), true);
    out.append(blob);
    put_str(out, "k");
    out.push_back(static_cast<char>(0x91));
    put_str(out, owner.str());
    sealed_written = true;
  };
  for (auto& e : *entries) {
    if (!sealed_written && std::string_view{"sealed"} < e.key)
      write_sealed();
    put_str(out, e.key);
    if (&e == text)
      out.push_back(static_cast<char>(0xa0)); // scrubbed: ""
    else
      out.append(e.value);
  }
  if (!sealed_written)
    write_sealed();
  return out;
}

} // namespace

expected<std::string, seal_error> seal_payload(std::string_view event_type,
                                               std::string_view payload, const owner_keys& keys) {
  auto* rule = find_rule(event_type);
  if (!rule)
    return std::string{payload};
  if (event_type == "message.posted")
    if (auto fast = seal_message_posted(payload, keys))
      return std::move(*fast);
  if (keys.size() != rule->owners.size())
    return seal_error{"cannot seal " + std::string{event_type} + ": wrong number of keys"};
  auto obj = parse(payload);
  if (!obj.is_object())
    return seal_error{"cannot seal " + std::string{event_type} + ": payload is not a msgpack map"};
  if (obj.contains("sealed"))
    return seal_error{"cannot seal " + std::string{event_type} + ": already sealed"};
  auto secret = json::object();
  for (auto field : rule->fields) {
    auto i = obj.find(std::string{field});
    if (i == obj.end())
      continue;
    secret[std::string{field}] = *i;
    *i = scrub(*i);
  }
  if (secret.empty())
    return std::string{payload};
  bool erased = std::any_of(keys.begin(), keys.end(), [](auto& k) { return k.second == nullptr; });
  if (erased) {
    obj["erased"] = true;
    return to_msgpack(obj);
  }
  auto blob = to_msgpack(secret);
  auto owners = json::array();
  for (auto& [owner, key] : keys) {
    auto next = seal(*key, blob, associated_data(owner, event_type));
    sodium_memzero(blob.data(), blob.size());
    blob = std::move(next);
    owners.push_back(owner.str());
  }
  obj["sealed"] = json{{"k", std::move(owners)},
                       {"c", json::binary(std::vector<uint8_t>(blob.begin(), blob.end()))}};
  return to_msgpack(obj);
}

expected<std::string, seal_error> open_payload(std::string_view event_type,
                                               std::string_view payload, const owner_keys& keys) {
  if (!may_be_sealed(payload))
    return std::string{payload};
  auto obj = parse(payload); // parsed once: owners, ciphertext and the fields to restore
  auto owners = owners_of(obj);
  if (owners.empty())
    return std::string{payload};
  if (keys.size() != owners.size())
    return seal_error{"sealed " + std::string{event_type} + ": wrong number of keys"};
  auto s = obj.find("sealed");
  auto c = s->find("c");
  if (c == s->end() || !c->is_binary())
    return seal_error{"sealed " + std::string{event_type} + ": no ciphertext"};
  bool erased = std::any_of(keys.begin(), keys.end(), [](auto& k) { return k.second == nullptr; });
  if (erased) {
    obj.erase(s);
    obj["erased"] = true;
    return to_msgpack(obj);
  }
  auto& bin = c->get_binary();
  std::string blob{bin.begin(), bin.end()};
  for (size_t i = keys.size(); i-- > 0;) {
    if (keys[i].first != owners[i])
      return seal_error{"sealed " + std::string{event_type} + ": keys in the wrong order"};
    auto plain = open(*keys[i].second, blob, associated_data(owners[i], event_type));
    if (!plain)
      return seal_error{"sealed " + std::string{event_type} + ": does not open with "
                        + owners[i].str() + "'s key"};
    sodium_memzero(blob.data(), blob.size());
    blob = std::move(*plain);
  }
  auto secret = parse(blob);
  sodium_memzero(blob.data(), blob.size());
  if (!secret.is_object())
    return seal_error{"sealed " + std::string{event_type} + ": malformed plaintext"};
  obj.erase(s);
  for (auto& [k, v] : secret.items())
    obj[k] = v;
  return to_msgpack(obj);
}

} // namespace pactum::actors::privacy
