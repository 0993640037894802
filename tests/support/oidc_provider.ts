/**
 * An OpenID provider for tests: npm `oidc-provider` (panva's certified implementation) served on
 * a free loopback port in the test process, with its development login form (any name, any
 * password) and consent page. The name typed at its login becomes `sub` and
 * `preferred_username`; `name` is "Person <name>", `email` "<name>@commune.lu" (verified).
 *
 * @module
 */

import { createServer, type Server } from "node:http";
import Provider from "oidc-provider";

/** The client the tests register with the provider. */
export const OIDC_CLIENT = { id: "gemeng", secret: "gemeng-client-secret-0123456789" };

/** A running provider. */
export interface TestOidcProvider {
  issuer: string;
  close(): Promise<void>;
}

/** A free loopback port. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts the provider for a client whose callback is `redirectUri`. */
export async function startOidcProvider(redirectUri: string): Promise<TestOidcProvider> {
  const port = freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: OIDC_CLIENT.id,
      client_secret: OIDC_CLIENT.secret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    }],
    claims: {
      openid: ["sub"],
      profile: ["name", "preferred_username"],
      email: ["email", "email_verified"],
    },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({
        sub: id,
        preferred_username: id,
        name: `Person ${id}`,
        email: `${id}@commune.lu`,
        email_verified: true,
      }),
    }),
    // Profile claims in the ID token too, so gemeng need not ask userinfo.
    conformIdTokenClaims: false,
    cookies: { keys: ["test-cookie-key-0123456789abcdef"] },
    pkce: { required: () => true },
  });
  // Plain http on loopback: oidc-provider must not expect a TLS-terminating proxy.
  provider.proxy = false;
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
