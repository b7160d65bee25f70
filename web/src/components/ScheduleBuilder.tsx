// The schedule builder: every kind the API knows (cron with a zone, presets, interval, once,
// manual, an EventBridge expression) plus start/end bounds, with the API's own description and next
// occurrences as you type. A schedule's DST policy is kept as it was (the CLI and the API set it).
// "Say when" reads a schedule from words (POST /v1/schedules/parse) and fills the builder with it.
import { useEffect, useId, useMemo, useState, type KeyboardEvent } from "react";
import { ApiError, type Schedule } from "../api/client";
import { useParseSchedule, useSchedulePreview } from "../api/queries";
import { formatTime } from "../lib/format";

export type ScheduleKind = Schedule["type"];

type DstPolicy = Extract<Schedule, { type: "cron" }>["dst"];
const ZONED: ScheduleKind[] = ["cron", "preset", "aws"];

export interface ScheduleDraft {
  type: ScheduleKind;
  dst?: DstPolicy;
  expression: string;
  timezone: string;
  preset: "hourly" | "daily" | "weekly" | "monthly";
  every: string;
  unit: "minutes" | "hours" | "days";
  at: string; // datetime-local, the browser's zone
  start_at: string;
  end_at: string;
}

const UNIT_SECONDS = { minutes: 60, hours: 3600, days: 86400 } as const;
const CRON_PRESETS: { label: string; expression: string }[] = [
  { label: "Every weekday at 09:00", expression: "0 9 * * 1-5" },
  { label: "Every day at 08:00", expression: "0 8 * * *" },
  { label: "Every hour", expression: "0 * * * *" },
  { label: "Every 15 minutes", expression: "*/15 * * * *" },
  { label: "Mondays at 07:30", expression: "30 7 * * 1" },
];
const KINDS: { value: ScheduleKind; label: string }[] = [
  { value: "cron", label: "Cron" },
  { value: "preset", label: "Preset" },
  { value: "interval", label: "Every…" },
  { value: "once", label: "Once" },
  { value: "manual", label: "Manual only" },
  { value: "aws", label: "EventBridge" },
];
const ZONES: string[] = (() => {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
})();

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

function fromLocalInput(value: string): string | null {
  return value ? new Date(value).toISOString().replace(/\.\d{3}Z$/, "Z") : null;
}

export function draftOf(schedule: Schedule | undefined): ScheduleDraft {
  const draft: ScheduleDraft = {
    type: "cron",
    expression: "0 9 * * 1-5",
    timezone: browserZone(),
    preset: "daily",
    every: "60",
    unit: "minutes",
    at: "",
    start_at: "",
    end_at: "",
  };
  if (!schedule) return draft;
  draft.type = schedule.type;
  draft.start_at = toLocalInput(schedule.start_at);
  draft.end_at = toLocalInput(schedule.end_at);
  if (schedule.type === "cron" || schedule.type === "aws") {
    draft.expression = schedule.expression;
    draft.timezone = schedule.timezone ?? "UTC";
    draft.dst = schedule.dst;
  } else if (schedule.type === "preset") {
    draft.preset = schedule.preset;
    draft.timezone = schedule.timezone ?? "UTC";
    draft.dst = schedule.dst;
  } else if (schedule.type === "interval") {
    const unit = schedule.every_seconds % 86400 === 0 ? "days" : schedule.every_seconds % 3600 === 0 ? "hours" : "minutes";
    draft.unit = unit;
    draft.every = String(schedule.every_seconds / UNIT_SECONDS[unit]);
  } else if (schedule.type === "once") {
    draft.at = toLocalInput(schedule.at);
  }
  return draft;
}

