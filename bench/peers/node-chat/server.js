'use strict';
// The Node.js peer for the chat benchmark (bench/peers/node-chat/README.md): the subset of the
// Pactum protocol that `pactum-sim chat` uses, written the way a typical Node team would, with
// `ws` and `pg` against the same PostgreSQL. Every message is one row; `ok` only after COMMIT.
//
//   node server.js --listen 127.0.0.1:0 --port-file FILE --database-url URL [--pool N]
//
// Bench tooling, not product.

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const { Pool } = require('pg');
const { WebSocketServer } = require('ws');

function parseArgs(argv) {
  const opts = { listen: '127.0.0.1:8090', portFile: '', databaseUrl: '', pool: 64 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`missing value for ${k}`);
    if (k === '--listen') opts.listen = v;
    else if (k === '--port-file') opts.portFile = v;
    else if (k === '--database-url') opts.databaseUrl = v;
    else if (k === '--pool') opts.pool = Number(v);
    else throw new Error(`unknown option ${k}`);
  }
  if (!opts.databaseUrl) throw new Error('--database-url is required');
  return opts;
}

const SCHEMA = `
create table if not exists users (
  id uuid primary key,
  email text not null unique,
  password_hash text not null,
  display_name text not null,
  role text not null check (role in ('brand', 'creator'))
);
create table if not exists sessions (
  token text primary key,
  user_id uuid not null references users(id),
  expires_at bigint not null
);
create table if not exists conversations (
  id uuid primary key,
  brand uuid not null references users(id),
  creator uuid not null references users(id),
  created_at bigint not null,
  head bigint not null default 1,
  unique (brand, creator)
);
create table if not exists messages (
  conversation_id uuid not null references conversations(id),
  seq bigint not null,
  client_id text not null,
  author uuid not null,
  body text not null,
  at bigint not null,
  primary key (conversation_id, seq),
  unique (conversation_id, client_id)
);
`;

// Named queries: node-postgres prepares each name once per pooled connection.
const Q = {
  insertUser: 'insert into users (id, email, password_hash, display_name, role) values ($1, $2, $3, $4, $5)',
  userByEmail: 'select id, password_hash, display_name, role from users where email = $1',
  insertSession: 'insert into sessions (token, user_id, expires_at) values ($1, $2, $3)',
  userByToken: `select u.id, u.display_name, u.role from sessions s join users u on u.id = s.user_id
                where s.token = $1 and s.expires_at > $2`,
  openConversation: `with ins as (
      insert into conversations (id, brand, creator, created_at) values ($1, $2, $3, $4)
      on conflict (brand, creator) do nothing returning id, brand, creator, created_at, head)
    select id, brand, creator, created_at, head, true as created from ins
    union all
    select id, brand, creator, created_at, head, false from conversations
     where brand = $2 and creator = $3 and not exists (select 1 from ins)`,
  creatorExists: "select 1 from users where id = $1 and role = 'creator'",
  conversation: 'select id, brand, creator, created_at, head from conversations where id = $1',
  // One statement, so one implicit transaction: the row and the new head commit together (or a
  // stored client_id answers its first result). Sends of one conversation are serialised in this
  // process (see Conversation.run), so head + 1 is free.
  send: `with ins as (
      insert into messages (conversation_id, seq, client_id, author, body, at)
      select $1, c.head + 1, $2, $3, $4, $5 from conversations c where c.id = $1
      on conflict (conversation_id, client_id) do nothing returning seq, at),
    upd as (update conversations set head = (select seq from ins) where id = $1 and exists (select 1 from ins))
    select seq, at, false as duplicate from ins
    union all
    select seq, at, true from messages where conversation_id = $1 and client_id = $2 and not exists (select 1 from ins)`,
  replay: `select seq, client_id, author, body, at from messages
           where conversation_id = $1 and seq > $2 and seq <= $3 order by seq`,
};

