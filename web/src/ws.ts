// The live connection (docs/protocol.md, WebSocket): a single-use ticket from
// POST /api/v1/ws-ticket, then `ws(s)://HOST/ws?ticket=…`. Requests are matched to replies by
// `re`; pushed events go to the stream listeners. After a drop it reconnects with backoff and
// resumes: every subscribed conversation is subscribed again with `after` = the last seq
// processed (events at or below it are ignored), and idempotent requests that were unanswered
// are sent again with the same `client_id`/`key`.

import { ApiError, wsTicket } from "./api";

export type ConnState = "connecting" | "connected" | "reconnecting" | "offline" | "signed-out";
export type Frame = Record<string, unknown> & { type: string };
export interface StreamEvent {
  stream: string;
  seq?: number;
  event: Record<string, unknown> & { type: string };
}

/** An error reply from the server, with its documented code. */
export class WsError extends Error {
  constructor(public code: string, message: string) {
    super(message);
  }
}

interface Pending {
  frame: Frame;
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
  retry: boolean;
  sent: boolean;
}

type Listener = (e: StreamEvent) => void;

export class LiveConnection {
  state: ConnState = "connecting";
  private ws: WebSocket | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Set<Listener>();
  private stateListeners = new Set<(s: ConnState) => void>();
  private openListeners = new Set<() => void>();
  private attempt = 0;
  private timer: number | undefined;
  private closed = false;
  me: { id: string; role: string; display_name: string } | null = null;

  constructor() {
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.connect();
  }

  onEvent(fn: Listener) {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }
  onState(fn: (s: ConnState) => void) {
    this.stateListeners.add(fn);
    return () => void this.stateListeners.delete(fn);
  }
  /** Called after every (re)connection's hello, to resume streams. */
  onOpen(fn: () => void) {
    this.openListeners.add(fn);
    return () => void this.openListeners.delete(fn);
  }

  /**
   * Sends a request and resolves with its `ok` reply. `retry`: the request is idempotent
   * (carries a client_id or key, or only reads), so it is sent again after a reconnect instead of
   * failing.
   */
  request(type: string, fields: Record<string, unknown> = {}, retry = true): Promise<Frame> {
    const id = this.nextId++;
    const frame: Frame = { type, id, ...fields };
    if (!retry && this.state !== "connected")
      return Promise.reject(new WsError("unavailable", "not connected")); // e.g. a stale typing indicator
    return new Promise((resolve, reject) => {
      const p: Pending = { frame, resolve, reject, retry, sent: false };
      this.pending.set(id, p);
      this.flush(p);
    });
  }

  close() {
    this.closed = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearTimeout(this.timer);
    this.ws?.close(1000);
    for (const p of this.pending.values()) p.reject(new WsError("unavailable", "signed out"));
    this.pending.clear();
  }

  private setState(s: ConnState) {
    if (this.state === s) return;
    this.state = s;
    this.stateListeners.forEach((fn) => fn(s));
  }

  private flush(p: Pending) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.state === "connected" && !p.sent) {
      p.sent = true;
      this.ws.send(JSON.stringify(p.frame));
    }
  }

  private onOnline = () => {
    if (this.state === "offline") this.reconnectSoon(0);
  };
  private onOffline = () => {
    // The socket cannot be trusted any more: drop it now (its close handshake may never finish).
    if (this.ws) this.dropped(this.ws, 1006);
    this.setState("offline");
  };

  private async connect() {
    if (this.closed) return;
    this.setState(this.attempt === 0 ? "connecting" : navigator.onLine ? "reconnecting" : "offline");
    let ticket: string;
    try {
      ticket = await wsTicket();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        this.setState("signed-out");
        return;
      }
      return this.reconnectSoon();
    }
    if (this.closed) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws?ticket=${encodeURIComponent(ticket)}`);
    this.ws = ws;
    ws.onmessage = (m) => {
      if (typeof m.data !== "string") return;
      let f: Frame;
      try {
        f = JSON.parse(m.data) as Frame;
      } catch {
        return;
      }
      if (f.type === "batch") (f.items as Frame[]).forEach((i) => this.dispatch(i));
      else this.dispatch(f);
    };
    ws.onclose = (ev) => this.dropped(ws, ev.code);
  }

  /** `ws` ended (or was given up): settle its requests, then reconnect unless told not to. */
  private dropped(ws: WebSocket, code: number) {
    if (this.ws !== ws) return;
    this.ws = null;
    ws.onclose = null;
    ws.onmessage = null;
    try {
      ws.close();
    } catch {
      /* already closed */
    }
    // Unanswered requests: resend the idempotent ones after reconnecting, fail the others.
    for (const [id, p] of this.pending) {
      if (p.sent && !p.retry) {
        this.pending.delete(id);
        p.reject(new WsError("unavailable", "the connection dropped; the outcome is unknown"));
      } else p.sent = false;
    }
    if (this.closed) return;
    if (code === 4003) {
      // the login was revoked: do not reconnect with it
      this.setState("signed-out");
      return;
    }
    if (navigator.onLine) this.reconnectSoon();
    else this.setState("offline");
  }

  private reconnectSoon(delay?: number) {
    if (this.closed) return;
    this.setState(navigator.onLine ? "reconnecting" : "offline");
    clearTimeout(this.timer);
    const base = Math.min(10_000, 500 * 2 ** Math.min(this.attempt, 5));
    this.attempt++;
    this.timer = window.setTimeout(() => this.connect(), delay ?? base / 2 + Math.random() * (base / 2));
  }

  private dispatch(f: Frame) {
    switch (f.type) {
      case "hello":
        this.me = f.user as LiveConnection["me"];
        this.attempt = 0;
        this.setState("connected");
        this.openListeners.forEach((fn) => fn());
        for (const p of this.pending.values()) this.flush(p);
        return;
      case "ok":
      case "error": {
        const id = f.re as number;
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        if (f.type === "ok") p.resolve(f);
        else p.reject(new WsError(String(f.code), String(f.message)));
        return;
      }
      case "event":
        this.listeners.forEach((fn) => fn(f as unknown as StreamEvent));
        return;
    }
  }
}
