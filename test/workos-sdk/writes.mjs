// Drives the official WorkOS Node SDK against the orgrbac decision API for
// internal/api/workos_sdk_writes_test.go: one command per line on stdin, one
// JSON answer per line on stdout, so that the test checks the cluster between
// two SDK calls.
//
// Environment:
//   WORKOS_SDK_DIR      the npm prefix where @workos-inc/node is installed
//   JOSE_DIR            the npm prefix where jose is installed
//   WORKOS_PORT         the API's port on 127.0.0.1 (HTTPS; trust it with NODE_EXTRA_CA_CERTS)
//   WORKOS_TOKENS       a JSON object of caller name to bearer token (ServiceAccount
//                       tokens for the decision API's audience), the SDK's API key
//
// A command is {"as": caller, "op": operation, "args": {...}}. The answer is
// {"ok": true, "value": ...} with what the SDK returned (its own deserialized
// objects), or {"ok": false, "error": {"name", "status", "code", "message"}}
// with the SDK's exception (or jose's error for verifyToken).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const sdkRequire = createRequire(join(env('WORKOS_SDK_DIR'), 'package.json'));
const { WorkOS } = sdkRequire('@workos-inc/node');
const joseDir = join(env('JOSE_DIR'), 'node_modules', 'jose');
const jose = await import(pathToFileURL(createRequire(join(env('JOSE_DIR'), 'package.json')).resolve('jose')).href);
const joseVersion = JSON.parse(readFileSync(join(joseDir, 'package.json'), 'utf8')).version;

const options = { apiHostname: '127.0.0.1', port: Number(env('WORKOS_PORT')), https: true, timeout: 20000 };
const tokens = JSON.parse(env('WORKOS_TOKENS'));
const clients = new Map();
const client = (as) => {
  if (!clients.has(as)) {
    if (!(as in tokens)) throw new Error(`no token for caller ${as}`);
    clients.set(as, new WorkOS(tokens[as], { ...options }));
  }
  return clients.get(as);
};

// Only the keys the caller set: the SDK's serializers test for presence.
const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const operations = {
  version: async () => ({ sdk: client(Object.keys(tokens)[0]).version, jose: joseVersion, node: process.version }),

  // Organization memberships.
  createMembership: (w, a) => w.userManagement.createOrganizationMembership(
    defined({ organizationId: a.organizationId, userId: a.userId, roleSlug: a.roleSlug, roleSlugs: a.roleSlugs })),
  updateMembership: (w, a) => w.userManagement.updateOrganizationMembership(a.id,
    defined({ roleSlug: a.roleSlug, roleSlugs: a.roleSlugs })),
  deactivateMembership: (w, a) => w.userManagement.deactivateOrganizationMembership(a.id),
  reactivateMembership: (w, a) => w.userManagement.reactivateOrganizationMembership(a.id),
  deleteMembership: (w, a) => w.userManagement.deleteOrganizationMembership(a.id),
  getMembership: (w, a) => w.userManagement.getOrganizationMembership(a.id),
  listMemberships: async (w, a) => (await w.userManagement.listOrganizationMemberships(
    defined({ organizationId: a.organizationId, userId: a.userId, statuses: a.statuses }))).autoPagination(),

  // Organization roles.
  createOrganizationRole: (w, a) => w.authorization.createOrganizationRole(a.organizationId,
    defined({ slug: a.slug, name: a.name, description: a.description })),
  updateOrganizationRole: (w, a) => w.authorization.updateOrganizationRole(a.organizationId, a.slug,
    defined({ name: a.name, description: a.description })),
  addOrganizationRolePermission: (w, a) => w.authorization.addOrganizationRolePermission(a.organizationId, a.slug,
    { permissionSlug: a.permissionSlug }),
  setOrganizationRolePermissions: (w, a) => w.authorization.setOrganizationRolePermissions(a.organizationId, a.slug,
    { permissions: a.permissions }),
  removeOrganizationRolePermission: (w, a) => w.authorization.removeOrganizationRolePermission(a.organizationId, a.slug,
    { permissionSlug: a.permissionSlug }),
  deleteOrganizationRole: (w, a) => w.authorization.deleteOrganizationRole(a.organizationId, a.slug),
  getOrganizationRole: (w, a) => w.authorization.getOrganizationRole(a.organizationId, a.slug),
  listOrganizationRoles: async (w, a) => (await w.authorization.listOrganizationRoles(a.organizationId)).data,

  // Checks, with the organization as the resource when the command names one.
  check: (w, a) => w.authorization.check(defined({
    organizationMembershipId: a.id, permissionSlug: a.permissionSlug,
    resourceExternalId: a.resourceExternalId, resourceTypeSlug: a.resourceTypeSlug })),

  // Organizations.
  getOrganization: (w, a) => w.organizations.getOrganization(a.id),
  getOrganizationByExternalId: (w, a) => w.organizations.getOrganizationByExternalId(a.externalId),
  listOrganizations: async (w) => (await w.organizations.listOrganizations()).autoPagination(),

  // Access tokens. No SDK mints them (WorkOS issues them at sign-in): a plain
  // POST with the caller's bearer, as a login service would make it.
  mintToken: async (w, a) => {
    const res = await fetch(`${w.baseURL}/v1/tokens`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens[a.caller]}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ organization: a.organization, user: a.user }),
    });
    return { status: res.status, body: await res.json() };
  },
  // Verified as an application verifies a WorkOS access token: jose against
  // the key set at the URL the SDK builds (a fresh key set each time, so that
  // a key that left the set is not remembered).
  verifyToken: async (w, a) => {
    const url = w.userManagement.getJwksUrl(a.clientId);
    const jwks = jose.createRemoteJWKSet(new URL(url));
    const verifyOptions = defined({ issuer: a.issuer, audience: a.audience, algorithms: ['RS256'],
      currentDate: a.at === undefined ? undefined : new Date(a.at * 1000) });
    const { payload, protectedHeader } = await jose.jwtVerify(a.token, jwks, verifyOptions);
    return { jwksUrl: url, payload, protectedHeader };
  },
};

// The SDK's list objects carry getters and functions: keep the data only.
const plain = (v) => (v === undefined ? null : JSON.parse(JSON.stringify(v)));

const describe = (e) => ({
  name: e?.name ?? String(e),
  status: e?.status ?? null,
  code: e?.code ?? null,
  message: e?.message ?? String(e),
});

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { as, op, args = {} } = JSON.parse(line);
  let answer;
  try {
    const operation = operations[op];
    if (!operation) throw new Error(`unknown operation ${op}`);
    const value = await operation(op === 'version' ? undefined : client(as), { caller: as, ...args });
    answer = { ok: true, value: plain(value) };
  } catch (e) {
    answer = { ok: false, error: describe(e) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
