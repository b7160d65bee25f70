// Sign-in. Locally: a user name, and the local stack signs a token for it (two windows, two
// users). Deployed: Cognito's managed login (authorization code + PKCE).
import { useEffect, useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import type { AuthConfig } from "../auth/config";
import { finishCognitoSignIn, startCognitoSignIn } from "../auth/cognito";
import { sessionExpired, signIn } from "../auth/session";

export function SignInPage({ config }: { config: AuthConfig }) {
  const [user, setUser] = useState("");
  const [error, setError] = useState<string | null>(sessionExpired() ? "Your session ended; sign in again." : null);
  const [busy, setBusy] = useState(false);

  async function devSignIn(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const response = await fetch("/local/dev-token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: user.trim() }),
      });
      const body = (await response.json()) as { token?: string; user?: string; detail?: string };
      if (!response.ok || !body.token) throw new Error(body.detail ?? `sign-in failed (${response.status})`);
      signIn({ token: body.token, user: body.user ?? user.trim() });
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="sign-in">
      <h1>agentcron</h1>
      <p>Scheduled Claude agent tasks: a prompt, a schedule, every run kept.</p>
      {config.kind === "local" ? (
        <form onSubmit={devSignIn} aria-labelledby="sign-in-title">
          <h2 id="sign-in-title">Sign in to the local stack</h2>
          <div className="field">
            <label htmlFor="user-name">User name</label>
            <input id="user-name" value={user} onChange={(e) => setUser(e.target.value)} autoComplete="username" required aria-describedby="user-name-hint sign-in-error" />
            <p id="user-name-hint" className="hint">
              Any name: each one is a separate account (the token's owner).
            </p>
          </div>
          <p id="sign-in-error" className="field-error" role={error ? "alert" : undefined}>
            {error ?? ""}
          </p>
          <button type="submit" className="primary" disabled={busy || !user.trim()}>
            Sign in
          </button>
        </form>
      ) : (
        <div>
          {error && <p className="field-error" role="alert">{error}</p>}
          <button type="button" className="primary" onClick={() => void startCognitoSignIn(config)}>
            Sign in
          </button>
        </div>
      )}
    </main>
  );
}

export function CallbackPage({ config }: { config: AuthConfig }) {
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (config.kind !== "cognito") return;
    finishCognitoSignIn(config, window.location.search)
      .then(() => navigate("/", { replace: true }))
      .catch((failure: Error) => setError(failure.message));
  }, [config, navigate]);
  return (
    <main id="main" className="sign-in">
      <h1>Signing in…</h1>
      {error && <p role="alert" className="field-error">{error}</p>}
    </main>
  );
}
