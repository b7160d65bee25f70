// The API client: openapi-fetch typed from the document the API itself serves
// (src/api/schema.d.ts is generated from it at build time, never edited by hand).
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { currentToken, signOut } from "../auth/session";

export type Task = components["schemas"]["TaskView"];
export type TaskCreate = components["schemas"]["TaskCreate"];
export type TaskPatch = components["schemas"]["TaskPatch"];
export type Run = components["schemas"]["RunView"];
export type RunStatus = components["schemas"]["RunStatus"];
export type Schedule = NonNullable<TaskCreate["schedule"]>;
export type SchedulePreview = components["schemas"]["SchedulePreview"];
export type ScheduleFromWords = components["schemas"]["ScheduleFromWords"];
export type TaskStats = components["schemas"]["TaskStats"];
export type Tool = components["schemas"]["ListedTool"];
export type Policies = components["schemas"]["Policies"];
export type Agent = components["schemas"]["AgentConfig"];
export type Transcript = components["schemas"]["Transcript"];
export type HistoryEntry = components["schemas"]["HistoryEntryView"];
export type FieldChange = components["schemas"]["FieldChange"];

export const RUN_STATUSES: RunStatus[] = [
  "QUEUED",
  "RUNNING",
  "SUCCEEDED",
  "FAILED",
  "TIMED_OUT",
  "WAITING_INPUT",
  "CANCELLED",
  "SKIPPED",
  "MISSED",
];

/** A problem+json answer (RFC 9457), as every error of the API is. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
  /** Inputs close to the refused one that would be taken (a schedule in words). */
  suggestions?: string[];
}

/** An API call that did not succeed; `fieldErrors` maps a form field ("schedule.expression") to its message. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.status = problem.status;
    this.problem = problem;
  }

  get fieldErrors(): Record<string, string> {
    const result: Record<string, string> = {};
    for (const error of this.problem.errors ?? []) {
      // The API names fields by where they sit in the request: body.schedule.expression.
      const field = error.field.replace(/^(body|query|header|path)\./, "");
      result[field] = result[field] ? `${result[field]}; ${error.message}` : error.message;
    }
    return result;
  }
}

/**
 * A token the API will not take: no token is API Gateway's 401, a token or key the Lambda
 * authorizer refuses (expired, revoked, another issuer's) its 403 (an authorizer cannot answer
 * 401). The API itself never answers 403, so both mean "sign in again".
 */
function refusedCredentials(status: number): boolean {
  return status === 401 || status === 403;
}

/** The bearer token on every call; a refused one signs out. Every client of the API uses it. */
export const authMiddleware: Middleware = {
  onRequest({ request }) {
    const token = currentToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    // An expired or foreign token: back to the sign-in page rather than a page of errors.
    if (refusedCredentials(response.status)) signOut({ expired: true });
    return response;
  },
};

/** Says the changes this app makes are the web app's (a task's history records `via: web`). */
export const CLIENT_HEADERS: Record<string, string> = { "X-Agentcron-Client": "web" };

export const clientMiddleware: Middleware = {
  onRequest({ request }) {
    for (const [name, value] of Object.entries(CLIENT_HEADERS)) request.headers.set(name, value);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin });
api.use(authMiddleware, clientMiddleware);

function problemOf(response: Response, error: unknown): Problem {
  return error && typeof error === "object" && "status" in error
    ? (error as Problem)
    : { status: response.status, title: response.statusText, detail: typeof error === "string" ? error : undefined };
}

/** The data of an openapi-fetch result, or an ApiError carrying the problem the API answered. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  throw new ApiError(problemOf(response, error));
}

/** A call the API itself described in an answer (an action's undo): method, path and body. */
export interface ApiLink {
  method: string;
  href: string;
  body?: Record<string, unknown> | null;
}

/** Makes the call `link` describes, with the same token and errors as every typed call. Only
 * paths of this API are followed: a link is data from an answer, not a place to send the token. */
export async function followLink(link: ApiLink): Promise<unknown> {
  if (!/^\/v1\/[^/]/.test(link.href)) throw new Error(`Not a link of this API: ${link.href}`);
  const token = currentToken();
  const headers: Record<string, string> = { ...CLIENT_HEADERS, ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  if (link.body) headers["Content-Type"] = "application/json";
  const request = new Request(new URL(link.href, window.location.origin), {
    method: link.method.toUpperCase(),
    headers,
    body: link.body ? JSON.stringify(link.body) : undefined,
  });
  const response = await fetch(request);
  if (refusedCredentials(response.status)) signOut({ expired: true });
  const text = await response.text();
  let payload: unknown = text || null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: kept as text for the error message.
  }
  if (!response.ok) throw new ApiError(problemOf(response, payload));
  return payload;
}

/** What to tell a person about a failed call. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
