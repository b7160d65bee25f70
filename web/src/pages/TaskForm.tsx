// Create and edit a task. Edits carry the version the form was opened at (If-Match): when
// someone else saved first, the API answers 412 and the form keeps the person's edits, shows
// what changed and lets them choose.
import { useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ApiError, type Agent, type Policies, type Task, type TaskCreate } from "../api/client";
import { useCreateTask, useTask, useTools, useUpdateTask } from "../api/queries";
import { ErrorNote, Loading } from "../components/Feedback";
import { draftOf, FieldError, ScheduleBuilder, scheduleOf, type ScheduleDraft } from "../components/ScheduleBuilder";
import { isGranted, toggleGrant, type Grant } from "../lib/connectorGrants";
import { promptVariables } from "../lib/format";

interface Draft {
  name: string;
  description: string;
  prompt: string;
  variables: Record<string, string>;
  tags: string;
  enabled: boolean;
  tools: string[];
  connectors: Grant[];
  // The agent's and policies' fields this form does not edit, kept as they are on save
  // (the API replaces a whole section, so leaving them out would reset them).
  keptAgent: Partial<Agent>;
  keptPolicies: Partial<Policies>;
  schedule: ScheduleDraft;
  model: string;
  max_turns: string;
  max_tokens: string;
  overlap: "skip" | "allow" | "buffer_one";
  misfire: "skip" | "run_once" | "catch_up";
  max_attempts: string;
  timeout_seconds: string;
  auto_pause_after_failures: string;
  max_runs: string;
  webhook_url: string;
  notify_when: "always" | "on_failure" | "on_change" | "agent_decides";
  report: "" | ReportFormat;
}

type ReportFormat = "markdown" | "html" | "json" | "pdf";

function draftFromTask(task?: Task): Draft {
  return {
    name: task?.name ?? "",
    description: task?.description ?? "",
    prompt: task?.prompt ?? "",
    variables: Object.fromEntries(Object.entries(task?.variables ?? {}).map(([k, v]) => [k, String(v)])),
    tags: (task?.tags ?? []).join(", "),
    enabled: task?.enabled ?? true,
    tools: task?.agent.tools ?? [],
    connectors: task?.agent.connectors ?? [],
    keptAgent: { disallowed_tools: task?.agent.disallowed_tools ?? [] },
    keptPolicies: task
      ? { misfire_grace_seconds: task.policies.misfire_grace_seconds, catch_up_max: task.policies.catch_up_max, max_cost_usd: task.policies.max_cost_usd, unpriced_model: task.policies.unpriced_model }
      : {},
    schedule: draftOf(task?.schedule),
    model: task?.agent.model ?? "",
    max_turns: String(task?.agent.max_turns ?? ""),
    max_tokens: String(task?.agent.max_tokens ?? ""),
    overlap: task?.policies.overlap ?? "skip",
    misfire: task?.policies.misfire ?? "run_once",
    max_attempts: String(task?.policies.max_attempts ?? ""),
    timeout_seconds: String(task?.policies.timeout_seconds ?? ""),
    auto_pause_after_failures: String(task?.policies.auto_pause_after_failures ?? ""),
    max_runs: task?.policies.max_runs ? String(task.policies.max_runs) : "",
    webhook_url: task?.notify.webhook_url ?? "",
    notify_when: task?.notify.when ?? "always",
    report: task?.report?.format ?? "",
  };
}

const optionalNumber = (value: string) => (value.trim() === "" ? undefined : Number(value));

