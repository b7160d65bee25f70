// How this deployment signs people in, from /config.json: the local stack answers
// {"auth": {"kind": "local"}}; `make deploy-web` writes the Cognito settings next to the app.
export type AuthConfig =
  | { kind: "local" }
  | { kind: "cognito"; domain: string; client_id: string; scopes?: string[] };

export async function loadAuthConfig(): Promise<AuthConfig> {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) return { kind: "local" };
  const body = (await response.json()) as { auth?: AuthConfig };
  return body.auth ?? { kind: "local" };
}
