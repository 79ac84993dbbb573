// The campaign API (docs/api.md, Campaigns): brands' campaigns, the creators' marketplace,
// applications and invitations. Every command carries an idempotency key.
import { api } from "./api";

export interface Deliverable { type: string; count: number; [k: string]: unknown }
export interface CampaignDetails {
  title: string;
  description: string;
  goals: string[];
  budget: number;
  currency: string;
  starts_at: number;
  ends_at: number;
  deliverables: Deliverable[];
  audience: { niches: string[]; countries: string[]; age_bands: string[]; gender: string; min_followers: number; min_engagement_bps: number };
  collaboration_types: string[];
  pricing: { model: string; rate: number };
  brief: string;
  brand_safety: { banned_words: string[]; banned_categories: string[]; require_disclosure: boolean; link_policy: string; max_caption_chars: number };
}
export interface CampaignView {
  id: string;
  brand: string;
  status: string;
  details: CampaignDetails;
  budget: number;
  committed: number;
  spent: number;
  remaining: number;
  currency: string;
  created_at: number;
  head: number;
  applications?: number;
  pending_applications?: number;
  invitations?: number;
  contracts?: number;
}
export interface CampaignRow {
  id: string;
  brand: string;
  status: string;
  title: string;
  currency: string;
  budget: number;
  committed: number;
  spent: number;
  remaining: number;
  starts_at: number;
  ends_at: number;
  pricing_model: string;
  rate: number;
  niches: string[];
  countries: string[];
  min_followers: number;
  created_at: number;
  updated_at: number;
}
export interface Application { id: number; creator: string; outcome: string; amount: number; proposal: string; conversation?: string; at: number }
export interface Invitation {
  campaign: string; campaign_title: string; id: number; brand: string; brief: string; outcome: string;
  conversation?: string; created_at: number; updated_at: number;
}
export interface CampaignEvent { seq: number; type: string; at: number; event: Record<string, any> & { type: string } }
type Command = { campaign?: CampaignView; seq: number; duplicate: boolean; [k: string]: unknown };

const enc = encodeURIComponent;
const qs = (q: Record<string, string | number | undefined>) => {
  const p = Object.entries(q).filter(([, v]) => v !== undefined && v !== "");
  return p.length ? "?" + p.map(([k, v]) => `${k}=${enc(String(v)).replace(/%2C/g, ",")}`).join("&") : ""; // commas separate niches
};

export const createCampaign = (key: string, d: CampaignDetails) => api<Command>("POST", "/api/v1/brands/campaigns", { ...d, key });
export const updateCampaign = (id: string, key: string, d: CampaignDetails) => api<Command>("PUT", `/api/v1/brands/campaigns/${enc(id)}`, { ...d, key });
export const campaignStatus = (id: string, key: string, to: "publish" | "pause" | "complete" | "cancel") =>
  api<Command>("POST", `/api/v1/brands/campaigns/${enc(id)}/status`, { to, key });
export const getCampaign = (id: string) => api<CampaignView>("GET", `/api/v1/campaigns/${enc(id)}`);
export const campaignUpdates = (id: string, after = 0) =>
  api<{ events: CampaignEvent[]; head: number; next_after: number | null }>("GET", `/api/v1/campaigns/${enc(id)}/updates${qs({ after, limit: 500 })}`);
export const myCampaigns = (q: Record<string, string | number | undefined> = {}) =>
  api<{ campaigns: CampaignRow[]; next_before: string | null }>("GET", `/api/v1/brands/campaigns${qs(q)}`);
export const browseCampaigns = (q: Record<string, string | number | undefined> = {}) =>
  api<{ campaigns: CampaignRow[]; next_before: string | null }>("GET", `/api/v1/campaigns${qs(q)}`);
export const eligibleCampaigns = (before?: string) =>
  api<{ campaigns: CampaignRow[]; next_before: string | null }>("GET", `/api/v1/influencers/campaigns${qs({ before, limit: 50 })}`);
export const applications = (id: string, before?: number) =>
  api<{ applications: Application[]; next_before: number | null }>("GET", `/api/v1/brands/campaigns/${enc(id)}/applications${qs({ before, limit: 100 })}`);
export const apply = (id: string, key: string, proposal: string, amount?: number) =>
  api<Command>("POST", `/api/v1/influencers/campaigns/${enc(id)}/apply`, { proposal, ...(amount !== undefined ? { amount } : {}), key });
export const decideApplication = (id: string, app: number, key: string, outcome: "approved" | "rejected", reason = "") =>
  api<Command & { conversation?: string }>("PUT", `/api/v1/brands/campaigns/${enc(id)}/applications/${app}`, { outcome, reason, key });
export const withdrawApplication = (id: string, app: number, key: string) =>
  api<Command>("POST", `/api/v1/influencers/campaigns/${enc(id)}/applications/${app}/withdraw`, { key });