function bodyOf(draft: Draft): TaskCreate {
  const used = promptVariables(draft.prompt);
  const schedule = scheduleOf(draft.schedule) ?? { type: "manual" };
  const agent = {
    ...draft.keptAgent,
    model: draft.model.trim() || undefined,
    max_turns: optionalNumber(draft.max_turns),
    max_tokens: optionalNumber(draft.max_tokens),
    tools: draft.tools,
    connectors: draft.connectors,
  };
  const policies = {
    ...draft.keptPolicies,
    overlap: draft.overlap,
    misfire: draft.misfire,
    max_attempts: optionalNumber(draft.max_attempts),
    timeout_seconds: optionalNumber(draft.timeout_seconds),
    auto_pause_after_failures: optionalNumber(draft.auto_pause_after_failures),
    max_runs: optionalNumber(draft.max_runs) ?? null,
  };
  return {
    name: draft.name.trim(),
    description: draft.description,
    prompt: draft.prompt,
    variables: Object.fromEntries(used.map((name) => [name, draft.variables[name] ?? ""])),
    schedule,
    enabled: draft.enabled,
    agent: JSON.parse(JSON.stringify(agent)),
    policies: JSON.parse(JSON.stringify(policies)),
    notify: { webhook_url: draft.webhook_url.trim() || null, when: draft.notify_when },
    report: draft.report ? { format: draft.report } : null,
    tags: draft.tags.split(",").map((tag) => tag.trim()).filter(Boolean),
  };
}

export function NewTaskPage() {
  return <TaskForm />;
}

export function EditTaskPage() {
  const { taskId = "" } = useParams();
  const task = useTask(taskId);
  if (task.isPending) return <Loading what="the task" />;
  if (task.isError) return <ErrorNote error={task.error} />;
  return <TaskForm task={task.data} key={task.data.id} />;
}

