// Reads and writes of conversations, as TanStack Query hooks. The thread is read incrementally
// (`after=<last id>`); every post carries an Idempotency-Key chosen by the caller, so the
// retries below (a dropped connection, never a 4xx) can never post a message twice.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { ApiError, followLink, unwrap, type ApiLink } from "./client";
import { conversationApi, type Conversation, type ConversationStatus, type Message } from "./conversations";
import { POLL_MS } from "./queries";
import { EMPTY_THREAD, laterCursor, mergeMessages, pollInterval, type Thread } from "../lib/thread";

export const conversationKeys = {
  all: ["conversations"] as const,
  list: (status?: ConversationStatus) => ["conversations", "list", status] as const,
  one: (id: string) => ["conversations", id] as const,
  thread: (id: string) => ["conversations", id, "thread"] as const,
};

const MESSAGE_PAGE = 200;

/** A post is retried only when it may never have arrived; the same key makes that safe. */
const retryUnanswered = (failures: number, error: unknown) => !(error instanceof ApiError) && failures < 3;

export function useConversations(status?: ConversationStatus) {
  return useInfiniteQuery({
    queryKey: conversationKeys.list(status),
    queryFn: ({ pageParam }) =>
      unwrap(conversationApi.GET("/v1/conversations", { params: { query: { limit: 50, status, cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    refetchInterval: POLL_MS,
  });
}

/** Both polls of a conversation keep one pace, set by what the cache holds: fast while a turn
 * or a run of it is under way, slower when it is quiet. */
function pace(client: QueryClient, id: string): number {
  return pollInterval(client.getQueryData<Conversation>(conversationKeys.one(id)), client.getQueryData<Thread>(conversationKeys.thread(id))?.messages ?? []);
}

export function useConversation(id: string) {
  const client = useQueryClient();
  return useQuery({
    queryKey: conversationKeys.one(id),
    queryFn: () => unwrap(conversationApi.GET("/v1/conversations/{conversation_id}", { params: { path: { conversation_id: id } } })),
    refetchInterval: () => pace(client, id),
  });
}

/** The whole thread, each poll asking only for what came after the last message read. */
export function useThread(id: string) {
  const client = useQueryClient();
  const key = conversationKeys.thread(id);
  return useQuery({
    queryKey: key,
    queryFn: async (): Promise<Thread> => {
      const start = client.getQueryData<Thread>(key) ?? EMPTY_THREAD;
      let cursor = start.cursor;
      const fresh: Message[] = [];
      for (;;) {
        const page = await unwrap(
          conversationApi.GET("/v1/conversations/{conversation_id}/messages", {
            params: { path: { conversation_id: id }, query: { after: cursor ?? undefined, limit: MESSAGE_PAGE } },
          }),
        );
        fresh.push(...page.items);
        cursor = page.items.at(-1)?.id ?? cursor;
        if (!page.has_more || page.items.length === 0) break;
      }
      // Merged into what the cache holds now, not at the start: a message posted meanwhile stays.
      const now = client.getQueryData<Thread>(key) ?? start;
      return { messages: mergeMessages(now.messages, fresh), cursor: laterCursor(now.cursor, cursor) };
    },
    refetchInterval: () => pace(client, id),
  });
}

function showPosted(client: QueryClient, message: Message) {
  const key = conversationKeys.thread(message.conversation_id);
  const thread = client.getQueryData<Thread>(key) ?? EMPTY_THREAD;
  client.setQueryData<Thread>(key, { ...thread, messages: mergeMessages(thread.messages, [message]) });
}

function refreshConversation(client: QueryClient, id: string) {
  return Promise.all([
    client.invalidateQueries({ queryKey: conversationKeys.one(id) }),
    client.invalidateQueries({ queryKey: ["conversations", "list"] }),
  ]);
}

export interface Send {
  text: string;
  /** The waiting run this message answers, when there are several to choose from. */
  replyTo?: string | null;
  idempotencyKey: string;
}

export function useSendMessage(conversationId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ text, replyTo, idempotencyKey }: Send) =>
      unwrap(
        conversationApi.POST("/v1/conversations/{conversation_id}/messages", {
          params: { path: { conversation_id: conversationId }, header: { "idempotency-key": idempotencyKey } },
          body: replyTo ? { text, reply_to: replyTo } : { text },
        }),
      ),
    retry: retryUnanswered,
    onSuccess: (message) => {
      showPosted(client, message);
      return Promise.all([refreshConversation(client, conversationId), client.invalidateQueries({ queryKey: conversationKeys.thread(conversationId) })]);
    },
  });
}

export function useCreateConversation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ title, text, idempotencyKey }: { title: string; text: string; idempotencyKey: string }) =>
      unwrap(
        conversationApi.POST("/v1/conversations", {
          params: { header: { "idempotency-key": idempotencyKey } },
          body: title ? { title, message: text } : { message: text },
        }),
      ),
    retry: retryUnanswered,
    onSuccess: (conversation) => {
      client.setQueryData(conversationKeys.one(conversation.id), conversation);
      return client.invalidateQueries({ queryKey: ["conversations", "list"] });
    },
  });
}

export function useArchiveConversation(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(conversationApi.POST("/v1/conversations/{conversation_id}/archive", { params: { path: { conversation_id: id } } })),
    onSuccess: (conversation) => {
      client.setQueryData(conversationKeys.one(id), conversation);
      return refreshConversation(client, id);
    },
  });
}

/** Takes back what an action message did; the tasks, runs and this thread are read again. */
export function useUndo(conversationId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (undo: ApiLink) => followLink(undo),
    onSuccess: () =>
      Promise.all([
        refreshConversation(client, conversationId),
        client.invalidateQueries({ queryKey: conversationKeys.thread(conversationId) }),
        client.invalidateQueries({ queryKey: ["tasks"] }),
        client.invalidateQueries({ queryKey: ["runs"] }),
        client.invalidateQueries({ queryKey: ["run"] }),
      ]),
  });
}