const MAX_TEXT_CHARS = 4000;
const MAX_FRAME_BYTES = 65536;
const MAX_REPLAY = 10000;
const TOKEN_TTL_MS = 15 * 60 * 1000;

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Scrypt with a small cost: the benchmark registers thousands of accounts (pactumd runs with
// cheap argon2id parameters for the same reason). Not a production setting.
function hashPassword(password) {
  const salt = crypto.randomBytes(16);
  return new Promise((resolve, reject) => {
    crypto.scrypt(password, salt, 32, { N: 1024, r: 8, p: 1 }, (err, key) =>
      err ? reject(err) : resolve(`${salt.toString('hex')}:${key.toString('hex')}`));
  });
}

function verifyPassword(password, stored) {
  const [saltHex, keyHex] = stored.split(':');
  return new Promise((resolve, reject) => {
    crypto.scrypt(password, Buffer.from(saltHex, 'hex'), 32, { N: 1024, r: 8, p: 1 }, (err, key) =>
      err ? reject(err) : resolve(crypto.timingSafeEqual(key, Buffer.from(keyHex, 'hex'))));
  });
}

const isUuid = (s) => typeof s === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

// Per-conversation state of this process: the live subscribers, and a promise chain that runs
// the conversation's sends and subscribes one at a time (seq order = commit order = push order).
class Conversation {
  constructor(row) {
    this.id = row.id;
    this.brand = row.brand;
    this.creator = row.creator;
    this.createdAt = Number(row.created_at);
    this.stream = `conversation:${row.id}`;
    this.subscribers = new Set();
    this.tail = Promise.resolve();
  }

  run(fn) {
    const p = this.tail.then(fn);
    this.tail = p.catch(() => {});
    return p;
  }

  isMember(userId) {
    return userId === this.brand || userId === this.creator;
  }

  openedFrame() {
    return JSON.stringify({
      type: 'event', stream: this.stream, seq: 1,
      event: { type: 'conversation.opened', brand: this.brand, creator: this.creator, at: this.createdAt },
    });
  }
}

function postedFrame(stream, row) {
  return JSON.stringify({
    type: 'event', stream, seq: Number(row.seq),
    event: { type: 'message.posted', author: row.author, client_id: row.client_id, text: row.body, at: Number(row.at) },
  });
}

function conversationView(row) {
  return { id: row.id, brand: row.brand, creator: row.creator, created_at: Number(row.created_at), head: Number(row.head) };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const pool = new Pool({ connectionString: opts.databaseUrl, max: opts.pool });
  pool.on('error', (err) => console.error('pg pool:', err.message));
  await pool.query(SCHEMA);

  const conversations = new Map(); // id -> Conversation (loaded on first use)

  async function loadConversation(id) {
    let c = conversations.get(id);
    if (c) return c;
    const { rows } = await pool.query({ name: 'conversation', text: Q.conversation, values: [id] });
    if (rows.length === 0) return null;
    c = conversations.get(id) || new Conversation(rows[0]);
    conversations.set(id, c);
    return c;
  }

  // ---- REST -----------------------------------------------------------------------------------

  function readJson(req) {
    return new Promise((resolve, reject) => {
      let size = 0;
      const chunks = [];
      req.on('data', (ch) => {
        size += ch.length;
        if (size > 65536) reject(new ApiError(413, 'too_large', 'body too large'));
        else chunks.push(ch);
      });
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new ApiError(400, 'bad_request', 'body is not JSON'));
        }
      });
      req.on('error', reject);
    });
  }

  async function register(body) {
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : '';
    const fields = {};
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) fields.email = 'must be an email address like name@example.com';
    if (typeof body.password !== 'string' || body.password.length < 10 || body.password.length > 128)
      fields.password = 'must be 10 to 128 characters';
    if (typeof body.display_name !== 'string' || body.display_name.length < 1 || body.display_name.length > 80)
      fields.display_name = 'must be 1 to 80 characters';
    if (body.role !== 'brand' && body.role !== 'creator') fields.role = 'must be "brand" or "creator"';
    if (Object.keys(fields).length) {
      const e = new ApiError(400, 'bad_request', 'invalid fields');
      e.fields = fields;
      throw e;
    }
    const id = crypto.randomUUID();
    const hash = await hashPassword(body.password);
    try {
      await pool.query({ name: 'insertUser', text: Q.insertUser, values: [id, email, hash, body.display_name, body.role] });
    } catch (err) {
      if (err.code === '23505') throw new ApiError(409, 'conflict', 'email already registered');
      throw err;
    }
    return [201, { user: { id, role: body.role, display_name: body.display_name } }];
  }

  async function login(body) {
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : '';
    const { rows } = await pool.query({ name: 'userByEmail', text: Q.userByEmail, values: [email] });
    if (rows.length === 0 || typeof body.password !== 'string' || !(await verifyPassword(body.password, rows[0].password_hash)))
      throw new ApiError(401, 'unauthorized', 'wrong email or password');
    const u = rows[0];
    const token = crypto.randomBytes(32).toString('base64url');
    const expires = Date.now() + TOKEN_TTL_MS;
    await pool.query({ name: 'insertSession', text: Q.insertSession, values: [token, u.id, expires] });
    return [200, {
      token, token_type: 'Bearer', expires_at: expires, access_expires_at: expires,
      user: { id: u.id, role: u.role, display_name: u.display_name },
    }];
  }

  const server = http.createServer(async (req, res) => {
    const send = (status, obj) => {
      const body = JSON.stringify(obj);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    try {
      let out;
      if (req.method === 'POST' && req.url === '/api/v1/users/register') out = await register(await readJson(req));
      else if (req.method === 'POST' && req.url === '/api/v1/users/login') out = await login(await readJson(req));
      else throw new ApiError(404, 'not_found', 'no such route');
      send(out[0], out[1]);
    } catch (err) {
      if (err instanceof ApiError) {
        send(err.status, { error: { code: err.code, message: err.message, ...(err.fields ? { fields: err.fields } : {}) } });
      } else {
        console.error('rest:', err);
        send(503, { error: { code: 'unavailable', message: 'try again later' } });
      }
    }
  });
  server.keepAliveTimeout = 30000;

  // ---- WebSocket -----------------------------------------------------------------------------

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES });

  server.on('upgrade', async (req, socket, head) => {
    const refuse = (status, text) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (req.url.split('?')[0] !== '/ws') return refuse(404, 'Not Found');
    const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
    if (!m) return refuse(401, 'Unauthorized');
    let user;
    try {
      const { rows } = await pool.query({ name: 'userByToken', text: Q.userByToken, values: [m[1], Date.now()] });
      if (rows.length === 0) return refuse(401, 'Unauthorized');
      user = rows[0];
    } catch (err) {
      console.error('auth:', err.message);
      return refuse(503, 'Service Unavailable');
    }
    wss.handleUpgrade(req, socket, head, (ws) => onSession(ws, user));
  });

  function onSession(ws, user) {
    ws._socket.setNoDelay(true); // Nagle off (ws does this too; said explicitly)
    const subs = new Set();
    const reply = (obj) => ws.send(JSON.stringify(obj));
    const fail = (re, code, message) => reply({ type: 'error', re, code, message });
    reply({
      type: 'hello', user: { id: user.id, role: user.role, display_name: user.display_name },
      server_time: Date.now(), limits: { max_frame_bytes: MAX_FRAME_BYTES, max_text_chars: MAX_TEXT_CHARS },
    });

    ws.on('close', () => {
      for (const c of subs) c.subscribers.delete(ws);
      subs.clear();
    });
    ws.on('error', () => {});

    ws.on('message', (data, isBinary) => {
      let f;
      try {
        if (isBinary) throw new Error('binary');
        f = JSON.parse(data.toString('utf8'));
      } catch {
        return fail(null, 'bad_request', 'frames are JSON text (this peer speaks no msgpack)');
      }
      if (!f || typeof f !== 'object' || (typeof f.id !== 'number' && typeof f.id !== 'string'))
        return fail(null, 'bad_request', 'a request needs an id');
      handle(f).catch((err) => {
        if (err instanceof ApiError) fail(f.id, err.code, err.message);
        else {
          console.error('ws:', err.message);
          fail(f.id, 'unavailable', 'try again');
        }
      });
    });

    async function member(convId) {
      if (!isUuid(convId)) throw new ApiError(400, 'bad_request', 'conversation must be a UUID');
      const c = await loadConversation(convId);
      if (!c || !c.isMember(user.id)) throw new ApiError(404, 'not_found', 'no such conversation');
      return c;
    }

    async function handle(f) {
      switch (f.type) {
        case 'ping':
          return reply({ type: 'ok', re: f.id, time: Date.now() });
        case 'conversation.open': {
          if (user.role !== 'brand') throw new ApiError(403, 'forbidden', 'only brands open conversations');
          if (!isUuid(f.with)) throw new ApiError(400, 'bad_request', 'with must be a UUID');
          const exists = await pool.query({ name: 'creatorExists', text: Q.creatorExists, values: [f.with] });
          if (exists.rows.length === 0) throw new ApiError(404, 'not_found', 'no such creator');
          const { rows } = await pool.query({
            name: 'openConversation', text: Q.openConversation,
            values: [crypto.randomUUID(), user.id, f.with, Date.now()],
          });
          return reply({ type: 'ok', re: f.id, created: rows[0].created, conversation: conversationView(rows[0]) });
        }
        case 'subscribe': {
          const after = f.after === undefined ? 0 : f.after;
          if (!Number.isInteger(after) || after < 0) throw new ApiError(400, 'bad_request', 'after must be an integer >= 0');
          const c = await member(f.conversation);
          // In the conversation's chain: no send commits between the replay and going live.
          return c.run(async () => {
            const { rows } = await pool.query({ name: 'conversation', text: Q.conversation, values: [c.id] });
            const head = Number(rows[0].head);
            if (head - after > MAX_REPLAY) throw new ApiError(400, 'bad_request', 'too far behind: page with history');
            const replay = after < head
              ? (await pool.query({ name: 'replay', text: Q.replay, values: [c.id, Math.max(after, 1), head] })).rows
              : [];
            if (ws.readyState !== ws.OPEN) return;
            reply({ type: 'ok', re: f.id, stream: c.stream, head, read: {}, unread: 0, delivered: {} });
            if (after < 1) ws.send(c.openedFrame());
            for (const r of replay) ws.send(postedFrame(c.stream, r));
            c.subscribers.add(ws);
            subs.add(c);
          });
        }
        case 'unsubscribe': {
          const c = await member(f.conversation);
          c.subscribers.delete(ws);
          subs.delete(c);
          return reply({ type: 'ok', re: f.id, stream: c.stream });
        }
        case 'message.send': {
          if (typeof f.client_id !== 'string' || f.client_id.length < 1 || Buffer.byteLength(f.client_id) > 64)
            throw new ApiError(400, 'bad_request', 'client_id must be 1 to 64 bytes');
          if (typeof f.text !== 'string' || f.text.length < 1 || f.text.length > MAX_TEXT_CHARS)
            throw new ApiError(400, 'bad_request', `text must be 1 to ${MAX_TEXT_CHARS} characters`);
          const c = await member(f.conversation);
          return c.run(async () => {
            const at = Date.now();
            const { rows } = await pool.query({
              name: 'send', text: Q.send, values: [c.id, f.client_id, user.id, f.text, at],
            });
            const r = rows[0];
            const seq = Number(r.seq);
            reply({ type: 'ok', re: f.id, conversation: c.id, seq, at: Number(r.at), duplicate: r.duplicate });
            if (r.duplicate) return;
            const frame = postedFrame(c.stream, { seq, client_id: f.client_id, author: user.id, body: f.text, at });
            for (const s of c.subscribers) s.send(frame);
          });
        }
        default:
          throw new ApiError(400, 'bad_request', `unknown request type ${JSON.stringify(f.type)}`);
      }
    }
  }

  const [host, port] = opts.listen.split(/:(?=[^:]*$)/);
  server.listen(Number(port), host, () => {
    const actual = server.address().port;
    if (opts.portFile) fs.writeFileSync(opts.portFile, String(actual));
    console.log(`node-chat peer listening on ${host}:${actual}`);
  });

  const stop = () => {
    server.close();
    for (const ws of wss.clients) ws.terminate();
    pool.end().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
