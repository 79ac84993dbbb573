// Campaign analytics, products and affiliate links (docs/api.md: Analytics, Products and affiliate
// links). Live figures come from `analytics.subscribe` (docs/protocol.md).
import { api } from "./api";

export interface Figures {
  clicks: number;
  unique_clicks: number;
  views: number;
  conversions: number;
  revenue: number;
  spend: number;
  invalid_clicks: number;
  invalid_conversions: number;
  cpc: number | null;
  cpv: number | null;
  cpa: number | null;
  roi: number | null;
}
export type CreatorFigures = Figures & { creator: { id: string; display_name: string } };
export type SeriesPoint = Figures & { bucket: number };
export type Bucket = "minute" | "hour" | "day";
export interface Performance {
  campaign: string;
  pricing_model: string;
  rate: number;
  currency: string;
  from: number;
  to: number;
  bucket: Bucket;
  totals: Figures;
  creators: CreatorFigures[];
  series: SeriesPoint[];
}
export interface InvalidEvent {
  id: number;
  kind: "click" | "conversion";
  at: number;
  creator: string | null;
  code: string | null;
  reason: string;
  user_agent?: string;
  referrer?: string;
  order_id?: string;
  amount?: number;
  currency?: string;
}
export interface Product { id: string; sku: string; name: string; category: string; url: string; price: number; currency: string; created_at: number }
export interface AffiliateLink { code: string; path: string; campaign_id: string; creator_id: string; product_id: string; created_at: number }

export const BUCKET_MS: Record<Bucket, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** How many buckets the dashboard shows (the API allows at most 2,000). */
export const BUCKET_SPAN: Record<Bucket, number> = { minute: 120, hour: 168, day: 90 };

const enc = encodeURIComponent;

/** The last BUCKET_SPAN buckets up to now (the current one included). */
export function performance(id: string, bucket: Bucket) {
  const size = BUCKET_MS[bucket];
  const to = Math.floor(Date.now() / size) * size + size;
  const from = to - BUCKET_SPAN[bucket] * size;
  return api<Performance>("GET", `/api/v1/analytics/campaigns/${enc(id)}/performance?from=${from}&to=${to}&bucket=${bucket}`);
}
export const invalidTraffic = (id: string, kind: "click" | "conversion", before?: number) =>
  api<{ campaign: string; kind: string; next_before: number | null; events: InvalidEvent[] }>(
    "GET", `/api/v1/analytics/campaigns/${enc(id)}/invalid-traffic?kind=${kind}&limit=50${before ? `&before=${before}` : ""}`);

export const products = () => api<{ products: Product[]; next_before: string | null }>("GET", "/api/v1/brands/products?limit=1000");
export const createProduct = (p: Omit<Product, "id" | "created_at">) => api<{ product: Product }>("POST", "/api/v1/brands/products", p);
export const campaignLinks = (id: string) => api<{ links: AffiliateLink[] }>("GET", `/api/v1/campaigns/${enc(id)}/links`);
export const createLink = (id: string, product_id: string, creator_id: string) =>
  api<{ link: AffiliateLink; created: boolean }>("POST", `/api/v1/campaigns/${enc(id)}/links`, { product_id, creator_id });

export const REASONS: Record<string, string> = {
  bot_agent: "Bot or automated user agent",
  repeat_click: "Repeat click by the same visitor within 30 min",
  velocity_client: "Too many clicks from one visitor",
  velocity_agent: "Too many clicks from one user agent",
  velocity_creator: "Unusual click volume on the creator's links",
  conversion_without_click: "Conversion without a valid click before it",
};
