// Lists the orgrbac decision API's change events through the official WorkOS
// Node SDK (workos.events.listEvents) and prints what the SDK returned as one
// JSON object; internal/api/workos_events_sdk_test.go compares it with the
// EventSegments it wrote.
//
// Environment:
//   WORKOS_SDK_DIR   the npm prefix where @workos-inc/node is installed
//   WORKOS_API_KEY   a ServiceAccount token for the decision API's audience whose
//                    owner may list events (orgrbac-api-reader), the SDK's API key
//   LOOKER_API_KEY   a token whose owner may not (orgrbac-api-caller only)
//   WORKOS_PORT      the API's port on 127.0.0.1 (HTTPS; trust it with NODE_EXTRA_CA_CERTS)
//   EVENT_TYPES      event types to filter by, comma-separated
//   ORG_ID           an organization id to filter by
//   RANGE_START      an ISO 8601 time to start from
import { createRequire } from 'node:module';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const require = createRequire(join(env('WORKOS_SDK_DIR'), 'package.json'));
const { WorkOS } = require('@workos-inc/node');

const options = { apiHostname: '127.0.0.1', port: Number(env('WORKOS_PORT')), https: true };
const workos = new WorkOS(env('WORKOS_API_KEY'), options);

const failure = async (call) => {
  try {
    await call();
    return null;
  } catch (e) {
    return { name: e.name, status: e.status, code: e.code ?? null };
  }
};

// Every page, following list_metadata.after until a page is empty, as a
// consumer of the Events API polls; the last cursor is the next poll's.
const feed = async (options) => {
  const pages = [];
  let after;
  for (;;) {
    const page = await workos.events.listEvents({ ...options, after });
    pages.push({ ids: page.data.map((e) => e.id), listMetadata: page.listMetadata });
    if (page.data.length === 0 || pages.length > 100) break;
    after = page.listMetadata.after;
  }
  return pages;
};

const types = env('EVENT_TYPES').split(',');
const out = { sdkVersion: workos.version };

// Every type (an empty events list), 100 a page: the whole log.
out.all = await feed({ events: [], limit: 100 });
// The SDK sends the types joined with commas (events=a%2Cb); default limit.
out.byType = await feed({ events: types });
out.byOrganization = await feed({ events: [], organizationId: env('ORG_ID'), limit: 50 });
out.since = await feed({ events: [], rangeStart: env('RANGE_START'), limit: 100 });
// One page with the SDK's own objects, and order, which the API ignores as WorkOS does.
const first = await workos.events.listEvents({ events: types, limit: 3, order: 'desc' });
out.first = { data: first.data, listMetadata: first.listMetadata };

out.forbidden = await failure(() => new WorkOS(env('LOOKER_API_KEY'), options).events.listEvents({ events: [] }));
out.invalid = await failure(() => workos.events.listEvents({ events: [], limit: 101 }));

process.stdout.write(JSON.stringify(out));
