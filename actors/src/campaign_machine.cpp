#include "pactum/actors/campaign_machine.hpp"

#include <algorithm>

#include "pactum/common/overload.hpp"

namespace pactum::actors::campaign {

using protocol::error_code;
namespace pr = protocol;

namespace {

refusal refuse(error_code code, std::string message) {
  return refusal{code, std::move(message)};
}

/// FNV-1a over the parts, with a separator that cannot occur in UTF-8 text: the same parameters
/// give the same fingerprint in every process, so one computed from a replayed event matches one
/// computed from a retried command.
uint64_t fingerprint(std::initializer_list<std::string_view> parts) {
  uint64_t h = 1469598103934665603ull;
  for (auto p : parts) {
    for (unsigned char c : p) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  }
  return h;
}

std::string key_of(const uuid& user, const std::string& key) {
  return user.str() + "|" + key;
}

/// nullopt: a fresh key; a duplicate or a mismatch refusal otherwise.
std::optional<decision> check_key(const state& s, const uuid& user, const std::string& key,
                                  uint64_t fp) {
  if (key.empty())
    return decision{refuse(error_code::bad_request, "key (an idempotency key) is required")};
  auto i = s.keys.find(key_of(user, key));
  if (i == s.keys.end())
    return std::nullopt;
  if (i->second.second != fp)
    return decision{refuse(error_code::idempotency_mismatch,
                           "this key was already used for another command")};
  return decision{duplicate{i->second.first}};
}

uint64_t details_fp(const pr::campaign_details& d) {
  return fingerprint({pr::campaign_details_to_json(d)});
}

std::string status_word(const std::string& command) {
  if (command == "publish")
    return "published";
  if (command == "pause")
    return "paused";
  if (command == "complete")
    return "completed";
  if (command == "cancel")
    return "cancelled";
  return {};
}

bool open_for_business(status st) {
  return st == status::published || st == status::paused;
}

std::string content_fp_text(const pr::content_item& c) {
  std::string out = c.caption + '\x1f' + c.platform + '\x1f' + (c.paid_partnership ? "1" : "0");
  for (auto& cat : c.categories)
    out += '\x1f' + cat;
  for (auto& m : c.media)
    out += '\x1e' + m.url + '\x1f' + m.type + '\x1f' + std::to_string(m.size) + '\x1f'
           + std::to_string(m.width) + '\x1f' + std::to_string(m.height);
  return out;
}

uint64_t event_fp(const pr::campaign_event& ev) {
  return std::visit(
    overload{
      [](const pr::campaign_created& x) { return details_fp(x.details); },
      [](const pr::campaign_updated& x) { return details_fp(x.details); },
      [](const pr::campaign_status_changed& x) { return fingerprint({"status", x.status}); },
      [](const pr::application_submitted& x) {
        return fingerprint({"apply", x.proposal, std::to_string(x.amount)});
      },
      [](const pr::application_decided& x) {
        return fingerprint({"application", std::to_string(x.application), x.outcome, x.reason});
      },
      [](const pr::invitation_sent& x) {
        return fingerprint({"invite", x.creator.str(), x.brief});
      },
      [](const pr::invitation_answered& x) {
        return fingerprint({"invitation", std::to_string(x.invitation), x.outcome, x.reason});
      },
      [](const pr::content_submitted& x) {
        return fingerprint({"submit", x.contract.str(), std::to_string(x.deliverable),
                            content_fp_text(x.content)});
      },
      [](const pr::content_reviewed& x) {
        return fingerprint({"review", std::to_string(x.submission), x.verdict, x.reason});
      },
      [](const auto&) { return uint64_t{0}; },
    },
    ev);
}

bool text_too_long(const std::string& s, size_t max_chars) {
  // Byte length bounds code points from above; the gateway has checked UTF-8 already.
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n > max_chars;
}

} // namespace

std::string_view to_string(status st) noexcept {
  switch (st) {
    case status::draft:
      return "draft";
    case status::published:
      return "published";
    case status::paused:
      return "paused";
    case status::completed:
      return "completed";
    case status::cancelled:
      return "cancelled";
  }
  return "unknown";
}

bool state::has_collaboration(const uuid& creator) const {
  for (auto& [id, a] : applications)
    if (a.creator == creator && a.outcome == "approved")
      return true;
  for (auto& [id, i] : invitations)
    if (i.creator == creator && i.outcome == "accepted")
      return true;
  return false;
}

int64_t state::open_application(const uuid& creator) const {
  for (auto& [id, a] : applications)
    if (a.creator == creator && (a.outcome == "pending" || a.outcome == "approved"))
      return id;
  return 0;
}

int64_t state::open_invitation(const uuid& creator) const {
  for (auto& [id, i] : invitations)
    if (i.creator == creator && (i.outcome == "pending" || i.outcome == "accepted"))
      return id;
  return 0;
}

size_t state::open_contracts() const {
  return static_cast<size_t>(std::count_if(contracts.begin(), contracts.end(),
                                           [](auto& kv) { return !kv.second.settled; }));
}

std::vector<pr::field_error> publish_problems(const pr::campaign_details& d, millis now) {
  std::vector<pr::field_error> out;
  if (d.budget <= 0)
    out.push_back({"budget", "a campaign needs a budget above 0 to be published"});
  if (d.deliverables.empty())
    out.push_back({"deliverables", "a campaign needs at least one deliverable to be published"});
  if (d.ends_at != 0 && d.ends_at <= now)
    out.push_back({"ends_at", "the end date has passed"});
  if (d.pricing.model != "flat" && d.pricing.rate <= 0)
    out.push_back({"pricing.rate", "a " + d.pricing.model + " campaign needs a rate above 0"});
  return out;
}

decision decide(const state& s, const create& cmd, millis now, const rules&) {
  if (s.exists()) {
    if (s.brand == cmd.brand)
      if (auto k = check_key(s, cmd.brand, cmd.key, details_fp(cmd.details)))
        return *k;
    return refuse(error_code::conflict, "the campaign exists already");
  }
  if (cmd.key.empty())
    return refuse(error_code::bad_request, "key (an idempotency key) is required");
  return accepted{pr::campaign_created{cmd.brand, cmd.key, cmd.details, now}};
}

decision decide(const state& s, const update& cmd, millis now, const rules&) {
  if (!s.exists() || cmd.by != s.brand)
    return refuse(error_code::forbidden, "only the campaign's brand may change it");
  if (auto k = check_key(s, cmd.by, cmd.key, details_fp(cmd.details)))
    return *k;
  if (!open_for_business(s.st) && s.st != status::draft)
    return refuse(error_code::conflict,
                  "a " + std::string{to_string(s.st)} + " campaign cannot be changed");
  if (s.st != status::draft) {
    if (cmd.details.currency != s.details.currency)
      return refuse(error_code::conflict, "the currency cannot change after publishing");
    if (cmd.details.pricing.model != s.details.pricing.model)
      return refuse(error_code::conflict, "the pricing model cannot change after publishing");
    if (auto problems = publish_problems(cmd.details, now); !problems.empty())
      return refuse(error_code::bad_request, problems.front().field + ": " + problems.front().message);
  }
  if (cmd.details.budget < s.committed + s.spent)
    return refuse(error_code::conflict,
                  "the budget cannot drop below what contracts hold or were paid ("
                    + std::to_string(s.committed + s.spent) + ")");
  return accepted{pr::campaign_updated{cmd.by, cmd.key, cmd.details, now}};
}

decision decide(const state& s, const change_status& cmd, millis now, const rules&) {
  if (!s.exists() || cmd.by != s.brand)
    return refuse(error_code::forbidden, "only the campaign's brand may change its status");
  const auto to = status_word(cmd.to);
  if (to.empty())
    return refuse(error_code::bad_request, "to must be publish, pause, complete or cancel");
  if (auto k = check_key(s, cmd.by, cmd.key, fingerprint({"status", to})))
    return *k;
  auto from = std::string{to_string(s.st)};
  auto refuse_from = [&] {
    return refuse(error_code::conflict, "a " + from + " campaign cannot be " + to);
  };
  if (s.st == status::completed || s.st == status::cancelled)
    return refuse_from();
  int64_t released = 0;
  if (to == "published") {
    if (s.st == status::published)
      return refuse_from();
    if (auto problems = publish_problems(s.details, now); !problems.empty()) {
      std::string msg;
      for (auto& p : problems)
        msg += (msg.empty() ? "" : "; ") + p.field + ": " + p.message;
      return refuse(error_code::bad_request, msg);
    }
  } else if (to == "paused") {
    if (s.st != status::published)
      return refuse_from();
  } else if (to == "completed") {
    if (!open_for_business(s.st))
      return refuse_from();
    if (auto n = s.open_contracts(); n > 0)
      return refuse(error_code::conflict, std::to_string(n)
                                            + " contract(s) still hold budget: settle them first");
    released = s.remaining();
  } else { // cancelled: what no contract holds goes back; funded contracts run to their end
    released = s.remaining();
  }
  return accepted{pr::campaign_status_changed{cmd.by, cmd.key, to, released, now}};
}

decision decide(const state& s, const apply& cmd, millis now, const rules& r) {
  if (!s.exists())
    return refuse(error_code::not_found, "no such campaign");
  if (cmd.creator == s.brand)
    return refuse(error_code::forbidden, "a brand cannot apply to its own campaign");
  if (auto k = check_key(s, cmd.creator, cmd.key,
                         fingerprint({"apply", cmd.proposal, std::to_string(cmd.amount)})))
    return *k;
  if (s.st != status::published)
    return refuse(error_code::conflict, "the campaign is " + std::string{to_string(s.st)}
                                          + " and takes no applications");
  if (s.details.ends_at != 0 && now >= s.details.ends_at)
    return refuse(error_code::conflict, "the campaign has ended");
  if (text_too_long(cmd.proposal, r.max_proposal_chars))
    return refuse(error_code::too_large,
                  "proposal is longer than " + std::to_string(r.max_proposal_chars) + " characters");
  if (cmd.amount < 0 || cmd.amount > s.details.budget)
    return refuse(error_code::bad_request, "amount must be from 0 to the campaign's budget");
  if (s.open_application(cmd.creator) != 0)
    return refuse(error_code::conflict, "you have applied to this campaign already");
  if (s.open_invitation(cmd.creator) != 0)
    return refuse(error_code::conflict, "you are invited to this campaign: answer the invitation");
  if (s.applications.size() >= r.max_applications)
    return refuse(error_code::limit_reached, "the campaign takes no more applications");
  return accepted{pr::application_submitted{cmd.creator, cmd.key, cmd.proposal, cmd.amount, now}};
}

decision decide(const state& s, const decide_application& cmd, millis now, const rules& r) {
  if (!s.exists())
    return refuse(error_code::not_found, "no such campaign");
  auto i = s.applications.find(cmd.application);
  const bool brand = cmd.by == s.brand;
  if (i == s.applications.end() || (!brand && i->second.creator != cmd.by))
    return refuse(error_code::not_found, "no such application");
  if (cmd.outcome != "approved" && cmd.outcome != "rejected" && cmd.outcome != "withdrawn")
    return refuse(error_code::bad_request, "outcome must be approved, rejected or withdrawn");
  if (cmd.outcome == "withdrawn" && i->second.creator != cmd.by)
    return refuse(error_code::forbidden, "only the applicant may withdraw an application");
  if (cmd.outcome != "withdrawn" && !brand)
    return refuse(error_code::forbidden, "only the campaign's brand may decide an application");
  if (auto k = check_key(s, cmd.by, cmd.key,
                         fingerprint({"application", std::to_string(cmd.application), cmd.outcome,
                                      cmd.reason})))
    return *k;
  if (i->second.outcome != "pending")
    return refuse(error_code::conflict, "the application is " + i->second.outcome + " already");
  if (text_too_long(cmd.reason, r.max_reason_chars))
    return refuse(error_code::too_large, "reason is too long");
  if (cmd.outcome == "approved") {
    if (!open_for_business(s.st))
      return refuse(error_code::conflict, "the campaign is " + std::string{to_string(s.st)});
    if (cmd.conversation.is_nil())
      return refuse(error_code::internal, "no conversation id for the approval");
  }
  return accepted{pr::application_decided{cmd.application, cmd.by, cmd.key, cmd.outcome,
                                          cmd.reason,
                                          cmd.outcome == "approved" ? cmd.conversation : uuid{},
                                          now}};
}

decision decide(const state& s, const invite& cmd, millis now, const rules& r) {
  if (!s.exists() || cmd.by != s.brand)
    return refuse(error_code::forbidden, "only the campaign's brand may invite");
  if (auto k = check_key(s, cmd.by, cmd.key, fingerprint({"invite", cmd.creator.str(), cmd.brief})))
    return *k;
  if (!open_for_business(s.st))
    return refuse(error_code::conflict, "a " + std::string{to_string(s.st)}
                                          + " campaign sends no invitations: publish it first");
  if (cmd.creator == s.brand || cmd.creator.is_nil())
    return refuse(error_code::bad_request, "creator must be another user");
  if (text_too_long(cmd.brief, r.max_proposal_chars))
    return refuse(error_code::too_large, "brief is too long");
  if (s.open_invitation(cmd.creator) != 0)
    return refuse(error_code::conflict, "this creator is invited already");
  if (s.open_application(cmd.creator) != 0)
    return refuse(error_code::conflict, "this creator has applied: decide the application");
  if (s.invitations.size() >= r.max_invitations)
    return refuse(error_code::limit_reached, "the campaign sends no more invitations");
  return accepted{pr::invitation_sent{cmd.by, cmd.key, cmd.creator, cmd.brief, now}};
}

decision decide(const state& s, const answer_invitation& cmd, millis now, const rules& r) {
  if (!s.exists())
    return refuse(error_code::not_found, "no such campaign");
  auto i = s.invitations.find(cmd.invitation);
  const bool brand = cmd.by == s.brand;
  if (i == s.invitations.end() || (!brand && i->second.creator != cmd.by))
    return refuse(error_code::not_found, "no such invitation");
  const bool creator_answer = cmd.outcome == "accepted" || cmd.outcome == "denied";
  if (!creator_answer && cmd.outcome != "withdrawn")
    return refuse(error_code::bad_request, "outcome must be accepted, denied or withdrawn");
  if (creator_answer ? i->second.creator != cmd.by : !brand)
    return refuse(error_code::forbidden, creator_answer
                                           ? "only the invited creator may answer an invitation"
                                           : "only the campaign's brand may withdraw an invitation");
  if (auto k = check_key(s, cmd.by, cmd.key,
                         fingerprint({"invitation", std::to_string(cmd.invitation), cmd.outcome,
                                      cmd.reason})))
    return *k;
  if (i->second.outcome != "pending")
    return refuse(error_code::conflict, "the invitation is " + i->second.outcome + " already");
  if (text_too_long(cmd.reason, r.max_reason_chars))
    return refuse(error_code::too_large, "reason is too long");
  if (cmd.outcome == "accepted") {
    if (!open_for_business(s.st))
      return refuse(error_code::conflict, "the campaign is " + std::string{to_string(s.st)});
    if (cmd.conversation.is_nil())
      return refuse(error_code::internal, "no conversation id for the acceptance");
  }
  return accepted{pr::invitation_answered{cmd.invitation, cmd.by, cmd.key, cmd.outcome, cmd.reason,
                                          cmd.outcome == "accepted" ? cmd.conversation : uuid{},
                                          now}};
}

decision decide(const state& s, const commit_budget& cmd, millis now, const rules&) {
  if (!s.exists())
    return refuse(error_code::not_found, "no such campaign");
  if (auto i = s.contracts.find(cmd.contract); i != s.contracts.end()) {
    if (i->second.amount == cmd.amount && i->second.creator == cmd.creator)
      return duplicate{0};
    return refuse(error_code::idempotency_mismatch, "the contract committed another amount");
  }
  if (!open_for_business(s.st))
    return refuse(error_code::conflict, "a " + std::string{to_string(s.st)}
                                          + " campaign commits no budget");
  if (cmd.amount <= 0 || cmd.platforms.empty())
    return refuse(error_code::bad_request, "a commitment needs an amount and deliverables");
  if (cmd.amount > s.remaining())
    return refuse(error_code::limit_reached,
                  "the campaign's remaining budget (" + std::to_string(s.remaining())
                    + ") does not cover " + std::to_string(cmd.amount));
  return accepted{pr::budget_committed{cmd.contract, cmd.creator, cmd.amount,
                                       static_cast<int64_t>(cmd.platforms.size()),
                                       cmd.revision_rounds, cmd.platforms, now}};
}

decision decide(const state& s, const settle_budget& cmd, millis now, const rules&) {
  auto i = s.contracts.find(cmd.contract);
  if (!s.exists() || i == s.contracts.end())
    return refuse(error_code::not_found, "the campaign holds no budget for this contract");
  if (i->second.settled)
    return duplicate{0};
  if (cmd.spent < 0 || cmd.returned < 0 || cmd.spent > i->second.amount
      || cmd.returned != i->second.amount - cmd.spent)
    return refuse(error_code::bad_request, "spent + returned must equal the committed amount");
  return accepted{pr::budget_settled{cmd.contract, cmd.spent, cmd.returned, now}};
}

decision decide(const state& s, const submit_content& cmd, millis now, const rules& r) {
  auto c = s.contracts.find(cmd.contract);
  if (!s.exists() || c == s.contracts.end() || c->second.creator != cmd.by)
    return refuse(error_code::forbidden, "only the contract's creator may submit its content");
  if (auto k = check_key(s, cmd.by, cmd.key,
                         fingerprint({"submit", cmd.contract.str(), std::to_string(cmd.deliverable),
                                      content_fp_text(cmd.content)})))
    return *k;
  if (c->second.settled)
    return refuse(error_code::conflict, "the contract has ended");
  if (cmd.deliverable < 0 || cmd.deliverable >= static_cast<int64_t>(c->second.deliverables.size()))
    return refuse(error_code::bad_request,
                  "deliverable must be from 0 to "
                    + std::to_string(c->second.deliverables.size() - 1));
  auto& [latest, verdict] = c->second.deliverables[static_cast<size_t>(cmd.deliverable)];
  if (latest != 0 && verdict != "revision_requested")
    return refuse(error_code::conflict,
                  verdict == "pending" ? "the last submission awaits review"
                                       : "this deliverable is " + verdict + " already");
  if (cmd.content.media.size() > r.max_media)
    return refuse(error_code::too_large, "at most " + std::to_string(r.max_media) + " media");
  if (s.submissions.size() >= r.max_submissions)
    return refuse(error_code::limit_reached, "the campaign takes no more submissions");
  auto report = pr::screen_content(cmd.content, s.details.safety,
                                   c->second.platforms[static_cast<size_t>(cmd.deliverable)]);
  return accepted{pr::content_submitted{cmd.contract, cmd.deliverable, cmd.by, cmd.key, cmd.content,
                                        std::move(report), now}};
}

decision decide(const state& s, const review_content& cmd, millis now, const rules& r) {
  if (!s.exists() || (cmd.by.user != s.brand && !cmd.by.moderator))
    return refuse(error_code::forbidden, "only the campaign's brand or a moderator may review");
  auto i = s.submissions.find(cmd.submission);
  if (i == s.submissions.end())
    return refuse(error_code::not_found, "no such submission");
  if (cmd.verdict != "approved" && cmd.verdict != "rejected" && cmd.verdict != "revision_requested")
    return refuse(error_code::bad_request, "verdict must be approved, rejected or revision_requested");
  if (auto k = check_key(s, cmd.by.user, cmd.key,
                         fingerprint({"review", std::to_string(cmd.submission), cmd.verdict,
                                      cmd.reason})))
    return *k;
  if (i->second.verdict != "pending")
    return refuse(error_code::conflict, "the submission is " + i->second.verdict + " already");
  if (text_too_long(cmd.reason, r.max_reason_chars))
    return refuse(error_code::too_large, "reason is too long");
  auto& c = s.contracts.at(i->second.contract);
  if (c.settled)
    return refuse(error_code::conflict, "the contract has ended");
  if (cmd.verdict == "revision_requested" && c.revisions_used >= c.revision_rounds)
    return refuse(error_code::limit_reached,
                  "all " + std::to_string(c.revision_rounds) + " revision round(s) are used");
  bool release = false;
  if (cmd.verdict == "approved" && !c.release_requested) {
    release = true;
    for (size_t d = 0; d < c.deliverables.size(); ++d)
      if (static_cast<int64_t>(d) != i->second.deliverable && c.deliverables[d].second != "approved")
        release = false;
  }
  return accepted{pr::content_reviewed{cmd.submission, cmd.by.user, cmd.key, cmd.verdict,
                                       cmd.reason, release, now}};
}

void apply_event(state& s, int64_t seq, const pr::campaign_event& ev) {
  auto remember = [&](const uuid& user, const std::string& key) {
    if (!key.empty())
      s.keys[key_of(user, key)] = {seq, event_fp(ev)};
  };
  std::visit(
    overload{
      [&](const pr::campaign_created& x) {
        s.brand = x.brand;
        s.details = x.details;
        s.created_at = x.at;
        s.st = status::draft;
        remember(x.brand, x.key);
      },
      [&](const pr::campaign_updated& x) {
        s.details = x.details;
        remember(x.by, x.key);
      },
      [&](const pr::campaign_status_changed& x) {
        if (x.status == "published")
          s.st = status::published;
        else if (x.status == "paused")
          s.st = status::paused;
        else if (x.status == "completed")
          s.st = status::completed;
        else if (x.status == "cancelled")
          s.st = status::cancelled;
        // What was released is no longer budget: the budget shrinks to what contracts hold or paid.
        s.details.budget -= x.released;
        if (!x.by.is_nil())
          remember(x.by, x.key);
      },
      [&](const pr::application_submitted& x) {
        s.applications[seq] = state::application{x.creator, "pending", {}, x.amount, x.at};
        remember(x.creator, x.key);
      },
      [&](const pr::application_decided& x) {
        auto& a = s.applications[x.application];
        a.outcome = x.outcome;
        a.conversation = x.conversation;
        remember(x.by, x.key);
      },
      [&](const pr::invitation_sent& x) {
        s.invitations[seq] = state::invitation{x.creator, "pending", {}, x.at};
        remember(x.by, x.key);
      },
      [&](const pr::invitation_answered& x) {
        auto& i = s.invitations[x.invitation];
        i.outcome = x.outcome;
        i.conversation = x.conversation;
        remember(x.by, x.key);
      },
      [&](const pr::budget_committed& x) {
        state::contract c;
        c.creator = x.creator;
        c.amount = x.amount;
        c.revision_rounds = x.revision_rounds;
        c.platforms = x.platforms;
        c.deliverables.assign(x.platforms.size(), {0, std::string{}});
        s.contracts[x.contract] = std::move(c);
        s.committed += x.amount;
      },
      [&](const pr::budget_settled& x) {
        auto& c = s.contracts[x.contract];
        c.settled = true;
        s.committed -= c.amount;
        s.spent += x.spent; // what was returned is free to commit again
      },
      [&](const pr::content_submitted& x) {
        s.submissions[seq] = state::submission{x.contract, x.deliverable, "pending"};
        s.contracts[x.contract].deliverables[static_cast<size_t>(x.deliverable)] = {seq, "pending"};
        remember(x.by, x.key);
      },
      [&](const pr::content_reviewed& x) {
        auto& sub = s.submissions[x.submission];
        sub.verdict = x.verdict;
        auto& c = s.contracts[sub.contract];
        c.deliverables[static_cast<size_t>(sub.deliverable)].second = x.verdict;
        if (x.verdict == "revision_requested")
          ++c.revisions_used;
        if (x.release)
          c.release_requested = true;
        remember(x.by, x.key);
      },
    },
    ev);
  s.head = seq;
}

} // namespace pactum::actors::campaign
