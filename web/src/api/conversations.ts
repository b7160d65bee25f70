// Conversations (issue 14): the resources of /v1/conversations and a client typed for them.
//
// TEMPORARY: the server side is built alongside this page, so src/api/schema.d.ts does not
// hold these paths yet. Everything below mirrors the contract (CONVERSATIONS_API.md) in the
// shape openapi-typescript generates. Once `npm run openapi` has the conversation paths:
//   - make each type an alias of the generated schema, e.g.
//       export type Conversation = components["schemas"]["ConversationView"];
//       export type Message = components["schemas"]["MessageView"];
//     (and the page, create and status types likewise), and
//   - delete ConversationPaths and make `conversationApi` the app's `api` from ./client.
// Nothing else imports these paths: the pages and hooks use only the names exported here.
import createClient from "openapi-fetch";
import { authMiddleware, type Problem, type RunStatus } from "./client";

export type ConversationStatus = "active" | "background" | "waiting_input" | "archived";
export type QuestionKind = "free_text" | "confirm" | "choice";
export type MessageRole = "user" | "assistant" | "run" | "action" | "error";

export const CONVERSATION_STATUSES: ConversationStatus[] = ["active", "background", "waiting_input", "archived"];

interface Link {
  href: string;
}

/** A question a run started from the conversation waits on. */
export interface WaitingQuestion {
  run_id: string;
  task_id: string;
  question: string;
  question_kind: QuestionKind;
  question_options: string[] | null;
}

export interface Conversation {
  id: string;
  title: string;
  status: ConversationStatus;
  created_at: string;
  updated_at: string;
  task_ids: string[];
  waiting: WaitingQuestion[];
  _links: Record<string, Link>;
}

/** What an `action` message offers to take back: the call to make, as the API describes it. */
export interface UndoLink {
  method: string;
  href: string;
  body: Record<string, unknown> | null;
}

export interface MessageAction {
  tool: string;
  summary: string;
  task_id: string | null;
  run_id: string | null;
  undo: UndoLink | null;
}

export interface Message {
  id: string;
  conversation_id: string;
  created_at: string;
  role: MessageRole;
  text: string;
  run_id: string | null;
  task_id: string | null;
  run_status: RunStatus | null;
  question: { text: string; kind: QuestionKind; options: string[] | null } | null;
  answers_run_id: string | null;
  action: MessageAction | null;
  _links: Record<string, Link>;
}

export interface ConversationPage {
  items: Conversation[];
  next_cursor: string | null;
}

export interface MessagePage {
  items: Message[];
  has_more: boolean;
}

export interface ConversationCreate {
  title?: string | null;
  message?: string | null;
}

export interface MessageCreate {
  text: string;
  reply_to?: string | null;
}

type Json<T> = { headers: Record<string, unknown>; content: { "application/json": T } };
type Problems = { default: { headers: Record<string, unknown>; content: { "application/problem+json": Problem } } };
type IdempotencyHeader = { "idempotency-key"?: string };
type ConversationPath = { conversation_id: string };

/** The contract's paths, as openapi-typescript would write them (see the note at the top). */
interface ConversationPaths {
  "/v1/conversations": {
    get: {
      parameters: { query?: { limit?: number; cursor?: string; status?: ConversationStatus } };
      responses: { 200: Json<ConversationPage> } & Problems;
    };
    post: {
      parameters: { header?: IdempotencyHeader };
      requestBody: { content: { "application/json": ConversationCreate } };
      responses: { 201: Json<Conversation> } & Problems;
    };
  };
  "/v1/conversations/{conversation_id}": {
    get: {
      parameters: { path: ConversationPath };
      responses: { 200: Json<Conversation> } & Problems;
    };
  };
  "/v1/conversations/{conversation_id}/messages": {
    get: {
      parameters: { path: ConversationPath; query?: { after?: string; limit?: number } };
      responses: { 200: Json<MessagePage> } & Problems;
    };
    post: {
      parameters: { path: ConversationPath; header?: IdempotencyHeader };
      requestBody: { content: { "application/json": MessageCreate } };
      responses: { 202: Json<Message> } & Problems;
    };
  };
  "/v1/conversations/{conversation_id}/archive": {
    post: {
      parameters: { path: ConversationPath };
      responses: { 200: Json<Conversation> } & Problems;
    };
  };
}

export const conversationApi = createClient<ConversationPaths>({ baseUrl: window.location.origin });
conversationApi.use(authMiddleware);
