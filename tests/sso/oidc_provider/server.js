// A real OpenID Connect provider for Okno's SSO tests (tests/sso/conftest.py starts it): node-oidc-provider with
// one confidential client and the accounts of a JSON file, read again on every sign-in so a test can change a
// user's groups between two logins. The provider's development interactions (a login form, then a consent form)
// stand in for a real login page, with the password checked against the file; the tests drive them over HTTP.
//
// Environment: OIDC_PORT, OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI,
// OIDC_POST_LOGOUT_REDIRECT_URI, OIDC_USERS_FILE (a JSON object: account id -> claims), OIDC_JWKS_FILE (a JSON
// Web Key Set with the private signing key; the test keeps it to sign tokens of its own).
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value;
};

const port = Number(env('OIDC_PORT'));
const issuer = env('OIDC_ISSUER');
const usersFile = env('OIDC_USERS_FILE');
const readUsers = () => JSON.parse(readFileSync(usersFile, 'utf8'));

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('OIDC_CLIENT_ID'),
    client_secret: env('OIDC_CLIENT_SECRET'),
    redirect_uris: [env('OIDC_REDIRECT_URI')],
    post_logout_redirect_uris: [env('OIDC_POST_LOGOUT_REDIRECT_URI')],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: JSON.parse(readFileSync(env('OIDC_JWKS_FILE'), 'utf8')),
  // Okno sends PKCE (S256): require it, so a client that stopped sending it fails the tests.
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['okno-test-oidc-provider-cookie-key'] },
  async findAccount(ctx, id) {
    const claims = readUsers()[id];
    if (!claims) return undefined;
    const { password, ...rest } = claims;
    return { accountId: id, async claims() { return { sub: id, ...rest }; } };
  },
});

// devInteractions take any name and password: this checks both against the accounts file first (its
// "password" member is never a claim). The body read here is handed on as already parsed, which the
// provider's body parser accepts.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString();
    const form = new URLSearchParams(raw);
    if (form.get('prompt') === 'login') {
      const account = readUsers()[form.get('login')];
      if (!account || account.password !== form.get('password')) {
        ctx.status = 403;
        ctx.body = 'wrong login or password';
        return;
      }
    }
    ctx.req.body = raw;
  }
  await next();
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
