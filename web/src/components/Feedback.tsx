import type { ReactNode } from "react";
import { describeError } from "../api/client";

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorNote({ error, children }: { error: unknown; children?: ReactNode }) {
  return (
    <div className="error-note" role="alert">
      {describeError(error)}
      {children}
    </div>
  );
}