function TaskForm({ task }: { task?: Task }) {
  const navigate = useNavigate();
  const [draft, setDraft] = useState<Draft>(() => draftFromTask(task));
  // The version these edits start from; a 412 means the task moved on since.
  const [baseVersion, setBaseVersion] = useState(task?.version ?? 0);
  const [conflict, setConflict] = useState<string | null>(null);
  // The task as it is now on the server, read again when a save meets a newer version.
  const [theirs, setTheirs] = useState<Task | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<unknown>(null);
  const tools = useTools();
  const builtIn = (tools.data?.items ?? []).filter((tool) => tool.kind !== "connector");
  const connected = (tools.data?.items ?? []).filter((tool) => tool.kind === "connector");
  const toolsOf = (connectorId?: string | null) => connected.filter((tool) => tool.connector_id === connectorId).map((tool) => tool.tool ?? "");
  const create = useCreateTask();
  const update = useUpdateTask(task?.id ?? "");
  const latest = useTask(task?.id ?? "", false);
  const variables = useMemo(() => promptVariables(draft.prompt), [draft.prompt]);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((old) => ({ ...old, [key]: value }));
  const saving = create.isPending || update.isPending;

  async function save(event?: FormEvent) {
    event?.preventDefault();
    setErrors({});
    setFormError(null);
    const body = bodyOf(draft);
    try {
      if (task) {
        const { enabled: _enabled, ...patch } = body;
        const saved = await update.mutateAsync({ body: patch, version: baseVersion });
        setConflict(null);
        navigate(`/tasks/${saved.id}`);
      } else {
        const created = await create.mutateAsync(body);
        navigate(`/tasks/${created.id}`);
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        setTheirs((await latest.refetch()).data ?? null);
        setConflict(error.message);
      } else if (error instanceof ApiError && error.status === 422 && error.problem.errors?.length) {
        setErrors(error.fieldErrors);
        setFormError(error);
      } else {
        setFormError(error);
      }
    }
  }

  function keepMine() {
    // Save these edits over the other change, now knowingly.
    if (theirs) setBaseVersion(theirs.version);
    setConflict(null);
  }

  function takeTheirs() {
    if (theirs) {
      setDraft(draftFromTask(theirs));
      setBaseVersion(theirs.version);
    }
    setConflict(null);
  }

  const error = (name: string) => errors[name];
  const title = task ? `Edit ${task.name}` : "New task";
  return (
    <form className="task-form" onSubmit={save} noValidate aria-labelledby="form-title">
      <h1 id="form-title">{title}</h1>
      {conflict && (
        <div className="conflict" role="alert" data-testid="conflict">
          <h2>Someone else changed this task while you were editing</h2>
          <p>{conflict}</p>
          {theirs && (
            <p>
              Now at version {theirs.version}: “{theirs.name}”, {theirs.enabled ? "active" : "paused"}, prompt{" "}
              {theirs.prompt === draft.prompt ? "the same as yours" : "different from yours"}.
            </p>
          )}
          <p>Your edits are still in the form below.</p>
          <div className="actions">
            <button type="button" className="primary" onClick={keepMine}>
              Keep my edits (save again to overwrite)
            </button>
            <button type="button" onClick={takeTheirs}>
              Discard mine, load theirs
            </button>
          </div>
        </div>
      )}
      {formError !== null && <ErrorNote error={formError} />}

      <div className="field">
        <label htmlFor="task-name">Name</label>
        <input id="task-name" value={draft.name} onChange={(e) => set("name", e.target.value)} required aria-invalid={Boolean(error("name"))} aria-describedby="task-name-error" />
        <FieldError id="task-name-error" message={error("name")} />
      </div>
      <div className="field">
        <label htmlFor="task-description">Description</label>
        <input id="task-description" value={draft.description} onChange={(e) => set("description", e.target.value)} aria-describedby="task-description-error" />
        <FieldError id="task-description-error" message={error("description")} />
      </div>
      <div className="field">
        <label htmlFor="task-prompt">Prompt</label>
        <textarea
          id="task-prompt"
          rows={6}
          value={draft.prompt}
          onChange={(e) => set("prompt", e.target.value)}
          aria-invalid={Boolean(error("prompt"))}
          aria-describedby="task-prompt-hint task-prompt-error"
        />
        <p id="task-prompt-hint" className="hint">
          Write <code>{"{{name}}"}</code> for a value you fill in per run.
        </p>
        <FieldError id="task-prompt-error" message={error("prompt")} />
      </div>
      {variables.length > 0 && (
        <fieldset className="variables">
          <legend>Variables (defaults; Run now can override them)</legend>
          {variables.map((name) => (
            <div className="field" key={name}>
              <label htmlFor={`var-${name}`}>{name}</label>
              <input
                id={`var-${name}`}
                value={draft.variables[name] ?? ""}
                onChange={(e) => set("variables", { ...draft.variables, [name]: e.target.value })}
                aria-describedby={`var-${name}-error`}
              />
              <FieldError id={`var-${name}-error`} message={error(`variables.${name}`) ?? error("variables")} />
            </div>
          ))}
        </fieldset>
      )}

      <ScheduleBuilder draft={draft.schedule} onChange={(schedule) => set("schedule", schedule)} errors={errors} />
      <FieldError id="schedule-error" message={error("schedule")} />

      <div className="field">
        <label htmlFor="task-tags">Tags (comma separated)</label>
        <input id="task-tags" value={draft.tags} onChange={(e) => set("tags", e.target.value)} aria-describedby="task-tags-error" />
        <FieldError id="task-tags-error" message={error("tags") ?? error("tags.0")} />
      </div>

      <fieldset className="tools">
        <legend>Tools the agent may use</legend>
        {tools.isPending && <Loading what="tools" />}
        {builtIn.map((tool) => (
          <label key={tool.name} className="check">
            <input
              type="checkbox"
              checked={draft.tools.includes(tool.name)}
              onChange={(e) => set("tools", e.target.checked ? [...draft.tools, tool.name] : draft.tools.filter((name) => name !== tool.name))}
            />
            <span>
              <strong>{tool.name}</strong> <span className="muted">{tool.description}</span>
            </span>
          </label>
        ))}
        <FieldError id="task-tools-error" message={error("agent.tools")} />
      </fieldset>

      {connected.length > 0 && (
        <fieldset className="tools">
          <legend>Your connectors&apos; tools</legend>
          {connected.map((tool) => (
            <label key={tool.name} className="check">
              <input
                type="checkbox"
                checked={isGranted(draft.connectors, tool.connector_id ?? "", tool.tool ?? "")}
                onChange={(e) =>
                  set("connectors", toggleGrant(draft.connectors, tool.connector_id ?? "", tool.tool ?? "", e.target.checked, toolsOf(tool.connector_id)))
                }
              />
              <span>
                <strong>{tool.name}</strong> <span className="muted">{tool.description}</span>
              </span>
            </label>
          ))}
          <FieldError id="task-connectors-error" message={error("agent.connectors") ?? error("agent.connectors.0.connector")} />
        </fieldset>
      )}

      {!task && (
        <label className="check">
          <input type="checkbox" checked={draft.enabled} onChange={(e) => set("enabled", e.target.checked)} />
          Active (runs on its schedule)
        </label>
      )}

      <details className="advanced">
        <summary>Advanced: model, limits and policies</summary>
        <div className="field-row">
          <NumberOrText id="agent-model" label="Model" value={draft.model} onChange={(v) => set("model", v)} error={error("agent.model")} placeholder="claude-sonnet-5" />
          <NumberOrText id="agent-max-turns" label="Max turns" type="number" value={draft.max_turns} onChange={(v) => set("max_turns", v)} error={error("agent.max_turns")} />
          <NumberOrText id="agent-max-tokens" label="Max tokens" type="number" value={draft.max_tokens} onChange={(v) => set("max_tokens", v)} error={error("agent.max_tokens")} />
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor="policy-overlap">When a run is still going</label>
            <select id="policy-overlap" value={draft.overlap} onChange={(e) => set("overlap", e.target.value as Draft["overlap"])}>
              <option value="skip">Skip the next one</option>
              <option value="allow">Run both</option>
              <option value="buffer_one">Queue one</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="policy-misfire">After an outage</label>
            <select id="policy-misfire" value={draft.misfire} onChange={(e) => set("misfire", e.target.value as Draft["misfire"])}>
              <option value="run_once">Run once</option>
              <option value="skip">Skip missed runs</option>
              <option value="catch_up">Catch up</option>
            </select>
          </div>
        </div>
        <div className="field-row">
          <NumberOrText id="policy-attempts" label="Attempts" type="number" value={draft.max_attempts} onChange={(v) => set("max_attempts", v)} error={error("policies.max_attempts")} />
          <NumberOrText id="policy-timeout" label="Timeout (s)" type="number" value={draft.timeout_seconds} onChange={(v) => set("timeout_seconds", v)} error={error("policies.timeout_seconds")} />
          <NumberOrText id="policy-autopause" label="Pause after failures" type="number" value={draft.auto_pause_after_failures} onChange={(v) => set("auto_pause_after_failures", v)} error={error("policies.auto_pause_after_failures")} />
          <NumberOrText id="policy-max-runs" label="Max runs" type="number" value={draft.max_runs} onChange={(v) => set("max_runs", v)} error={error("policies.max_runs")} />
        </div>
        <div className="field-row">
          <NumberOrText id="notify-webhook" label="Webhook URL (signed with HMAC-SHA256)" value={draft.webhook_url} onChange={(v) => set("webhook_url", v)} error={error("notify.webhook_url")} />
          <div className="field">
            <label htmlFor="notify-when">Notify</label>
            <select id="notify-when" value={draft.notify_when} onChange={(e) => set("notify_when", e.target.value as Draft["notify_when"])}>
              <option value="always">After every run</option>
              <option value="on_failure">When a run fails</option>
              <option value="on_change">When the result changes</option>
              <option value="agent_decides">When the agent decides</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="task-report">Report of each run</label>
            <select id="task-report" value={draft.report} onChange={(e) => set("report", e.target.value as Draft["report"])}>
              <option value="">None</option>
              <option value="markdown">Markdown</option>
              <option value="html">HTML</option>
              <option value="json">JSON</option>
              <option value="pdf">PDF</option>
            </select>
          </div>
        </div>
      </details>

      <div className="actions sticky">
        <button type="submit" className="primary" disabled={saving}>
          {saving ? "Saving…" : task ? "Save changes" : "Create task"}
        </button>
        <Link to={task ? `/tasks/${task.id}` : "/"} className="button">
          Cancel
        </Link>
      </div>
    </form>
  );
}

function NumberOrText(props: { id: string; label: string; value: string; onChange: (value: string) => void; error?: string; type?: string; placeholder?: string }) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type={props.type ?? "text"}
        value={props.value}
        placeholder={props.placeholder}
        onChange={(e) => props.onChange(e.target.value)}
        aria-invalid={Boolean(props.error)}
        aria-describedby={`${props.id}-error`}
      />
      <FieldError id={`${props.id}-error`} message={props.error} />
    </div>
  );
}
