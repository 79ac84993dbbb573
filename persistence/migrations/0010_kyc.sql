-- Identity verification (KYC) of users: payouts (withdrawals) need "verified". Set by an
-- operator (`pactumd --set-kyc EMAIL=STATUS`) in the embedded default; a verification provider
-- would set it in production.
alter table users add column kyc_status text not null default 'unverified'
  check (kyc_status in ('unverified', 'pending', 'verified', 'rejected'));
