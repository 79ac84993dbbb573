#include "pactum/actors/fraud.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <type_traits>

namespace pactum::actors::fraud {

namespace {

template <class T>
millis time_of(const T& v) {
  if constexpr (std::is_same_v<T, millis>)
    return v;
  else if constexpr (requires { v.last_seen; })
    return v.last_seen;
  else
    return v.at;
}

std::string pair_key(const std::string& code, const std::string& client) {
  std::string k;
  k.reserve(code.size() + client.size() + 1);
  k += code;
  k += '\x1f';
  k += client;
  return k;
}

} // namespace

std::string_view to_string(reason r) noexcept {
  switch (r) {
    case reason::none:
      return "";
    case reason::bot_agent:
      return "bot_agent";
    case reason::repeat_click:
      return "repeat_click";
    case reason::velocity_client:
      return "velocity_client";
    case reason::velocity_agent:
      return "velocity_agent";
    case reason::velocity_creator:
      return "velocity_creator";
    case reason::conversion_without_click:
      return "conversion_without_click";
  }
  return "";
}

bool is_bot_agent(std::string_view ua, const config& cfg) {
  bool blank = std::all_of(ua.begin(), ua.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  if (blank)
    return true;
  std::string lower(ua.substr(0, 512));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return std::any_of(cfg.bot_markers.begin(), cfg.bot_markers.end(),
                     [&](const std::string& m) { return lower.find(m) != std::string::npos; });
}

detector::detector(config c) : cfg_(std::move(c)) {
  cfg_.velocity_window = std::max<millis>(cfg_.velocity_window, static_cast<millis>(slots));
  sub_ = cfg_.velocity_window / static_cast<millis>(slots);
  cfg_.max_keys = std::max<size_t>(cfg_.max_keys, 16);
  cfg_.ewma_alpha = std::clamp(cfg_.ewma_alpha, 0.0, 1.0);
}

void detector::advance(rate& r, millis at) const {
  auto e = at / sub_;
  if (r.slot_epoch < 0) {
    r.slot_epoch = e;
  } else if (e > r.slot_epoch) {
    auto gap = std::min<int64_t>(e - r.slot_epoch, static_cast<int64_t>(slots));
    for (int64_t i = 1; i <= gap; ++i)
      r.all[static_cast<size_t>((r.slot_epoch + i) % static_cast<int64_t>(slots))] = 0;
    r.slot_epoch = e;
  }
  // The baseline: fold the finished window(s) of valid clicks into the EWMA (quiet windows count
  // as zero, at most 64 of them: the baseline is ~0 by then anyway).
  auto w = at / cfg_.velocity_window;
  if (r.baseline_window < 0) {
    r.baseline_window = w;
  } else if (w > r.baseline_window) {
    r.baseline = (1 - cfg_.ewma_alpha) * r.baseline + cfg_.ewma_alpha * r.valid_in_epoch_window;
    r.weight = (1 - cfg_.ewma_alpha) * r.weight + cfg_.ewma_alpha;
    auto quiet = std::min<int64_t>(w - r.baseline_window - 1, 64);
    auto decay = std::pow(1 - cfg_.ewma_alpha, static_cast<double>(quiet));
    r.baseline *= decay;
    r.weight = 1 - (1 - r.weight) * decay;
    r.valid_in_epoch_window = 0;
    r.baseline_window = w;
  }
  r.last_seen = std::max(r.last_seen, at);
}

uint32_t detector::count(const rate& r) const {
  uint32_t n = 0;
  for (auto v : r.all)
    n += v;
  return n;
}

double detector::threshold(const rate& r, double floor) const {
  // Bias correction, but never by more than 1 / min_weight: a young key's first windows must not
  // lift its own bar (an attack on a new key would teach itself while its window fills).
  auto b = r.baseline / std::max(r.weight, cfg_.min_weight);
  return std::max(floor, cfg_.multiplier * b + cfg_.slack * std::sqrt(b));
}

void detector::learn(rate& r, millis) const {
  ++r.valid_in_epoch_window;
}

template <class Map>
void detector::cap(Map& m) {
  if (m.size() < cfg_.max_keys)
    return;
  // Drop the least recently seen tenth (amortised: this runs once per max_keys / 10 new keys).
  std::vector<millis> times;
  times.reserve(m.size());
  for (auto& [k, v] : m)
    times.push_back(time_of(v));
  auto drop = m.size() / 10 + 1;
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(drop - 1), times.end());
  auto cut = times[drop - 1];
  for (auto it = m.begin(); it != m.end() && drop > 0;) {
    if (time_of(it->second) <= cut) {
      it = m.erase(it);
      --drop;
    } else {
      ++it;
    }
  }
}

detector::rate& detector::slot(rates& table, const std::string& key, millis at) {
  auto it = table.find(key);
  if (it == table.end())
    it = table.emplace(key, rate{}).first;
  advance(it->second, at);
  return it->second;
}

void detector::sweep(millis now) {
  last_sweep_ = now;
  auto old_rates = [&](rates& t) {
    for (auto it = t.begin(); it != t.end();)
      it = it->second.last_seen < now - cfg_.key_ttl ? t.erase(it) : std::next(it);
  };
  old_rates(clients_);
  old_rates(agents_);
  old_rates(creators_);
  for (auto it = repeats_.begin(); it != repeats_.end();)
    it = it->second < now - cfg_.repeat_window ? repeats_.erase(it) : std::next(it);
  for (auto it = attribution_.begin(); it != attribution_.end();)
    it = it->second.at < now - cfg_.attribution_window ? attribution_.erase(it) : std::next(it);
}

void detector::make_room(millis now) {
  // Before any reference into the tables is taken: a sweep erases entries.
  if (clients_.size() < cfg_.max_keys && agents_.size() < cfg_.max_keys && creators_.size() < cfg_.max_keys)
    return;
  sweep(now);
  cap(clients_);
  cap(agents_);
  cap(creators_);
}

void detector::remember_repeat(const std::string& pk, millis at) {
  auto rep = repeats_.find(pk);
  if (rep != repeats_.end()) {
    rep->second = std::max(rep->second, at);
    return;
  }
  if (repeats_.size() >= cfg_.max_keys) {
    sweep(at);
    cap(repeats_);
  }
  repeats_.emplace(pk, at);
}

void detector::remember_valid(const std::string& pk, const click& c) {
  if (attribution_.size() >= cfg_.max_keys && attribution_.find(pk) == attribution_.end()) {
    sweep(c.at);
    cap(attribution_);
  }
  attribution_[pk] = stamp{c.id, c.at};
}

void detector::replay(const click& c, reason stored) {
  if (c.at - last_sweep_ > 5 * 60'000)
    sweep(c.at);
  if (stored == reason::bot_agent)
    return;
  auto pk = pair_key(c.code, c.client_hash);
  remember_repeat(pk, c.at);
  if (stored == reason::repeat_click)
    return;
  make_room(c.at);
  auto& cl = slot(clients_, c.client_hash, c.at);
  auto& ag = slot(agents_, c.user_agent, c.at);
  auto& cr = slot(creators_, c.creator, c.at);
  for (rate* r : {&cl, &ag, &cr}) {
    ++r->all[static_cast<size_t>(r->slot_epoch % static_cast<int64_t>(slots))];
    if (stored == reason::none)
      learn(*r, c.at);
  }
  if (stored == reason::none)
    remember_valid(pk, c);
}

reason detector::classify(const click& c) {
  if (c.at - last_sweep_ > 5 * 60'000)
    sweep(c.at);
  if (is_bot_agent(c.user_agent, cfg_))
    return reason::bot_agent;
  auto pk = pair_key(c.code, c.client_hash);
  auto rep = repeats_.find(pk);
  bool repeat = rep != repeats_.end() && c.at - rep->second < cfg_.repeat_window;
  remember_repeat(pk, c.at);
  if (repeat)
    return reason::repeat_click;
  make_room(c.at);
  auto& cl = slot(clients_, c.client_hash, c.at);
  auto& ag = slot(agents_, c.user_agent, c.at);
  auto& cr = slot(creators_, c.creator, c.at);
  auto bump = [this](rate& r) { ++r.all[static_cast<size_t>(r.slot_epoch % static_cast<int64_t>(slots))]; };
  bump(cl);
  bump(ag);
  bump(cr);
  if (count(cl) > threshold(cl, cfg_.client_floor))
    return reason::velocity_client;
  if (count(ag) > threshold(ag, cfg_.agent_floor))
    return reason::velocity_agent;
  if (count(cr) > threshold(cr, cfg_.creator_floor))
    return reason::velocity_creator;
  learn(cl, c.at);
  learn(ag, c.at);
  learn(cr, c.at);
  remember_valid(pk, c);
  return reason::none;
}

attribution detector::classify_conversion(const conversion& c) const {
  if (c.code.empty() || c.client_hash.empty())
    return {reason::conversion_without_click, 0};
  auto it = attribution_.find(pair_key(c.code, c.client_hash));
  if (it == attribution_.end() || it->second.at > c.at || c.at - it->second.at > cfg_.attribution_window)
    return {reason::conversion_without_click, 0};
  return {reason::none, it->second.click_id};
}

size_t detector::size() const noexcept {
  return clients_.size() + agents_.size() + creators_.size() + repeats_.size() + attribution_.size();
}

} // namespace pactum::actors::fraud
