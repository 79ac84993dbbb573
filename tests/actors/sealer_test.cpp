// The sealer: AEAD, master-key wrapping, the keyring's bound, and sealing/opening of event
// payloads (docs/security.md, "Privacy").

#include "pactum/actors/sealer.hpp"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "pactum/protocol/contract_events.hpp"
#include "pactum/protocol/events.hpp"
#include "pactum/protocol/wallet_events.hpp"

namespace pactum::actors::privacy {
namespace {

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

const uuid alice = *uuid::parse("01890000-0000-7000-8000-00000000a11c");
const uuid bob = *uuid::parse("01890000-0000-7000-8000-0000000000b0");

std::string posted_payload() {
  protocol::message_posted m{alice, "c-1", "meet me at alice@example.com", 1'700'000'000'000, 0,
                             {{"https://cdn.example.com/alice.jpg", "image/jpeg", 1234, 10, 20}}};
  return protocol::encode_event(m);
}

TEST(Sealer, OpensWhatItSealedAndNothingElse) {
  auto k = random_key();
  auto sealed = seal(k, "secret text", "ad");
  EXPECT_FALSE(contains(sealed, "secret"));
  ASSERT_TRUE(open(k, sealed, "ad"));
  EXPECT_EQ(*open(k, sealed, "ad"), "secret text");
  EXPECT_FALSE(open(k, sealed, "other ad"));
  EXPECT_FALSE(open(random_key(), sealed, "ad"));
  auto tampered = sealed;
  tampered.back() ^= 1;
  EXPECT_FALSE(open(k, tampered, "ad"));
  EXPECT_FALSE(open(k, "short", "ad"));
  EXPECT_NE(seal(k, "same", "ad"), seal(k, "same", "ad")) << "every seal has a fresh nonce";
}

TEST(Sealer, MasterKeyWrapsAUserKeyForThatUserOnly) {
  master_key master{random_key()};
  auto k = random_key();
  auto wrapped = master.wrap(alice, k);
  ASSERT_TRUE(master.unwrap(alice, wrapped));
  EXPECT_EQ(*master.unwrap(alice, wrapped), k);
  EXPECT_FALSE(master.unwrap(bob, wrapped)) << "a wrapped key moved to another user must not open";
  EXPECT_FALSE(master_key{random_key()}.unwrap(alice, wrapped));
}

TEST(Sealer, MessageTextAndAttachmentsAreSealedAndRestoredByteForByte) {
  auto k = random_key();
  auto plain = posted_payload();
  auto sealed = seal_payload("message.posted", plain, {{alice, &k}});
  ASSERT_TRUE(sealed) << sealed.error().what;
  EXPECT_FALSE(contains(sealed.value(), "alice@example.com"));
  EXPECT_FALSE(contains(sealed.value(), "cdn.example.com"));
  EXPECT_EQ(sealed_owners(sealed.value()), std::vector<uuid>{alice});
  EXPECT_EQ(payload_owners("message.posted", plain, bob), std::vector<uuid>{alice});

  auto opened = open_payload("message.posted", sealed.value(), {{alice, &k}});
  ASSERT_TRUE(opened) << opened.error().what;
  EXPECT_EQ(opened.value(), plain) << "history must serve the bytes live pushes carried";

  auto other = random_key();
  EXPECT_FALSE(open_payload("message.posted", sealed.value(), {{alice, &other}}));
  EXPECT_FALSE(open_payload("message.edited", sealed.value(), {{alice, &k}})) << "bound to the event type";
}

TEST(Sealer, AnErasedOwnersMessageStillDecodesAsEmptyAndMarkedErased) {
  auto k = random_key();
  auto sealed = seal_payload("message.posted", posted_payload(), {{alice, &k}});
  ASSERT_TRUE(sealed);
  auto erased = open_payload("message.posted", sealed.value(), {{alice, nullptr}});
  ASSERT_TRUE(erased);
  EXPECT_FALSE(contains(erased.value(), "alice@example.com"));
  auto ev = protocol::decode_event("message.posted", 2, erased.value());
  ASSERT_TRUE(ev) << ev.error();
  auto& m = std::get<protocol::message_posted>(ev.value());
  EXPECT_EQ(m.text, "");
  EXPECT_EQ(m.author, alice);
  ASSERT_EQ(m.attachments.size(), 1u);
  EXPECT_EQ(m.attachments[0].url, "");
  EXPECT_EQ(m.attachments[0].type, "image/jpeg");
  EXPECT_TRUE(contains(protocol::event_to_json(erased.value()), "\"erased\":true"));
}

TEST(Sealer, WritingForAnErasedOwnerStoresNoPersonalData) {
  auto written = seal_payload("message.posted", posted_payload(), {{alice, nullptr}});
  ASSERT_TRUE(written);
  EXPECT_FALSE(contains(written.value(), "alice@example.com"));
  EXPECT_TRUE(sealed_owners(written.value()).empty());
  EXPECT_TRUE(contains(protocol::event_to_json(written.value()), "\"erased\":true"));
}

TEST(Sealer, PlaintextPayloadsOfOlderVersionsLoadUnchanged) {
  // Version 1 of message.posted, as written before sealing existed.
  protocol::message_posted m{alice, "c-9", "hello from 2025", 1'600'000'000'000};
  auto old = protocol::encode_event(m);
  EXPECT_TRUE(sealed_owners(old).empty());
  auto opened = open_payload("message.posted", old, {});
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened.value(), old);
  auto ev = protocol::decode_event("message.posted", 1, opened.value());
  ASSERT_TRUE(ev);
  EXPECT_EQ(std::get<protocol::message_posted>(ev.value()).text, "hello from 2025");
}

TEST(Sealer, OfferBriefsAreSealedWhileAmountsStayReadable) {
  protocol::offer_terms t;
  t.amount = 50'000;
  t.currency = "USD";
  t.deliverables.push_back({"tiktok", "tiktok_duet", 2, "film it at my flat on Elm Street"});
  protocol::offer_made o{alice, "c-2", t, 0, 1'800'000'000'000, 1'700'000'000'000};
  auto plain = protocol::encode_event(o);
  auto k = random_key();
  auto sealed = seal_payload("offer.made", plain, {{alice, &k}});
  ASSERT_TRUE(sealed);
  EXPECT_FALSE(contains(sealed.value(), "Elm Street"));
  EXPECT_EQ(open_payload("offer.made", sealed.value(), {{alice, &k}}).value(), plain);
  auto erased = open_payload("offer.made", sealed.value(), {{alice, nullptr}});
  auto ev = protocol::decode_event("offer.made", 1, erased.value());
  ASSERT_TRUE(ev) << ev.error();
  auto& got = std::get<protocol::offer_made>(ev.value());
  EXPECT_EQ(got.terms.amount, 50'000);
  EXPECT_EQ(got.terms.currency, "USD");
  EXPECT_EQ(got.terms.deliverables.at(0).platform, "tiktok");
  EXPECT_EQ(got.terms.deliverables.at(0).brief, "");
}

TEST(Sealer, EventsWithoutPersonalDataAreNotTouched) {
  protocol::read_marked r{bob, 3, 1'700'000'000'000};
  auto plain = protocol::encode_event(r);
  EXPECT_TRUE(payload_owners("read.marked", plain, alice).empty());
  auto k = random_key();
  EXPECT_EQ(seal_payload("read.marked", plain, {{alice, &k}}).value(), plain);
}

TEST(Sealer, AWithdrawalDestinationBelongsToTheWalletsUser) {
  protocol::withdrawal_requested w;
  w.key = "w-1";
  w.payout = "p-1";
  w.amount = 100;
  w.currency = "USD";
  w.destination = "acct_alice_private_iban";
  auto plain = protocol::encode_wallet_event(w);
  EXPECT_EQ(payload_owners("wallet.withdrawal_requested", plain, alice), std::vector<uuid>{alice});
  auto k = random_key();
  auto sealed = seal_payload("wallet.withdrawal_requested", plain, {{alice, &k}});
  ASSERT_TRUE(sealed);
  EXPECT_FALSE(contains(sealed.value(), "alice_private"));
  EXPECT_EQ(open_payload("wallet.withdrawal_requested", sealed.value(), {{alice, &k}}).value(), plain);
}

TEST(Sealer, AContractsTermsNeedBothPartiesKeys) {
  protocol::offer_terms t;
  t.amount = 70'000;
  t.currency = "EUR";
  t.deliverables.push_back({"instagram", "instagram_reel", 1, "show my kitchen on Rue Verte"});
  protocol::contract_opened o;
  o.conversation = uuid::v7();
  o.offer = 4;
  o.brand = alice;
  o.creator = bob;
  o.terms = t;
  o.at = 1'700'000'000'000;
  auto plain = protocol::encode_contract_event(o);
  auto owners = payload_owners("contract.opened", plain, uuid::v7());
  ASSERT_EQ(owners, (std::vector<uuid>{alice, bob}));
  auto ka = random_key();
  auto kb = random_key();
  auto sealed = seal_payload("contract.opened", plain, {{alice, &ka}, {bob, &kb}});
  ASSERT_TRUE(sealed) << sealed.error().what;
  EXPECT_FALSE(contains(sealed.value(), "Rue Verte"));
  EXPECT_EQ(sealed_owners(sealed.value()), owners);
  EXPECT_EQ(open_payload("contract.opened", sealed.value(), {{alice, &ka}, {bob, &kb}}).value(), plain);
  EXPECT_FALSE(open_payload("contract.opened", sealed.value(), {{alice, &kb}, {bob, &ka}}));
  for (auto keys : {owner_keys{{alice, nullptr}, {bob, &kb}}, owner_keys{{alice, &ka}, {bob, nullptr}}}) {
    auto erased = open_payload("contract.opened", sealed.value(), keys);
    ASSERT_TRUE(erased) << erased.error().what;
    EXPECT_FALSE(contains(erased.value(), "Rue Verte")) << "erasing either party shreds the terms' text";
    auto ev = protocol::decode_contract_event("contract.opened", protocol::contract_event_version(o), erased.value());
    ASSERT_TRUE(ev) << ev.error();
    EXPECT_EQ(std::get<protocol::contract_opened>(ev.value()).terms.amount, 70'000);
  }
}

TEST(Sealer, KeyringIsBoundedAndRemembersErasures) {
  keyring ring{2};
  auto a = random_key();
  ring.put(alice, a);
  ring.put(bob, random_key());
  ASSERT_TRUE(ring.find(alice)); // alice is now the most recent
  ring.put(uuid::v7(), random_key());
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_FALSE(ring.find(bob)) << "the least recently used key goes first";
  ASSERT_TRUE(ring.find(alice));
  EXPECT_EQ(**ring.find(alice), a);
  ring.erase(alice);
  ASSERT_TRUE(ring.find(alice)) << "an erasure is remembered";
  EXPECT_FALSE(ring.find(alice)->has_value());
}

TEST(Sealer, KeyFilesMustBePrivateAndWellFormed) {
  auto path = ::testing::TempDir() + "pactum-sealer-key";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << std::string(64, 'a') << "\n";
  }
  ::chmod(path.c_str(), 0644);
  EXPECT_FALSE(read_key_file(path)) << "a world-readable key file is refused";
  ::chmod(path.c_str(), 0600);
  auto k = read_key_file(path);
  ASSERT_TRUE(k) << k.error().what;
  EXPECT_EQ(k.value()[0], 0xaa);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "too short";
  }
  EXPECT_FALSE(read_key_file(path));
  std::remove(path.c_str());
  EXPECT_FALSE(read_key_file(path));
}

} // namespace
} // namespace pactum::actors::privacy
