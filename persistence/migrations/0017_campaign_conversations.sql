-- The conversation an approved application or an accepted invitation opened, per campaign (issue
-- 6). A brand and a creator have one conversation (conversations is unique per pair); this table
-- records which campaigns it serves, so the money side can find a conversation's campaigns.
create table campaign_conversations (
  campaign_id     uuid not null references campaigns on delete cascade,
  conversation_id uuid not null references conversations on delete cascade,
  created_at      timestamptz not null default now(),
  primary key (campaign_id, conversation_id)
);
create index campaign_conversations_conversation_idx on campaign_conversations (conversation_id);