/** The schedule the draft stands for, or null while it is incomplete. */
export function scheduleOf(draft: ScheduleDraft): Schedule | null {
  const bounds = { start_at: fromLocalInput(draft.start_at), end_at: fromLocalInput(draft.end_at) };
  const dst = draft.dst ? { dst: draft.dst } : {};
  switch (draft.type) {
    case "cron":
      return draft.expression.trim() ? { type: "cron", expression: draft.expression.trim(), timezone: draft.timezone, ...dst, ...bounds } : null;
    case "aws":
      return draft.expression.trim() ? { type: "aws", expression: draft.expression.trim(), timezone: draft.timezone, ...dst, ...bounds } : null;
    case "preset":
      return { type: "preset", preset: draft.preset, timezone: draft.timezone, ...dst, ...bounds };
    case "interval": {
      const every = Number(draft.every);
      if (!Number.isFinite(every) || every <= 0) return null;
      return { type: "interval", every_seconds: Math.round(every * UNIT_SECONDS[draft.unit]), ...bounds };
    }
    case "once": {
      const at = fromLocalInput(draft.at);
      return at ? { type: "once", at, ...bounds } : null;
    }
    case "manual":
      return { type: "manual", ...bounds };
  }
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** Offsets the next occurrences have in the schedule's zone: two of them mean a clock change. */
function offsetsIn(zone: string, occurrences: string[]): string[] {
  const offsets = new Set<string>();
  for (const occurrence of occurrences) {
    try {
      const parts = new Intl.DateTimeFormat("en-GB", { timeZone: zone, timeZoneName: "shortOffset" }).formatToParts(new Date(occurrence));
      offsets.add(parts.find((part) => part.type === "timeZoneName")?.value ?? "");
    } catch {
      return [];
    }
  }
  return [...offsets];
}

function inZone(iso: string, zone: string): string {
  try {
    // Spelled out: dateStyle/timeStyle cannot be combined with timeZoneName (a TypeError, which
    // would fall back to the browser's own zone below).
    return new Date(iso).toLocaleString(undefined, {
      timeZone: zone,
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZoneName: "short",
    });
  } catch {
    return formatTime(iso);
  }
}

interface Props {
  draft: ScheduleDraft;
  onChange: (draft: ScheduleDraft) => void;
  errors: Record<string, string>;
}

export function ScheduleBuilder({ draft, onChange, errors }: Props) {
  const id = useId();
  const set = <K extends keyof ScheduleDraft>(key: K, value: ScheduleDraft[K]) => onChange({ ...draft, [key]: value });
  const schedule = useMemo(() => scheduleOf(draft), [draft]);
  const debounced = useDebounced(schedule, 300);
  const preview = useSchedulePreview(debounced, 5);
  const previewErrors = preview.error instanceof ApiError ? preview.error.fieldErrors : {};
  const fieldError = (name: string) => errors[`schedule.${name}`] ?? previewErrors[`schedule.${name}`];
  const zone = ZONED.includes(draft.type) ? draft.timezone : browserZone();
  const occurrences = preview.data?.occurrences ?? [];
  const offsets = offsetsIn(zone, occurrences);
  const otherPreviewError =
    preview.error && !Object.keys(previewErrors).some((key) => key.startsWith("schedule.") && key !== "schedule")
      ? preview.error.message
      : null;

  return (
    <fieldset className="schedule-builder">
      <legend>Schedule</legend>
      <SayWhen zone={zone} onSchedule={(parsed) => onChange(draftOf(parsed))} />
      <div className="kinds" role="radiogroup" aria-label="Kind of schedule">
        {KINDS.map((kind) => (
          <label key={kind.value} className={draft.type === kind.value ? "kind selected" : "kind"}>
            <input type="radio" name={`${id}-kind`} value={kind.value} checked={draft.type === kind.value} onChange={() => set("type", kind.value)} />
            {kind.label}
          </label>
        ))}
      </div>

      {draft.type === "cron" && (
        <>
          <div className="field">
            <label htmlFor={`${id}-expression`}>Cron expression (minute hour day month weekday)</label>
            <input
              id={`${id}-expression`}
              value={draft.expression}
              onChange={(e) => set("expression", e.target.value)}
              aria-invalid={Boolean(fieldError("expression"))}
              aria-describedby={`${id}-expression-error`}
              spellCheck={false}
              autoComplete="off"
              className="mono"
            />
            <FieldError id={`${id}-expression-error`} message={fieldError("expression")} />
          </div>
          <div className="chips" aria-label="Common schedules">
            {CRON_PRESETS.map((preset) => (
              <button type="button" key={preset.expression} className="chip" onClick={() => set("expression", preset.expression)}>
                {preset.label}
              </button>
            ))}
          </div>
        </>
      )}

      {draft.type === "aws" && (
        <div className="field">
          <label htmlFor={`${id}-aws`}>EventBridge expression: cron(…), rate(…) or at(…)</label>
          <input
            id={`${id}-aws`}
            value={draft.expression}
            placeholder="cron(0 9 ? * MON-FRI *)"
            onChange={(e) => set("expression", e.target.value)}
            aria-invalid={Boolean(fieldError("expression"))}
            aria-describedby={`${id}-aws-error`}
            spellCheck={false}
            autoComplete="off"
            className="mono"
          />
          <FieldError id={`${id}-aws-error`} message={fieldError("expression")} />
        </div>
      )}

      {draft.type === "preset" && (
        <div className="field">
          <label htmlFor={`${id}-preset`}>Preset (at midnight in the zone; weekly is Mondays)</label>
          <select id={`${id}-preset`} value={draft.preset} onChange={(e) => set("preset", e.target.value as ScheduleDraft["preset"])}>
            <option value="hourly">Hourly</option>
            <option value="daily">Daily</option>
            <option value="weekly">Weekly</option>
            <option value="monthly">Monthly</option>
          </select>
        </div>
      )}

      {ZONED.includes(draft.type) && (
        <div className="field">
          <label htmlFor={`${id}-zone`}>Time zone</label>
          <input
            id={`${id}-zone`}
            list={`${id}-zones`}
            value={draft.timezone}
            onChange={(e) => set("timezone", e.target.value)}
            aria-invalid={Boolean(fieldError("timezone"))}
            aria-describedby={`${id}-zone-error`}
            autoComplete="off"
          />
          <datalist id={`${id}-zones`}>
            {ZONES.map((zoneName) => (
              <option key={zoneName} value={zoneName} />
            ))}
          </datalist>
          <FieldError id={`${id}-zone-error`} message={fieldError("timezone")} />
        </div>
      )}

      {draft.type === "interval" && (
        <div className="field-row">
          <div className="field">
            <label htmlFor={`${id}-every`}>Every</label>
            <input
              id={`${id}-every`}
              type="number"
              min={1}
              value={draft.every}
              onChange={(e) => set("every", e.target.value)}
              aria-invalid={Boolean(fieldError("every_seconds"))}
              aria-describedby={`${id}-every-error`}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-unit`}>Unit</label>
            <select id={`${id}-unit`} value={draft.unit} onChange={(e) => set("unit", e.target.value as ScheduleDraft["unit"])}>
              <option value="minutes">minutes</option>
              <option value="hours">hours</option>
              <option value="days">days</option>
            </select>
          </div>
          <FieldError id={`${id}-every-error`} message={fieldError("every_seconds")} />
        </div>
      )}

      {draft.type === "once" && (
        <div className="field">
          <label htmlFor={`${id}-at`}>At (your time, {browserZone()})</label>
          <input
            id={`${id}-at`}
            type="datetime-local"
            value={draft.at}
            onChange={(e) => set("at", e.target.value)}
            aria-invalid={Boolean(fieldError("at"))}
            aria-describedby={`${id}-at-error`}
          />
          <FieldError id={`${id}-at-error`} message={fieldError("at")} />
        </div>
      )}

      <details className="bounds" open={Boolean(draft.start_at || draft.end_at)}>
        <summary>Start and end {draft.type === "interval" ? "(the start is the interval's anchor)" : ""}</summary>
        <div className="field-row">
          <div className="field">
            <label htmlFor={`${id}-start`}>Not before (your time)</label>
            <input id={`${id}-start`} type="datetime-local" value={draft.start_at} onChange={(e) => set("start_at", e.target.value)} aria-describedby={`${id}-start-error`} />
            <FieldError id={`${id}-start-error`} message={fieldError("start_at")} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-end`}>Not after (your time)</label>
            <input id={`${id}-end`} type="datetime-local" value={draft.end_at} onChange={(e) => set("end_at", e.target.value)} aria-describedby={`${id}-end-error`} />
            <FieldError id={`${id}-end-error`} message={fieldError("end_at")} />
          </div>
        </div>
      </details>

      <section className="preview" aria-live="polite" aria-label="Schedule preview">
        {schedule === null ? (
          <p className="muted">Complete the schedule to see when it runs.</p>
        ) : preview.isError ? (
          <p className="field-error">{otherPreviewError ?? "This schedule is not valid (see above)."}</p>
        ) : preview.data ? (
          <>
            <p className="description" data-testid="schedule-description">
              {preview.data.description}
            </p>
            {occurrences.length > 0 ? (
              <>
                <p className="muted">Next runs ({zone}):</p>
                <ol className="occurrences" data-testid="occurrences">
                  {occurrences.map((occurrence) => (
                    <li key={occurrence}>
                      <time dateTime={occurrence}>{inZone(occurrence, zone)}</time>
                    </li>
                  ))}
                </ol>
              </>
            ) : (
              <p className="muted">No upcoming runs{draft.type === "manual" ? ": it runs only when you press Run now." : "."}</p>
            )}
            {offsets.length > 1 && (
              <p className="dst-note">
                A clock change falls in these runs ({offsets.join(" → ")}): the local times above stay as scheduled.
              </p>
            )}
          </>
        ) : (
          <p className="muted">Working out the next runs…</p>
        )}
      </section>
    </fieldset>
  );
}

/** A phrase in words, read by the API into a schedule; what it cannot read comes back with phrases it can. */
function SayWhen({ zone, onSchedule }: { zone: string; onSchedule: (schedule: Schedule) => void }) {
  const id = useId();
  const [text, setText] = useState("");
  const parse = useParseSchedule();
  const refusal = parse.error instanceof ApiError ? parse.error : null;
  const reason = refusal?.fieldErrors["text"] ?? refusal?.fieldErrors["timezone"] ?? parse.error?.message;
  const suggestions = refusal?.problem.suggestions ?? [];

  const read = (phrase: string) => {
    if (!phrase.trim()) return;
    parse.mutate({ text: phrase.trim(), timezone: zone }, { onSuccess: (answer) => onSchedule(answer.schedule as Schedule) });
  };
  // Enter in the field reads it without submitting the task form around it.
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "Enter") {
      event.preventDefault();
      read(text);
    }
  };

  return (
    <div className="say-when">
      <label htmlFor={`${id}-words`}>
        Say when
      </label>
      <div className="field-row">
        <input
          id={`${id}-words`}
          value={text}
          maxLength={200}
          placeholder="every weekday at 9am"
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          aria-invalid={Boolean(reason)}
          aria-describedby={`${id}-words-error`}
          autoComplete="off"
        />
        <button type="button" onClick={() => read(text)} disabled={parse.isPending || !text.trim()}>
          Use
        </button>
      </div>
      <FieldError id={`${id}-words-error`} message={parse.isError ? reason : undefined} />
      {parse.isSuccess && (
        <p className="muted" data-testid="words-result">
          Read as: {parse.data.description}
        </p>
      )}
      {suggestions.length > 0 && (
        <div className="chips" aria-label="Phrases it understands">
          {suggestions.map((phrase) => (
            <button
              type="button"
              key={phrase}
              className="chip"
              onClick={() => {
                setText(phrase);
                read(phrase);
              }}
            >
              {phrase}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

export function FieldError({ id, message }: { id: string; message?: string }) {
  return (
    <p id={id} className="field-error" role={message ? "alert" : undefined}>
      {message ?? ""}
    </p>
  );
}
