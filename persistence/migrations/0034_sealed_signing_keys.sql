-- Signing secrets at rest (docs/security.md, "Secrets at rest"): the promotion signing keys'
-- Ed25519 secrets and the brands' conversion signing keys are stored sealed under the server's
-- master key (XChaCha20-Poly1305, bound to the key id or the brand), so a copy of the database
-- alone does not let anyone mint promotion codes or forge conversions. A sealed Ed25519 secret is
-- 104 bytes (24 nonce + 64 + 16 tag); a secret stored in the clear before this migration (64
-- bytes) is still read, and a promotion key is sealed the next time the server loads it.
alter table promo_signing_keys drop constraint promo_signing_keys_secret_key_check;
alter table promo_signing_keys add constraint promo_signing_keys_secret_key_check
  check (secret_key is null or length(secret_key) in (64, 104));
