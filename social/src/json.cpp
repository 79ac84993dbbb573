#include "pactum/social/json.hpp"

#include <nlohmann/json.hpp>

namespace pactum::social {

using json = nlohmann::json;

std::string stats_json(const profile_stats& s) {
  json history = json::array();
  for (auto& h : s.history)
    history.push_back(json{{"at", h.at}, {"followers", h.followers}});
  return json{{"platform", s.platform},
              {"handle", s.handle},
              {"followers", s.followers},
              {"following", s.following},
              {"posts", s.posts},
              {"average_views", s.average_views},
              {"average_likes", s.average_likes},
              {"average_comments", s.average_comments},
              {"engagement_rate", s.engagement_rate},
              {"history", std::move(history)},
              {"fetched_at", s.fetched_at}}
    .dump();
}

std::string signals_json(const std::vector<fraud_signal>& signals) {
  json out = json::array();
  for (auto& s : signals) {
    json figures = json::object();
    for (auto& [name, value] : s.figures)
      figures[name] = value;
    out.push_back(json{{"code", s.code}, {"message", s.message}, {"figures", std::move(figures)}});
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string post_check_json(const post_check& p) {
  return json{{"platform", p.platform},
              {"post_id", p.post_id},
              {"exists", p.exists},
              {"disclosed", p.disclosed},
              {"has_ad_tag", p.has_ad_tag},
              {"has_sponsored_tag", p.has_sponsored_tag},
              {"paid_partnership", p.paid_partnership},
              {"caption", p.caption},
              {"posted_at", p.posted_at}}
    .dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace pactum::social
