// The message box of a conversation: Enter sends, Shift+Enter starts a new line. Each message
// gets one Idempotency-Key, kept while it is retried (a failed send sent again as it was) and
// replaced when the text changes, so no retry can post it twice.
import { useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode, type Ref } from "react";
import { ApiError, describeError } from "../api/client";

export const MAX_MESSAGE = 20_000;

/** What to tell a person about a failed send: the API's word on the field it names, if any. */
function sendError(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.fieldErrors;
    return fields["text"] ?? fields["reply_to"] ?? describeError(error);
  }
  return describeError(error);
}

export function Composer({
  onSend,
  sending,
  error,
  hint,
  label = "Message",
  submitLabel = "Send",
  textareaRef,
}: {
  /** Resolves once the message is stored; a rejection keeps the text for another try. */
  onSend: (text: string, idempotencyKey: string) => Promise<unknown>;
  sending: boolean;
  error: unknown;
  hint?: ReactNode;
  label?: string;
  submitLabel?: string;
  textareaRef?: Ref<HTMLTextAreaElement>;
}) {
  const [text, setText] = useState("");
  const key = useRef<string | null>(null);
  const ready = text.trim().length > 0 && text.length <= MAX_MESSAGE;

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    if (!ready || sending) return;
    key.current ??= crypto.randomUUID();
    try {
      await onSend(text, key.current);
      setText("");
      key.current = null;
    } catch {
      // Shown from `error`; the text and its key stay for the next try.
    }
  }

  function keyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter while an input method composes a word confirms the word, not the message.
    if (event.key !== "Enter" || event.shiftKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    void submit();
  }

  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor="composer-text">{label}</label>
      <div className="composer-row">
        <textarea
          id="composer-text"
          ref={textareaRef}
          rows={2}
          value={text}
          maxLength={MAX_MESSAGE}
          aria-describedby="composer-hint"
          aria-invalid={error ? true : undefined}
          aria-errormessage={error ? "composer-error" : undefined}
          onChange={(e) => {
            setText(e.target.value);
            key.current = null;
          }}
          onKeyDown={keyDown}
        />
        <button type="submit" className="primary" disabled={!ready || sending}>
          {sending ? "Sending…" : submitLabel}
        </button>
      </div>
      <p id="composer-hint" className="hint">
        {hint}
        {hint ? " " : ""}Enter sends, Shift+Enter starts a new line.
      </p>
      {error ? (
        <p id="composer-error" className="field-error" role="alert">
          {sendError(error)}
        </p>
      ) : null}
    </form>
  );
}
