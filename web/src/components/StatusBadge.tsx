import type { RunStatus } from "../api/client";
import type { ConversationStatus } from "../api/conversations";

const LABELS: Record<RunStatus, string> = {
  QUEUED: "Queued",
  RUNNING: "Running",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
  TIMED_OUT: "Timed out",
  WAITING_INPUT: "Waiting for you",
  CANCELLED: "Cancelled",
  SKIPPED: "Skipped",
  MISSED: "Missed",
};

export function statusLabel(status: RunStatus): string {
  return LABELS[status];
}

export function StatusBadge({ status, trigger }: { status: RunStatus; trigger?: string | null }) {
  return (
    <span className={`badge status-${status.toLowerCase()}`} data-status={status}>
      {LABELS[status]}
      {trigger ? <span className="trigger"> · {trigger === "schedule" ? "scheduled" : trigger}</span> : null}
    </span>
  );
}

const CONVERSATION_LABELS: Record<ConversationStatus, string> = {
  active: "Active",
  background: "Working in the background",
  waiting_input: "Waiting for you",
  archived: "Archived",
};

export function conversationStatusLabel(status: ConversationStatus): string {
  return CONVERSATION_LABELS[status];
}

export function ConversationStatusBadge({ status }: { status: ConversationStatus }) {
  return (
    <span className={`badge conversation-${status}`} data-status={status}>
      {CONVERSATION_LABELS[status]}
    </span>
  );
}
