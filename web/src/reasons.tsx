// Why a creator and a campaign fit: one row per factor of the match score (docs/api.md, Matching),
// with its weight, a bar for the factor's score and the server's own explanation.
import { MatchReason } from "./campaigns";

const FACTOR: Record<string, string> = {
  niche: "Niche", audience: "Audience", engagement: "Engagement", geography: "Location", price: "Price", history: "Track record",
};
const pct = (x: number) => `${Math.round(x * 100)}%`;

export function MatchScore({ score }: { score: number }) {
  return <span className="match-score" data-testid="match-score">{pct(score)} match</span>;
}

export function Reasons({ reasons, label }: { reasons: MatchReason[]; label: string }) {
  return (
    <ul className="reasons" aria-label={label} data-testid="match-reasons">
      {reasons.map((r) => (
        <li key={r.factor} className="reason">
          <span className="reason-factor">{FACTOR[r.factor] ?? r.factor}</span>
          <span className="reason-weight">weight {pct(r.weight)}</span>
          <span className="reason-bar" role="img" aria-label={`${FACTOR[r.factor] ?? r.factor}: scores ${pct(r.score)}, adds ${pct(r.contribution)} of ${pct(r.weight)}`}>
            <span className="reason-fill" style={{ width: pct(Math.max(0, Math.min(1, r.score))) }} />
          </span>
          <span className="reason-text">{r.text}</span>
        </li>
      ))}
    </ul>
  );
}
