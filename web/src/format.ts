// Display helpers: money in minor units, times, countdowns.

export function money(minor: number, currency: string): string {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

export function time(ms: number): string {
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay
    ? d.toLocaleTimeString("en", { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString("en", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function countdown(due: number, now: number): string {
  let s = Math.round((due - now) / 1000);
  const past = s < 0;
  s = Math.abs(s);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const text = d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m ${sec}s`;
  return past ? `${text} overdue` : `${text} left`;
}

export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString("en", { month: "short", day: "numeric" });
}

export const DELIVERABLE_TYPES: [string, string][] = [
  ["tiktok_native_ad", "TikTok native ad"],
  ["tiktok_duet", "TikTok duet"],
  ["tiktok_stitch", "TikTok stitch"],
  ["tiktok_sound", "TikTok sound"],
  ["instagram_post", "Instagram post"],
  ["instagram_reel", "Instagram reel"],
  ["instagram_story", "Instagram story"],
  ["youtube_video", "YouTube video"],
  ["custom", "Custom"],
];
export const deliverableLabel = (t: string) => DELIVERABLE_TYPES.find(([k]) => k === t)?.[1] ?? t;

export const STATUS_LABELS: Record<string, string> = {
  awaiting_funding: "Awaiting funding",
  funded: "Funded — in production",
  delivered: "Delivered — in review",
  revision_requested: "Revision requested",
  disputed: "Disputed",
  releasing: "Releasing payment",
  payment_due: "Payment due",
  released: "Paid out",
  refunded: "Refunded",
  cancelled: "Cancelled",
  resolved: "Resolved",
};