export const invite = (id: string, key: string, creator: string, brief: string) =>
  api<Command>("POST", `/api/v1/brands/campaigns/${enc(id)}/invitations`, { creator, brief, key });
export const myInvitations = (before?: number) =>
  api<{ invitations: Invitation[]; next_before: number | null }>("GET", `/api/v1/influencers/invitations${qs({ before, limit: 100 })}`);
export const answerInvitation = (id: string, inv: number, key: string, outcome: "accepted" | "denied", reason = "") =>
  api<Command & { conversation?: string }>("PUT", `/api/v1/influencers/campaigns/${enc(id)}/invitations/${inv}`, { outcome, reason, key });

export const GOALS = ["awareness", "engagement", "traffic", "conversions", "app_installs", "ugc"];
export const PRICING_MODELS: [string, string][] = [
  ["flat", "Flat fee"],
  ["per_post", "Per post"],
  ["cpc", "Per click (CPC)"],
  ["cpv", "Per view (CPV)"],
  ["per_call", "Per call"],
];
export const AGE_BANDS = ["13-17", "18-24", "25-34", "35-44", "45-54", "55+"];
export const STATUS_TEXT: Record<string, string> = {
  draft: "Draft", published: "Published", paused: "Paused", completed: "Completed", cancelled: "Cancelled",
};

// ---- matching, creator search and campaign content (docs/api.md: Matching, Creator search, Campaigns) ----

/** One factor of a match score: `contribution` = `weight` × `score`; the contributions sum to the score. */
export interface MatchReason { factor: string; weight: number; score: number; contribution: number; text: string }
export interface Match { score: number; reasons: MatchReason[] }
/** A "For you" row: the list row plus its place in the ranking and why it fits. */
export type RankedCampaignRow = CampaignRow & { rank?: number; match?: Match };

export interface SocialAccount { platform: string; handle: string; followers: number; average_views?: number; engagement_rate?: number }
export interface Rate { type: string; amount: number; currency: string }
export interface PublicCreator {
  user_id: string; display_name: string; role: string; bio?: string; niches?: string[];
  social_accounts?: SocialAccount[]; follower_total?: number;
  location?: { country?: string; city?: string }; languages?: string[]; rates?: Rate[]; media_kit_url?: string;
}
export interface SearchResult {
  profile: PublicCreator;
  matched: {
    followers?: number; engagement_rate?: number; platform?: string; audience_country_share?: number;
    audience_age_share?: number; rate?: Rate; relevance?: number;
  };
}
export interface CreatorMatch { rank: number; score: number; creator: PublicCreator; reasons: MatchReason[] }

export const searchCreators = (q: Record<string, string | number | undefined>) =>
  api<{ results: SearchResult[]; sort: string; next_cursor: string | null }>("GET", `/api/v1/search/influencers${qs(q)}`);
export const campaignMatches = (id: string, limit = 20) =>
  api<{ campaign: string; matches: CreatorMatch[]; considered: number; eligible: number; limit: number }>(
    "GET", `/api/v1/brands/campaigns/${enc(id)}/matches${qs({ limit })}`);
export const rankedCampaigns = (before?: string) =>
  api<{ campaigns: RankedCampaignRow[]; next_before: string | null; considered?: number; eligible?: number }>(
    "GET", `/api/v1/influencers/campaigns${qs({ sort: "match", before, limit: 20 })}`);

export interface MediaRef { url: string; type?: string; size?: number; width?: number; height?: number }
export interface ContentBody { media: MediaRef[]; caption: string; platform: string; categories?: string[]; paid_partnership?: boolean }
export interface ScreeningReport { passed: boolean; findings: { rule: string; detail: string }[] }
export interface ContentReview { submission: number; by: string; verdict: string; reason: string; release: boolean; at: number }
export interface Submission {
  id: number; verdict: string; contract: string; deliverable: number; by: string;
  content: ContentBody; report: ScreeningReport; at: number; review?: ContentReview | null;
}
export const CONTENT_PLATFORMS = ["tiktok", "instagram", "youtube", "other"];
export const submitContent = (id: string, key: string, contract: string, deliverable: number, body: ContentBody) =>
  api<Command & { submission: number }>("POST", `/api/v1/campaigns/${enc(id)}/content`, { contract, deliverable, ...body, key });
export const reviewContent = (id: string, submission: number, key: string, verdict: "approved" | "rejected" | "revision_requested", reason: string) =>
  api<Command>("PUT", `/api/v1/campaigns/${enc(id)}/content/${submission}/status`, { verdict, reason, key });
/** The creators a campaign being drafted would match (nothing is stored). */
export const previewMatches = (d: CampaignDetails, limit = 5) =>
  api<{ matches: CreatorMatch[]; considered: number; eligible: number; limit: number }>("POST", `/api/v1/brands/matches${qs({ limit })}`, d);
