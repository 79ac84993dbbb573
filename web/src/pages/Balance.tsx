// A creator's balance (what contracts paid them) and withdrawals. Refreshes itself when a
// contract of theirs pays out.
import { FormEvent, useCallback, useEffect, useState } from "react";
import { ApiError, Balance, balances, newKey, Withdrawal, withdraw, withdrawals } from "../api";
import { money, time } from "../format";
import { useStore } from "../store";
import { Empty, errorText, Field, Notice } from "../ui";

export function BalancePage() {
  const store = useStore();
  const [bal, setBal] = useState<Balance[] | null>(null);
  const [list, setList] = useState<Withdrawal[]>([]);
  const [error, setError] = useState("");
  const load = useCallback(() => {
    balances().then((b) => setBal(b.balances), (e) => setError(errorText(e)));
    withdrawals().then((w) => setList(w.withdrawals), () => undefined);
  }, []);
  useEffect(load, [load]);
  useEffect(() => store.onContractEvent((_, e) => {
    if (["contract.released", "contract.resolved"].includes(e.event.type)) load();
  }), [store, load]);
  // Payout outcomes arrive as provider webhooks, with no push to the client: look again while one is pending.
  useEffect(() => {
    if (!list.some((w) => w.status === "pending")) return;
    const t = setTimeout(load, 3000);
    return () => clearTimeout(t);
  }, [list, load]);

  return (
    <div className="page narrow">
      <h1>Balance</h1>
      {error && <Notice kind="error">{error}</Notice>}
      <section className="balances" aria-label="Available balance" aria-live="polite">
        {bal === null ? <p className="muted">Loading…</p> : bal.length === 0 ? (
          <Empty title="Nothing earned yet"><p>When a brand approves your content, the payout appears here.</p></Empty>
        ) : bal.map((b) => (
          <div key={b.currency} className="card balance-card" data-testid={`balance-${b.currency}`}>
            <p className="muted">Available · {b.currency}</p>
            <p className="balance-amount">{money(b.available, b.currency)}</p>
          </div>
        ))}
      </section>
      {bal && bal.length > 0 && <WithdrawForm balances={bal} onDone={load} />}
      <section className="card" aria-label="Withdrawals">
        <h2>Withdrawals</h2>
        {list.length === 0 ? <p className="muted">No withdrawals yet.</p> : (
          <div className="table-wrap">
          <table className="table">
            <thead><tr><th scope="col">When</th><th scope="col">Amount</th><th scope="col">To</th><th scope="col">Status</th></tr></thead>
            <tbody>
              {list.map((w) => (
                <tr key={w.payout}>
                  <td>{time(w.at)}</td>
                  <td>{money(w.amount, w.currency)}</td>
                  <td>{w.destination}</td>
                  <td><span className={`chip s-${w.status}`}>{w.status}{w.code ? ` (${w.code.replace(/_/g, " ")})` : ""}</span></td>
                </tr>
              ))}
            </tbody>
          </table>
          </div>
        )}
      </section>
    </div>
  );
}

function WithdrawForm({ balances: bal, onDone }: { balances: Balance[]; onDone: () => void }) {
  const [currency, setCurrency] = useState(bal[0].currency);
  const [amount, setAmount] = useState("");
  const [destination, setDestination] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const minor = Math.round(Number(amount) * 100);
    const errs: Record<string, string> = {};
    if (!(minor >= 100)) errs.amount = "at least 1.00";
    if (!destination.trim()) errs.destination = "required";
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setBusy(true);
    setMessage(null);
    try {
      await withdraw(newKey("w"), minor, currency, destination.trim());
      setMessage({ kind: "ok", text: "Withdrawal requested. The money is reserved and on its way." });
      setAmount("");
      onDone();
    } catch (ex) {
      if (ex instanceof ApiError && Object.keys(ex.fields).length) setErrors(ex.fields);
      const text = ex instanceof ApiError && ex.status === 403 ? "Withdrawals need a verified identity. Contact support to verify your account."
        : ex instanceof ApiError && ex.code === "conflict" ? `${ex.message} (money paid in the last two days is still settling)` : errorText(ex);
      setMessage({ kind: "error", text });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-label="Withdraw">
      <h2>Withdraw</h2>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      <form onSubmit={submit} noValidate className="withdraw-form">
        <Field label="Amount" error={errors.amount}>{(a) => <input {...a} inputMode="decimal" placeholder="100.00" value={amount} onChange={(e) => setAmount(e.target.value)} />}</Field>
        <Field label="Currency">{(a) => <select {...a} value={currency} onChange={(e) => setCurrency(e.target.value)}>{bal.map((b) => <option key={b.currency}>{b.currency}</option>)}</select>}</Field>
        <Field label="Payout account" error={errors.destination}>{(a) => <input {...a} placeholder="your account at the provider" value={destination} onChange={(e) => setDestination(e.target.value)} />}</Field>
        <button className="btn btn-primary" disabled={busy}>Withdraw</button>
      </form>
    </section>
  );
}
