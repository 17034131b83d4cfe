// Calls the orgrbac decision API through the official WorkOS Node SDK and prints
// what the SDK returned as one JSON object; internal/api/workos_sdk_test.go
// compares it with the Membership statuses.
//
// Environment:
//   WORKOS_SDK_DIR   the npm prefix where @workos-inc/node is installed
//   WORKOS_API_KEY   the caller's ServiceAccount token for the decision API's audience
//                    (orgrbac.dev/decision-api), sent as a bearer token; the caller
//                    needs orgrbac-api-caller (checks) and orgrbac-api-reader (lists)
//   WORKOS_PORT      the API's port on 127.0.0.1 (HTTPS; trust it with NODE_EXTRA_CA_CERTS)
//   ORG_ID           an organization id
//   USER_ID          a user id
//   MEMBERSHIP_ID    a membership id
//   ORG_ROLE         an organization role slug of ORG_ID
//   ENV_ROLE         an environment role slug
//   CHECKS           membership ids and permissions to check: "id/permission,id/permission"
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
const orgId = env('ORG_ID');

const failure = async (call) => {
  try {
    await call();
    return null;
  } catch (e) {
    return { name: e.name, status: e.status, code: e.code ?? null };
  }
};

const out = { sdkVersion: workos.version };

// Every page by hand, two at a time, following list_metadata.after.
out.pages = [];
let after;
do {
  const page = await workos.userManagement.listOrganizationMemberships({ organizationId: orgId, limit: 2, after });
  out.pages.push({ ids: page.data.map((m) => m.id), listMetadata: page.listMetadata });
  after = page.listMetadata.after;
} while (after && out.pages.length < 100);

// The SDK's own auto-pagination.
out.byOrganization = await (await workos.userManagement.listOrganizationMemberships({ organizationId: orgId })).autoPagination();
out.byUser = (await workos.userManagement.listOrganizationMemberships({ userId: env('USER_ID') })).data;
out.inactive = (await workos.userManagement.listOrganizationMemberships({ organizationId: orgId, statuses: ['inactive'] })).data.map((m) => m.id);
out.membership = await workos.userManagement.getOrganizationMembership(env('MEMBERSHIP_ID'));

out.environmentRoles = (await workos.authorization.listEnvironmentRoles()).data;
out.environmentRole = await workos.authorization.getEnvironmentRole(env('ENV_ROLE'));
out.organizationRoles = (await workos.authorization.listOrganizationRoles(orgId)).data;
out.organizationRole = await workos.authorization.getOrganizationRole(orgId, env('ORG_ROLE'));

out.checks = {};
for (const pair of env('CHECKS').split(',')) {
  const [organizationMembershipId, permissionSlug] = pair.split('/');
  const res = await workos.authorization.check({ organizationMembershipId, permissionSlug });
  out.checks[pair] = res.authorized;
}

out.notFound = await failure(() => workos.userManagement.getOrganizationMembership('no-such-membership'));
out.unauthorized = await failure(() =>
  new WorkOS('not-a-token', options).userManagement.listOrganizationMemberships({ organizationId: orgId }));

process.stdout.write(JSON.stringify(out));
