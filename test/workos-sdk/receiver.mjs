// A webhook receiver that verifies every delivery with the official WorkOS Node
// SDK, as an application written for WorkOS would: internal/webhooks'
// envtest suite points WebhookEndpoints at it.
//
// Each POST's body is parsed as JSON and given, with its WorkOS-Signature
// header, to workos.webhooks.constructEvent({payload, sigHeader, secret}), the
// way an Express app with express.json() calls it: the SDK then signs
// JSON.stringify(payload) again (8.x always does), so this also checks that
// the body is its own JSON.stringify. A verified delivery is answered 200 and
// its event id recorded, in order; a rejected one 400. GET /stats answers
// {sdkVersion, received, verified, rejected, failed, ids: [...]}.
//
// Environment:
//   WORKOS_SDK_DIR   the npm prefix where @workos-inc/node is installed
//   WEBHOOK_SECRET   the signing secret
//   RECEIVER_PORT    the port on 127.0.0.1 (or the first argument); 0 or unset:
//                    any free port. The port is printed as {"port": N} on stdout.
//   FAIL_FIRST       answer the first N deliveries with FAIL_STATUS, unverified
//                    and unrecorded, to test retries (default 0)
//   FAIL_STATUS      that status (default 503)
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set`);
  return v;
};

const require = createRequire(join(env('WORKOS_SDK_DIR'), 'package.json'));
const { WorkOS } = require('@workos-inc/node');
const workos = new WorkOS('sk_test_receiver');
const secret = env('WEBHOOK_SECRET');
const failFirst = Number(process.env.FAIL_FIRST ?? '0');
const failStatus = Number(process.env.FAIL_STATUS ?? '503');
const port = Number(process.argv[2] ?? process.env.RECEIVER_PORT ?? '0');

const stats = { sdkVersion: workos.version, received: 0, verified: 0, rejected: 0, failed: 0, ids: [] };

const readBody = (req) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const server = createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stats));
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const raw = await readBody(req);
    stats.received++;
    if (stats.received <= failFirst) {
      stats.failed++;
      res.writeHead(failStatus).end('scripted failure');
      return;
    }
    try {
      if (req.headers['content-type'] !== 'application/json') throw new Error('content-type');
      const payload = JSON.parse(raw);
      const event = await workos.webhooks.constructEvent({
        payload,
        sigHeader: req.headers['workos-signature'] ?? '',
        secret,
      });
      if (event.id !== payload.id) throw new Error('the SDK returned another event');
      stats.verified++;
      stats.ids.push(event.id);
      res.writeHead(200).end();
    } catch (e) {
      stats.rejected++;
      process.stderr.write(`rejected: ${e.name}: ${e.message}\n`);
      res.writeHead(400).end();
    }
  } catch (e) {
    process.stderr.write(`error: ${e}\n`);
    res.writeHead(500).end();
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
