// The notifications bell in the header: the live unread count (announced politely), a panel with
// the notifications (older pages on demand), mark one or all read, and per-type mute preferences.
// Escape or a click outside closes the panel and gives focus back to the bell.

import { useEffect, useId, useRef, useState } from "react";
import { describe, Notification, Notifications, TYPE_LABELS, useNotifications } from "../notifications";
import { ago } from "../format";
import { navigate } from "../router";
import { errorText, Notice } from "../ui";

export function Bell({ model }: { model: Notifications }) {
  const n = useNotifications(model);
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const panelId = useId();
  const unread = n.unread ?? 0;

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        setOpen(false);
        button.current?.focus();
      }
    };
    const onDown = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("mousedown", onDown);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("mousedown", onDown);
    };
  }, [open]);

  const label = unread === 0 ? "Notifications, none unread" : `Notifications, ${unread} unread`;
  return (
    <div className="bell" ref={box}>
      <button
        ref={button}
        className="btn btn-ghost bell-button"
        aria-label={label}
        aria-expanded={open}
        aria-controls={open ? panelId : undefined}
        data-testid="bell"
        onClick={() => setOpen((o) => !o)}
      >
        <svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
          <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
          <path d="M13.7 21a2 2 0 0 1-3.4 0" />
        </svg>
        {unread > 0 && (
          <span className="bell-badge" aria-hidden="true" data-testid="unread-badge">
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </button>
      <span className="sr-only" role="status" aria-live="polite" data-testid="unread-status">
        {n.unread === null ? "" : unread === 1 ? "1 unread notification" : `${unread} unread notifications`}
      </span>
      {open && <Panel id={panelId} model={model} close={() => { setOpen(false); button.current?.focus(); }} />}
    </div>
  );
}

function Panel({ id, model, close }: { id: string; model: Notifications; close: () => void }) {
  const n = useNotifications(model);
  const [settings, setSettings] = useState(false);
  const [failure, setFailure] = useState("");
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    if (!n.loaded) void model.refresh().catch((e) => setFailure(errorText(e)));
  }, [model, n.loaded]);
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setFailure("");
    try {
      await fn();
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const items = n.list();
  const unread = n.unread ?? 0;
  return (
    <div className="bell-panel" id={id} role="dialog" aria-label="Notifications" data-testid="notifications-panel">
      <div className="bell-head">
        <h2 tabIndex={-1} ref={heading}>Notifications</h2>
        <button className="btn btn-ghost btn-small" onClick={close} aria-label="Close notifications">✕</button>
      </div>
      <div className="bell-actions">
        <button className="btn btn-secondary btn-small" disabled={busy || unread === 0} onClick={() => void run(() => model.markAllRead())}>
          Mark all read
        </button>
        <button className="btn btn-ghost btn-small" aria-pressed={settings} onClick={() => setSettings((s) => !s)}>
          {settings ? "Back to notifications" : "Settings"}
        </button>
      </div>
      {failure && <Notice kind="error">{failure}</Notice>}
      {settings ? (
        <Preferences model={model} />
      ) : items.length === 0 ? (
        <p className="muted bell-empty">{n.loaded ? "No notifications yet." : "Loading…"}</p>
      ) : (
        <ul className="bell-list">
          {items.map((x) => (
            <Item key={x.id} x={x} busy={busy} onRead={() => void run(() => model.markRead([x.id]))} onOpen={(to) => {
              if (!x.read) void model.markRead([x.id]).catch(() => undefined);
              close();
              navigate(to);
            }} />
          ))}
        </ul>
      )}
      {!settings && n.nextBefore !== null && (
        <button className="btn btn-ghost btn-small bell-more" disabled={busy} onClick={() => void run(() => model.loadOlder())}>
          Show older
        </button>
      )}
    </div>
  );
}

function Item({ x, busy, onRead, onOpen }: { x: Notification; busy: boolean; onRead: () => void; onOpen: (to: string) => void }) {
  const { text, to } = describe(x);
  return (
    <li className={"bell-item" + (x.read ? "" : " unread")} data-testid="notification">
      <div>
        {to ? (
          <a href={to} onClick={(e) => { if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return; e.preventDefault(); onOpen(to); }}>
            {text}
          </a>
        ) : (
          <span>{text}</span>
        )}
        <span className="muted small"> · {ago(x.updated_at, Date.now())}{x.read ? "" : " · unread"}</span>
      </div>
      {!x.read && (
        <button className="btn btn-ghost btn-small" disabled={busy} onClick={onRead} aria-label={`Mark read: ${text}`}>
          Mark read
        </button>
      )}
    </li>
  );
}

function Preferences({ model }: { model: Notifications }) {
  const [types, setTypes] = useState<string[] | null>(null);
  const [muted, setMuted] = useState<Set<string>>(new Set());
  const [note, setNote] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    model.prefs().then((p) => { setTypes(p.types); setMuted(new Set(p.muted)); }, (e) => setNote({ kind: "error", text: errorText(e) }));
  }, [model]);
  if (!types) return note ? <Notice kind="error">{note.text}</Notice> : <p className="muted">Loading…</p>;
  const save = async () => {
    setBusy(true);
    setNote(null);
    try {
      const p = await model.setMuted([...muted]);
      setMuted(new Set(p.muted));
      setNote({ kind: "ok", text: "Preferences saved." });
    } catch (e) {
      setNote({ kind: "error", text: errorText(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <fieldset className="bell-prefs">
      <legend>Notify me about</legend>
      <p className="hint">Muted kinds are neither kept nor shown, also not later.</p>
      {types.map((t) => (
        <label key={t} className="check">
          <input type="checkbox" checked={!muted.has(t)} onChange={(e) => {
            const m = new Set(muted);
            if (e.target.checked) m.delete(t);
            else m.add(t);
            setMuted(m);
          }} />
          {TYPE_LABELS[t] ?? t}
        </label>
      ))}
      <button className="btn btn-primary btn-small" disabled={busy} onClick={() => void save()}>Save preferences</button>
      {note && <Notice kind={note.kind}>{note.text}</Notice>}
    </fieldset>
  );
}
