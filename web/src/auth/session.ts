// The signed-in session: the API token lives in sessionStorage (this tab only, gone when it
// closes), never in a cookie the API would trust.
import { useSyncExternalStore } from "react";

const TOKEN_KEY = "agentcron.token";
const USER_KEY = "agentcron.user";
const listeners = new Set<() => void>();

export interface Session {
  token: string;
  user: string;
}

let cached: Session | null = read();
let expiredNotice = false;

function read(): Session | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const user = sessionStorage.getItem(USER_KEY);
  return token && user ? { token, user } : null;
}

function changed(): void {
  cached = read();
  for (const listener of listeners) listener();
}

export function currentToken(): string | null {
  return cached?.token ?? null;
}

export function signIn(session: Session): void {
  sessionStorage.setItem(TOKEN_KEY, session.token);
  sessionStorage.setItem(USER_KEY, session.user);
  expiredNotice = false;
  changed();
}

export function signOut(options: { expired?: boolean } = {}): void {
  if (!cached) return;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  expiredNotice = options.expired ?? false;
  changed();
}

/** True once after a refused token (401, or the authorizer's 403) signed the user out, so the sign-in page can say why. */
export function sessionExpired(): boolean {
  return expiredNotice;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, () => cached);
}

/** The user name in a JWT (Cognito: `username` or `cognito:username`, else `sub`); display only. */
export function userOfToken(token: string): string {
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    const name = claims["username"] ?? claims["cognito:username"] ?? claims["email"] ?? claims["sub"];
    return typeof name === "string" ? name : "signed in";
  } catch {
    return "signed in";
  }
}
