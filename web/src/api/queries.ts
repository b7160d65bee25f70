// Every read and write of the app, as TanStack Query hooks. Reads poll every few seconds while
// the page is visible (refetchIntervalInBackground is off), so runs move without a reload.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type RunStatus, type Schedule, type TaskCreate, type TaskPatch } from "./client";

export const POLL_MS = 3000;

export const keys = {
  tasks: ["tasks"] as const,
  task: (id: string) => ["tasks", id] as const,
  taskRuns: (id: string, status?: RunStatus, cursor?: string) => ["tasks", id, "runs", status, cursor] as const,
  taskStats: (id: string) => ["tasks", id, "stats"] as const,
  taskHistory: (id: string, cursor?: string) => ["tasks", id, "history", cursor] as const,
  runs: (status?: RunStatus) => ["runs", status] as const,
  run: (id: string) => ["run", id] as const,
  transcript: (id: string) => ["run", id, "transcript"] as const,
};

export function useTasks() {
  return useQuery({
    queryKey: keys.tasks,
    queryFn: () => unwrap(api.GET("/v1/tasks", { params: { query: { limit: 100 } } })),
    refetchInterval: POLL_MS,
  });
}

export function useTask(id: string, enabled = true) {
  return useQuery({
    queryKey: keys.task(id),
    queryFn: () => unwrap(api.GET("/v1/tasks/{task_id}", { params: { path: { task_id: id } } })),
    enabled: enabled && id !== "",
    refetchInterval: POLL_MS,
  });
}

export function useTaskRuns(id: string, options: { status?: RunStatus; cursor?: string; limit?: number } = {}) {
  return useQuery({
    queryKey: [...keys.taskRuns(id, options.status, options.cursor), options.limit],
    queryFn: () =>
      unwrap(
        api.GET("/v1/tasks/{task_id}/runs", {
          params: {
            path: { task_id: id },
            query: { limit: options.limit ?? 20, status: options.status, cursor: options.cursor },
          },
        }),
      ),
    placeholderData: keepPreviousData,
    refetchInterval: POLL_MS,
  });
}

export function useTaskStats(id: string) {
  return useQuery({
    queryKey: keys.taskStats(id),
    queryFn: () => unwrap(api.GET("/v1/tasks/{task_id}/stats", { params: { path: { task_id: id } } })),
    refetchInterval: POLL_MS * 3,
  });
}

/** Every change to the task, newest first, a page of 10 at a time. */
export function useTaskHistory(id: string, cursor?: string) {
  return useQuery({
    queryKey: keys.taskHistory(id, cursor),
    queryFn: () =>
      unwrap(api.GET("/v1/tasks/{task_id}/history", { params: { path: { task_id: id }, query: { limit: 10, cursor } } })),
    placeholderData: keepPreviousData,
    refetchInterval: POLL_MS * 3,
  });
}

export function useRuns(status?: RunStatus, limit = 100) {
  return useQuery({
    queryKey: [...keys.runs(status), limit],
    queryFn: () => unwrap(api.GET("/v1/runs", { params: { query: { status, limit } } })),
    refetchInterval: POLL_MS,
  });
}

export function useRun(id: string) {
  return useQuery({
    queryKey: keys.run(id),
    queryFn: () => unwrap(api.GET("/v1/runs/{run_id}", { params: { path: { run_id: id } } })),
    refetchInterval: POLL_MS,
  });
}

export function useTranscript(id: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.transcript(id),
    queryFn: () => unwrap(api.GET("/v1/runs/{run_id}/transcript", { params: { path: { run_id: id } } })),
    enabled,
    retry: false,
  });
}

/** The run's report as a file: fetched with the token (a plain link could not carry it), then
 * saved under the name the API gives in Content-Disposition. */
export async function downloadReport(runId: string): Promise<void> {
  const { data, error, response } = await api.GET("/v1/runs/{run_id}/report", {
    params: { path: { run_id: runId } },
    parseAs: "blob",
  });
  if (!response.ok || !data) await unwrap(Promise.resolve({ data, error, response }));
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? `${runId}-report`;
  const url = URL.createObjectURL(data as Blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
  URL.revokeObjectURL(url);
}

export function useTools() {
  return useQuery({
    queryKey: ["tools"],
    queryFn: () => unwrap(api.GET("/v1/tools")),
    staleTime: Infinity,
  });
}

/** The API's description and next occurrences of `schedule`; null skips the call. */
export function useSchedulePreview(schedule: Schedule | null, count = 5) {
  return useQuery({
    queryKey: ["preview", schedule, count],
    queryFn: () => unwrap(api.POST("/v1/schedules/preview", { body: { schedule: schedule as Schedule, count } })),
    enabled: schedule !== null,
    staleTime: 30_000,
    retry: false,
    placeholderData: keepPreviousData,
  });
}

/** A schedule read from words ("every weekday at 9am") in `timezone`, with its preview; saves nothing. */
export function useParseSchedule() {
  return useMutation({
    mutationFn: ({ text, timezone }: { text: string; timezone: string }) =>
      unwrap(api.POST("/v1/schedules/parse", { body: { text, timezone, count: 5 } })),
  });
}

/** After any write, what the page shows is read again at once (not at the next poll). */
function useInvalidateAll() {
  const client = useQueryClient();
  return () => Promise.all([client.invalidateQueries({ queryKey: ["tasks"] }), client.invalidateQueries({ queryKey: ["runs"] }), client.invalidateQueries({ queryKey: ["run"] })]);
}

export function useCreateTask() {
  const invalidate = useInvalidateAll();
  return useMutation({
    mutationFn: (body: TaskCreate) => unwrap(api.POST("/v1/tasks", { body, params: { header: { "idempotency-key": crypto.randomUUID() } } })),
    onSuccess: invalidate,
  });
}

export function useUpdateTask(id: string) {
  const invalidate = useInvalidateAll();
  return useMutation({
    mutationFn: ({ body, version }: { body: TaskPatch; version: number }) =>
      unwrap(
        api.PATCH("/v1/tasks/{task_id}", {
          params: { path: { task_id: id }, header: { "if-match": `"${version}"` } },
          body,
        }),
      ),
    onSuccess: invalidate,
  });
}

export function useTaskActions(id: string) {
  const invalidate = useInvalidateAll();
  const path = { task_id: id };
  const runNow = useMutation({
    mutationFn: (variables: Record<string, string>) =>
      unwrap(
        api.POST("/v1/tasks/{task_id}/runs", {
          params: { path, header: { "idempotency-key": crypto.randomUUID() } },
          body: { variables },
        }),
      ),
    onSuccess: invalidate,
  });
  const pause = useMutation({
    mutationFn: (reason: string) =>
      unwrap(api.POST("/v1/tasks/{task_id}/disable", { params: { path }, body: { reason: reason || null } })),
    onSuccess: invalidate,
  });
  const resume = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/tasks/{task_id}/enable", { params: { path } })),
    onSuccess: invalidate,
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/v1/tasks/{task_id}", { params: { path } })),
    onSuccess: invalidate,
  });
  return { runNow, pause, resume, remove };
}

export function useRunActions(id: string) {
  const invalidate = useInvalidateAll();
  const path = { run_id: id };
  const reply = useMutation({
    mutationFn: (text: string) => unwrap(api.POST("/v1/runs/{run_id}/reply", { params: { path }, body: { reply: text } })),
    onSuccess: invalidate,
  });
  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/runs/{run_id}/cancel", { params: { path } })),
    onSuccess: invalidate,
  });
  return { reply, cancel };
}
