// A real, certified OpenID provider (`oidc-provider` 8.8, its development interactions: any
// login, any password; then a consent form with one button) on a free 127.0.0.1 port, with the
// quick-start in-memory adapter. `findAccount` decides each login name's claims, so tests can
// have a verified admin, a plain user, a stranger, an unverified address, a group member and
// an Entra-shaped account.
import Provider from "oidc-provider";

/** Claims per login name; any other login gets `<login>@elsewhere.example`, verified. */
export const ACCOUNTS = {
  ada: { email: "ada@example.com", email_verified: true, name: "Ada Admin" },
  pat: { email: "pat@example.com", email_verified: true, name: "Pat Plain" },
  eve: { email: "eve@elsewhere.example", email_verified: true, name: "Eve Stranger" },
  una: { email: "ada@example.com", email_verified: false, name: "Una Unverified" },
  gil: { email: "gil@elsewhere.example", email_verified: true, name: "Gil Group", groups: ["mcp-admins", "sales"] },
  // Shaped like Microsoft Entra: no email_verified, the optional claim xms_edov instead.
  ent: { email: "ent@example.com", xms_edov: true, name: "Ent Entra" },
};

/**
 * Starts the provider at `http://127.0.0.1:<port>` with one confidential client whose redirect
 * URI is `redirectUri`. Resolves with `{ issuer, clientId, clientSecret, setDown, close }`.
 */
export async function startOidcProvider({ port, redirectUri, clientId = "mcp-edge", clientSecret = "e2e-secret-of-mcp-edge" }) {
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    }],
    async findAccount(ctx, id) {
      const claims = ACCOUNTS[id] ?? { email: `${id}@elsewhere.example`, email_verified: true, name: id };
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
    claims: { openid: ["sub"], email: ["email", "email_verified", "xms_edov"], profile: ["name", "groups"] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ["e2e-cookie-key-not-secret"] },
  });
  // An outage of the token endpoint on demand (what a person sees when the provider is down
  // between its login page and our code exchange).
  let down = false;
  provider.use(async (ctx, next) => {
    if (down && ctx.path === "/token") {
      ctx.status = 503;
      ctx.body = "maintenance";
      return;
    }
    await next();
  });
  const server = provider.listen(port, "127.0.0.1");
  await new Promise((res, rej) => { server.once("listening", res); server.once("error", rej); });
  return {
    issuer, clientId, clientSecret,
    setDown: (value) => { down = value; },
    close: () => new Promise((res) => { server.closeAllConnections?.(); server.close(() => res()); }),
  };
}
