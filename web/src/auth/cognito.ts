// Cognito managed login: authorization code with PKCE (RFC 7636), no client secret, as a
// public single-page client must. The verifier stays in sessionStorage for the one round trip.
import { signIn, userOfToken } from "./session";

const VERIFIER_KEY = "agentcron.pkce.verifier";
const STATE_KEY = "agentcron.pkce.state";
export const CALLBACK_PATH = "/callback";

interface CognitoSettings {
  domain: string;
  client_id: string;
  scopes?: string[];
}

function randomString(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(data: Uint8Array): string {
  let text = "";
  for (const byte of data) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function redirectUri(): string {
  return `${window.location.origin}${CALLBACK_PATH}`;
}

export async function startCognitoSignIn(settings: CognitoSettings): Promise<void> {
  const verifier = randomString(48);
  const state = randomString(16);
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  sessionStorage.setItem(STATE_KEY, state);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: settings.client_id,
    redirect_uri: redirectUri(),
    scope: (settings.scopes ?? ["openid", "email"]).join(" "),
    state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  });
  window.location.assign(`${settings.domain}/oauth2/authorize?${query}`);
}

/** Trade the code on /callback for tokens; throws with a message to show on failure. */
export async function finishCognitoSignIn(settings: CognitoSettings, search: string): Promise<void> {
  const params = new URLSearchParams(search);
  const error = params.get("error_description") ?? params.get("error");
  if (error) throw new Error(error);
  const code = params.get("code");
  const verifier = sessionStorage.getItem(VERIFIER_KEY);
  if (!code || !verifier || params.get("state") !== sessionStorage.getItem(STATE_KEY)) {
    throw new Error("The sign-in answer does not match this tab's request; sign in again.");
  }
  sessionStorage.removeItem(VERIFIER_KEY);
  sessionStorage.removeItem(STATE_KEY);
  const response = await fetch(`${settings.domain}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: settings.client_id,
      code,
      redirect_uri: redirectUri(),
      code_verifier: verifier,
    }),
  });
  if (!response.ok) throw new Error(`Cognito refused the sign-in (${response.status}); sign in again.`);
  const tokens = (await response.json()) as { access_token: string; id_token?: string };
  // The API's authorizer checks the access token (its client_id is the app client).
  signIn({ token: tokens.access_token, user: userOfToken(tokens.id_token ?? tokens.access_token) });
}

export function cognitoSignOutUrl(settings: CognitoSettings): string {
  const query = new URLSearchParams({ client_id: settings.client_id, logout_uri: `${window.location.origin}/` });
  return `${settings.domain}/logout?${query}`;
}
