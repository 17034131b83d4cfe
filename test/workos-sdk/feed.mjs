// Reads an environment's whole change-event feed through the official WorkOS
// Node SDK, as a consumer that syncs from the Events API does: listEvents,
// 100 a page, following list_metadata.after until a page is empty. Prints
// {"sdkVersion", "events": [{id, event, object, dataId}], "cursor"} for
// test/e2e's change-event story to compare with the stored log.
//
// Environment:
//   WORKOS_SDK_DIR   the npm prefix where @workos-inc/node is installed
//   WORKOS_API_KEY   a ServiceAccount token for the decision API's audience whose
//                    owner may list events (orgrbac-api-reader), the SDK's API key
//   WORKOS_PORT      the API's port on 127.0.0.1 (HTTPS; trust it with NODE_EXTRA_CA_CERTS)
import { createRequire } from 'node:module';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const require = createRequire(join(env('WORKOS_SDK_DIR'), 'package.json'));
const { WorkOS } = require('@workos-inc/node');
const workos = new WorkOS(env('WORKOS_API_KEY'), {
  apiHostname: '127.0.0.1', port: Number(env('WORKOS_PORT')), https: true,
});

const events = [];
let after;
for (let pages = 0; pages < 1000; pages++) {
  const page = await workos.events.listEvents({ events: [], limit: 100, after });
  for (const e of page.data) {
    events.push({ id: e.id, event: e.event, object: e.data.object, dataId: e.data.id ?? e.data.slug ?? null });
  }
  if (page.data.length === 0) break;
  after = page.listMetadata.after;
}
process.stdout.write(JSON.stringify({ sdkVersion: workos.version, events, cursor: after ?? null }));
