// A conversation's thread as the page holds it: messages merged from incremental polls, and
// whether a turn is still being answered (which decides how often to poll).
import type { Conversation, Message } from "../api/conversations";

/** While the assistant works on a turn (or a run of the conversation does), the thread moves fast. */
export const FAST_POLL_MS = 1500;
/** A quiet conversation: a run started from it may still post, but rarely. */
export const QUIET_POLL_MS = 6000;

/** The messages read so far and where the next poll starts (`after=`). */
export interface Thread {
  messages: Message[];
  /** The last id the list endpoint returned. A message this page posted is shown at once but
   * never moves the cursor: a message the server stored just before it must still be read. */
  cursor: string | null;
}

export const EMPTY_THREAD: Thread = { messages: [], cursor: null };

/** `known` and `fresh` as one list in posting order (ids sort by it), each message once; the
 * later copy of a message wins. */
export function mergeMessages(known: Message[], fresh: Message[]): Message[] {
  if (fresh.length === 0) return known;
  const byId = new Map(known.map((message) => [message.id, message]));
  for (const message of fresh) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function laterCursor(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

/** The chat runs of user messages that have no assistant (or error) answer yet. */
export function pendingTurns(messages: Message[]): Set<string> {
  const answered = new Set(messages.filter((m) => (m.role === "assistant" || m.role === "error") && m.run_id).map((m) => m.run_id));
  return new Set(messages.filter((m) => m.role === "user" && m.run_id && !answered.has(m.run_id)).map((m) => m.run_id as string));
}

export function pollInterval(conversation: Conversation | undefined, messages: Message[]): number {
  const busy = conversation?.status === "waiting_input" || conversation?.status === "background";
  return busy || pendingTurns(messages).size > 0 ? FAST_POLL_MS : QUIET_POLL_MS;
}
